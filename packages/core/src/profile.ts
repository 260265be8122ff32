import { z } from 'zod';

/**
 * CPU profiles as folded stacks, and where their time goes. Pure: the text of `perf script` in,
 * folded stacks and a breakdown out. The folded format is the one flame graph tools read: one
 * line per distinct stack, frames from the root to the leaf joined by ';', a space, the count.
 * The root frame is the thread's name (perf's comm), as stackcollapse-perf.pl writes it.
 */

/** The fields `perf script -F` is asked for; the parser also reads perf's default layout. */
export const PERF_SCRIPT_FIELDS = 'comm,pid,tid,time,period,event,ip,sym,dso';

/** Kernel frames end with `_[k]`, JavaScript frames with `_[j]` (flamegraph.pl's conventions). */
export const KERNEL_SUFFIX = '_[k]';
export const JS_SUFFIX = '_[j]';

export type FrameKind = 'kernel' | 'javascript' | 'native';

export interface PerfSample {
  comm: string;
  pid: number | null;
  tid: number;
  /** Leaf first, as perf prints them; names already carry their kind's suffix. */
  frames: string[];
}

/**
 * x86-64 and arm64 kernels live at the top of the address space: where kptr_restrict hides the
 * kernel's symbols, perf still prints their addresses (dso [unknown]).
 */
function isKernelAddress(hex: string, dso: string): boolean {
  return hex.length === 16 && hex.startsWith('ffff') && dso !== '[vdso]' && dso !== '[vsyscall]';
}

/** A JIT map perf read for this frame: Node's --perf-basic-prof writes /tmp/perf-<pid>.map. */
const PERF_MAP = /(?:^|\/)perf-\d+\.map$/;

/** How one stack line of `perf script` is named in a folded stack. */
export function frameName(address: string, symbol: string, dso: string): string {
  // Offsets (default layout) differ per sample; folding wants one name per function.
  let name = symbol.replace(/\+0x[0-9a-f]+$/, '');
  const kernel = dso === '[kernel.kallsyms]' || dso.startsWith('[kernel.') || isKernelAddress(address, dso);
  if (name === '[unknown]' && dso !== '[unknown]' && dso !== '') {
    name = `[${dso.slice(dso.lastIndexOf('/') + 1)}]`;
  }
  // A frame name must not split the stack or the count.
  name = name.replaceAll(';', ':').replaceAll('\n', ' ');
  if (kernel) return `${name}${KERNEL_SUFFIX}`;
  // V8's builtins (interpreter, inline caches, Array and String methods) run JavaScript's
  // semantics from the node binary itself, so they count with the JIT code.
  if (PERF_MAP.test(dso) || name.startsWith('Builtins_')) return `${name}${JS_SUFFIX}`;
  return name;
}

const SAMPLE_HEAD = /^(\S.*?)\s+(?:(\d+)\/)?(\d+)\s+(?:\[\d+\]\s+)?\d+\.\d+:/;
const STACK_LINE = /^\s+([0-9a-f]+)\s+(.*?)\s*\(([^()]*)\)\s*$/;

/** Threads perf could not name print as ':<tid>'; they are one kind of thread, not many. */
function threadName(comm: string): string {
  const name = /^:\d+$/.test(comm) ? '[unnamed thread]' : comm;
  return name.replaceAll(';', ':');
}

/** The samples in `perf script` output (with call chains, from `perf record -g`). */
export function parsePerfScript(text: string): PerfSample[] {
  const samples: PerfSample[] = [];
  let current: PerfSample | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      current = null;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      const head = SAMPLE_HEAD.exec(line);
      if (head === null) {
        current = null;
        continue;
      }
      current = {
        comm: threadName(head[1] ?? ''),
        pid: head[2] === undefined ? null : Number(head[2]),
        tid: Number(head[3]),
        frames: [],
      };
      samples.push(current);
      continue;
    }
    if (current === null) continue;
    const frame = STACK_LINE.exec(line);
    if (frame !== null) current.frames.push(frameName(frame[1] ?? '', frame[2] ?? '', frame[3] ?? ''));
  }
  return samples;
}

