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
    /**
     * Without the frames every sample of a thread or of a system call passes through (its entry,
     * its trunk), whose totals only restate the threads and system calls lists.
     */
    topTotal: z.array(ProfileFunctionSchema),
  })
  .strict();
export type ProfileBreakdown = z.infer<typeof ProfileBreakdownSchema>;

type SampleClass = 'kernel' | 'gc' | 'javascript' | 'native';

/** The kernel's system call dispatcher: the first handler frame after it (toward the leaf) names the call. */
const SYSCALL_DISPATCH = new Set(['do_syscall_64_[k]', 'invoke_syscall_[k]', 'do_int80_syscall_32_[k]']);

/**
 * Kernel frames between the dispatcher and a handler that are no system call: the syscall table
 * (`x64_sys_call`, kernels 6.9+), the entry work (`syscall_enter_from_user_mode`, tracing,
 * seccomp, audit) and the paravirtual and interrupt-flag helpers the entry calls. On this VM
 * (PVM) enabling interrupts is a call, `__raw_callee_save_pvm_irq_enable` -> `pvm_irq_enable`, and
 * cpu-clock samples that fell while interrupts were off are delivered there: in bench
 * --cpu-profile captures (our server, nginx, Python, wrk) a quarter of the system call samples
 * sit on it, directly under `do_syscall_64`, with no handler below.
 */
const NOT_A_HANDLER =
  /^(?:(?:x64|ia32|x32)_sys_call|syscall_enter_from_user_mode\w*|enter_from_user_mode|syscall_trace_enter|\w*trace_sys_enter|__secure_computing|__seccomp_filter|__audit_syscall_entry|__raw_callee_save_\w+|pvm_\w+|xen_\w+|pv_native_\w+|native_\w+|\w*irq_(?:enable|restore|save)\w*|trace_hardirqs_on\w*|lockdep_hardirqs_on\w*)$/;

/**
 * The way back to user space. Interrupts go off for it (`syscall_exit_to_user_mode`, inlined into
 * the dispatcher, starts with local_irq_disable), so an interrupt-disable under the dispatcher is
 * the return, not the entry.
 */
const RETURN_PATH = /^(?:syscall_)?exit_to_user_mode|^syscall_exit_|irq_disable/;

/** An interrupt or exception taken before any handler ran: entry time, not a system call's. */
const INTERRUPT =
  /^(?:asm_(?:sysvec|common_interrupt|exc)_?|sysvec_|common_interrupt|__irq_exit_rcu|irq_exit)/;

/**
 * The system call a stack is in, by its handler's name (`ksys_write` is write), or null when the
 * stack is in none. `(entry)` is a sample in the way in, before any handler runs;
 * `(return to user space)` one in the way out.
 */
export function syscallOf(frames: readonly string[]): string | null {
  const at = frames.findIndex((frame) => SYSCALL_DISPATCH.has(frame));
  if (at === -1) return null;
  for (const frame of frames.slice(at + 1)) {
    const name = plainFrame(frame);
    if (RETURN_PATH.test(name)) return '(return to user space)';
    if (INTERRUPT.test(name)) return '(entry)';
    if (NOT_A_HANDLER.test(name)) continue;
    return name.replace(/^(?:__(?:x64|ia32|arm64|se|do)_sys_|ksys_|do_)/, '');
  }
  return '(entry)';
}

function classify(frames: readonly string[]): SampleClass {
  const leaf = frames[frames.length - 1];
  if (frames.length < 2 || leaf === undefined) return 'native';
  const kind = frameKind(leaf);
  if (kind === 'kernel') return 'kernel';
  if (frames.slice(1).some(isGcFrame)) return 'gc';
  return kind;
}

/**
 * Where a process or a thread starts: the C runtime's entry and glibc's thread start, the
 * outermost frame of a stack unwound all the way. (`clone3` is also glibc's wrapper a thread is
 * created with, the calling thread's frame, so only its place at the root makes it an entry.)
 */
const THREAD_ENTRY = new Set([
  '_start',
  '__libc_start_main',
  '__libc_start_main_impl',
  '__libc_start_call_main',
  'start_thread',
  'clone',
  'clone3',
  '__clone',
  '__clone3',
  'thread_start',
]);

/**
 * The kernel's system call entry and dispatcher: every system call's samples pass through them,
 * and the system calls list already splits those samples by handler. On nginx and Python they
 * would lead the top by total at 60 to 80%.
 */
const SYSCALL_ENTRY = new Set([
  'entry_SYSCALL_64_[k]',
  'entry_SYSCALL_64_after_hwframe_[k]',
  'x64_sys_call_[k]',
  ...SYSCALL_DISPATCH,
]);

/**
 * What "nearly all" samples is: a few strays (a timer callback beside the poll, a signal, a
 * stack cut short) must not cut a thread's trunk short.
 */
const TRUNK_SHARE = 0.9;