export interface FoldedStack {
  /** Root first: the thread's name, then the outermost frame down to the leaf. */
  frames: string[];
  samples: number;
}

/** Samples with the same stack merged; sorted by stack text, so equal input gives equal output. */
export function foldSamples(samples: readonly PerfSample[]): FoldedStack[] {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    const key = [sample.comm, ...[...sample.frames].reverse()].join(';');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.keys()].sort().map((key) => ({ frames: key.split(';'), samples: counts.get(key) ?? 0 }));
}

export function foldPerfScript(text: string): FoldedStack[] {
  return foldSamples(parsePerfScript(text));
}

export function formatFolded(stacks: readonly FoldedStack[]): string {
  return stacks.map((stack) => `${stack.frames.join(';')} ${stack.samples}\n`).join('');
}

/** Reads folded stacks back; lines that are not `stack count` are an error naming the line. */
export function parseFolded(text: string): FoldedStack[] {
  const stacks: FoldedStack[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const match = /^(.*\S)\s+(\d+)$/.exec(line);
    if (match === null) throw new Error(`folded stacks line ${index + 1} is not 'frames count'`);
    stacks.push({ frames: (match[1] ?? '').split(';'), samples: Number(match[2]) });
  }
  return stacks;
}

/**
 * Garbage collection: V8's collectors, markers, sweepers and their jobs (main thread and
 * helper threads), and CPython's cyclic collector.
 */
const GC_FRAME =
  /^(?:v8::internal::|cppgc::).*(?:Scaveng|MarkCompact|MarkSweep|Marking|Sweeper|MinorGC|GCTracer|Evacuat|Heap::(?:CollectGarbage|CollectAllGarbage|PerformGarbageCollection|GarbageCollection))|^(?:gc_collect_main|gc_collect_impl|collect_with_callback|collect_generations)$/;

export function frameKind(frame: string): FrameKind {
  if (frame.endsWith(KERNEL_SUFFIX)) return 'kernel';
  if (frame.endsWith(JS_SUFFIX)) return 'javascript';
  return 'native';
}

export function isGcFrame(frame: string): boolean {
  return GC_FRAME.test(frame);
}

/** A frame's name without the kind suffix. */
export function plainFrame(frame: string): string {
  const kind = frameKind(frame);
  if (kind === 'kernel') return frame.slice(0, -KERNEL_SUFFIX.length);
  if (kind === 'javascript') return frame.slice(0, -JS_SUFFIX.length);
  return frame;
}

export const ProfileFunctionSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['kernel', 'javascript', 'native']),
    /** Samples with this function at the leaf (running its own code). */
    selfSamples: z.number().int().nonnegative(),
    /** Samples with this function anywhere on the stack (counted once per sample). */
    totalSamples: z.number().int().nonnegative(),
    selfFraction: z.number().min(0).max(1),
    totalFraction: z.number().min(0).max(1),
  })
  .strict();
export type ProfileFunction = z.infer<typeof ProfileFunctionSchema>;

/**
 * Where the samples went. The four fractions split every sample once, by its leaf: kernel (a
 * kernel frame), gc (user code under a garbage collector frame), javascript (JIT code and V8
 * builtins), native (any other user-space code: the runtime, libc, nginx, the interpreter).
 */
export const ProfileBreakdownSchema = z
  .object({
    samples: z.number().int().nonnegative(),
    kernelFraction: z.number().min(0).max(1),
    nativeFraction: z.number().min(0).max(1),
    javascriptFraction: z.number().min(0).max(1),
    gcFraction: z.number().min(0).max(1),
    /** Samples per thread name (the folded stacks' root frames), most first. */
    threads: z.array(z.object({ name: z.string(), samples: z.number().int().nonnegative() }).strict()),
    /**
     * Samples inside each system call (everything under its handler, the receive work softirqs
     * do there included), most first; `(return to user space)` is the way out of any of them,
     * where the scheduler switches tasks.
     */
    syscalls: z.array(
      z
        .object({
          name: z.string(),
          samples: z.number().int().nonnegative(),
          fraction: z.number().min(0).max(1),
        })
        .strict(),
    ),
    topSelf: z.array(ProfileFunctionSchema),
    topTotal: z.array(ProfileFunctionSchema),
  })
  .strict();