/**
 * The trunk of each thread: from its entry, the frames that are ancestors of (nearly) all of its
 * fully unwound stacks: Node's `__libc_start_call_main`, `node::Start` ... `uv_run`,
 * `uv__io_poll`, and so would be CPython's `Py_RunMain` or nginx's `ngx_worker_process_cycle`
 * where their stacks unwind that far. Such a frame's total is its thread's samples (they led our
 * server's top by total, seven of them at 94 to 95%) and says nothing about where the time goes.
 * Threads are told apart by name and entry (a main thread and its helpers share a name); stacks
 * cut short before any entry belong to no thread's trunk. Gives, per stack, how many of its frames after the thread name are on its thread's trunk; the
 * leaf never is (a function running its own code is no ancestor).
 */
function trunkDepths(stacks: readonly FoldedStack[]): number[] {
  const threads = new Map<string, FoldedStack[]>();
  const key = (stack: FoldedStack) => `${stack.frames[0]}\0${stack.frames[1]}`;
  for (const stack of stacks) {
    if (!THREAD_ENTRY.has(stack.frames[1] ?? '')) continue;
    const members = threads.get(key(stack)) ?? [];
    members.push(stack);
    threads.set(key(stack), members);
  }
  const trunks = new Map([...threads].map(([thread, members]) => [thread, trunkOf(members)]));
  return stacks.map((stack) => {
    const trunk = trunks.get(key(stack)) ?? [];
    let depth = 0;
    while (
      depth < trunk.length &&
      depth + 2 < stack.frames.length &&
      stack.frames[depth + 1] === trunk[depth]
    ) {
      depth++;
    }
    return depth;
  });
}

/** One thread's trunk: follow the heaviest next ancestor while it has TRUNK_SHARE of the samples. */
function trunkOf(members: readonly FoldedStack[]): string[] {
  const size = members.reduce((n, s) => n + s.samples, 0);
  const trunk: string[] = [];
  let following = members;
  for (;;) {
    const at = trunk.length + 1;
    const next = new Map<string, number>();
    for (const stack of following) {
      const frame = stack.frames[at];
      if (frame !== undefined && at + 1 < stack.frames.length)
        next.set(frame, (next.get(frame) ?? 0) + stack.samples);
    }
    const heaviest = [...next.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (heaviest === undefined || heaviest[1] < TRUNK_SHARE * size) return trunk;
    trunk.push(heaviest[0]);
    following = following.filter((stack) => stack.frames[at] === heaviest[0] && at + 1 < stack.frames.length);
  }
}

interface FunctionCounts {
  self: number;
  total: number;
  /** Samples with this function on its thread's trunk. */
  trunk: number;
}

/**
 * Left out of the top by total: the system call entry, frames whose samples are (nearly) all on
 * their thread's trunk (a function also called elsewhere, like glibc's `clone3` creating a
 * thread, stays), and [unknown]: unwinding through code without frame pointers leaves runs of it
 * on many stacks, ranking high and naming nothing. Their self samples still rank.
 */
function isRootFrame(frame: string, counts: FunctionCounts): boolean {
  return SYSCALL_ENTRY.has(frame) || counts.trunk >= TRUNK_SHARE * counts.total || frame === '[unknown]';
}

function rank(
  counts: Map<string, FunctionCounts>,
  by: 'self' | 'total',
  total: number,
  top: number,
): ProfileFunction[] {
  return [...counts.entries()]
    .filter(([frame, c]) => c[by] > 0 && (by === 'self' || !isRootFrame(frame, c)))
    .sort((a, b) => b[1][by] - a[1][by] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, top)
    .map(([frame, c]) => ({
      name: plainFrame(frame),
      kind: frameKind(frame),
      selfSamples: c.self,
      totalSamples: c.total,
      selfFraction: c.self / total,
      totalFraction: c.total / total,
    }));
}

/** The breakdown of folded stacks; `top` functions by self and by total samples. */
export function profileBreakdown(stacks: readonly FoldedStack[], top = 15): ProfileBreakdown {
  const classes: Record<SampleClass, number> = { kernel: 0, gc: 0, javascript: 0, native: 0 };
  const threads = new Map<string, number>();
  const functions = new Map<string, FunctionCounts>();
  const syscalls = new Map<string, number>();
  const trunks = trunkDepths(stacks);
  let samples = 0;
  for (const [index, stack] of stacks.entries()) {
    const n = stack.samples;
    samples += n;
    classes[classify(stack.frames)] += n;
    const thread = stack.frames[0] ?? '';
    threads.set(thread, (threads.get(thread) ?? 0) + n);
    const syscall = syscallOf(stack.frames);
    if (syscall !== null) syscalls.set(syscall, (syscalls.get(syscall) ?? 0) + n);
    const seen = new Set<string>();
    const frames = stack.frames.slice(1);
    for (const [depth, frame] of frames.entries()) {
      if (seen.has(frame)) continue;
      seen.add(frame);
      const entry = functions.get(frame) ?? { self: 0, total: 0, trunk: 0 };
      entry.total += n;
      if (depth < (trunks[index] ?? 0)) entry.trunk += n;
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