export type ProfileBreakdown = z.infer<typeof ProfileBreakdownSchema>;

type SampleClass = 'kernel' | 'gc' | 'javascript' | 'native';

/** The kernel's system call dispatcher: the frame after it (toward the leaf) handles the call. */
const SYSCALL_DISPATCH = new Set(['do_syscall_64_[k]', 'invoke_syscall_[k]', 'do_int80_syscall_32_[k]']);

/** The system call a stack is in, by its handler's name (`ksys_write` is write), or null. */
export function syscallOf(frames: readonly string[]): string | null {
  const at = frames.findIndex((frame) => SYSCALL_DISPATCH.has(frame));
  if (at === -1) return null;
  const handler = frames[at + 1];
  if (handler === undefined) return '(entry)';
  const name = plainFrame(handler);
  if (/^(?:syscall_)?exit_to_user_mode/.test(name)) return '(return to user space)';
  return name.replace(/^(?:__(?:x64|ia32|arm64|se|do)_sys_|ksys_|do_)/, '');
}

function classify(frames: readonly string[]): SampleClass {
  const leaf = frames[frames.length - 1];
  if (frames.length < 2 || leaf === undefined) return 'native';
  const kind = frameKind(leaf);
  if (kind === 'kernel') return 'kernel';
  if (frames.slice(1).some(isGcFrame)) return 'gc';
  return kind;
}

function rank(
  counts: Map<string, { self: number; total: number }>,
  by: 'self' | 'total',
  total: number,
  top: number,
): ProfileFunction[] {
  return (
    [...counts.entries()]
      // Unwinding through code without frame pointers leaves runs of [unknown] on many stacks: on
      // the total list they would rank high and name nothing.
      .filter(([frame, c]) => c[by] > 0 && (by === 'self' || frame !== '[unknown]'))
      .sort((a, b) => b[1][by] - a[1][by] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, top)
      .map(([frame, c]) => ({
        name: plainFrame(frame),
        kind: frameKind(frame),
        selfSamples: c.self,
        totalSamples: c.total,
        selfFraction: c.self / total,
        totalFraction: c.total / total,
      }))
  );
}

/** The breakdown of folded stacks; `top` functions by self and by total samples. */
export function profileBreakdown(stacks: readonly FoldedStack[], top = 15): ProfileBreakdown {
  const classes: Record<SampleClass, number> = { kernel: 0, gc: 0, javascript: 0, native: 0 };
  const threads = new Map<string, number>();
  const functions = new Map<string, { self: number; total: number }>();
  const syscalls = new Map<string, number>();
  let samples = 0;
  for (const stack of stacks) {
    const n = stack.samples;
    samples += n;
    classes[classify(stack.frames)] += n;
    const thread = stack.frames[0] ?? '';
    threads.set(thread, (threads.get(thread) ?? 0) + n);
    const syscall = syscallOf(stack.frames);
    if (syscall !== null) syscalls.set(syscall, (syscalls.get(syscall) ?? 0) + n);
    const seen = new Set<string>();
    const frames = stack.frames.slice(1);
    for (const frame of frames) {
      if (seen.has(frame)) continue;
      seen.add(frame);
      const entry = functions.get(frame) ?? { self: 0, total: 0 };
      entry.total += n;
      functions.set(frame, entry);
    }
    const leaf = frames[frames.length - 1];
    if (leaf !== undefined) (functions.get(leaf) as { self: number }).self += n;
  }
  const fraction = (count: number) => (samples === 0 ? 0 : count / samples);
  const divisor = Math.max(samples, 1);
  return {
    samples,
    kernelFraction: fraction(classes.kernel),
    nativeFraction: fraction(classes.native),
    javascriptFraction: fraction(classes.javascript),
    gcFraction: fraction(classes.gc),
    threads: [...threads.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([name, count]) => ({ name, samples: count })),
    syscalls: [...syscalls.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, top)
      .map(([name, count]) => ({ name, samples: count, fraction: count / divisor })),
    topSelf: rank(functions, 'self', divisor, top),
    topTotal: rank(functions, 'total', divisor, top),
  };
}
