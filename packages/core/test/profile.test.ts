import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type FoldedStack,
  foldPerfScript,
  formatFolded,
  frameKind,
  frameName,
  isGcFrame,
  ProfileBreakdownSchema,
  type ProfileFunction,
  parseFolded,
  parsePerfScript,
  profileBreakdown,
  syscallOf,
} from '../src/profile.ts';

/**
 * Real `perf script -F comm,pid,tid,time,period,event,ip,sym,dso` outputs captured on this
 * project's machine (`perf record -e cpu-clock -F 999 -g -p PIDS`) under wrk load at 40 B,
 * trimmed to their first samples (plus the samples that hit a garbage collector): scaleup's
 * server (net engine, --perf-basic-prof), nginx (tuned preset) and `python3 -m http.server`.
 */
const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/perf/${name}.perf-script.txt`, import.meta.url), 'utf8');
const folded = (name: string) =>
  readFileSync(new URL(`./fixtures/perf/${name}.folded`, import.meta.url), 'utf8');

const CAPTURES = ['scaleup-net-40B', 'nginx-tuned-40B', 'python-http-server'] as const;
const SAMPLES = { 'scaleup-net-40B': 81, 'nginx-tuned-40B': 120, 'python-http-server': 120 };

describe('parsePerfScript', () => {
  it.each(CAPTURES)('reads every sample of %s with its thread, pid and frames', (name) => {
    const text = fixture(name);
    const samples = parsePerfScript(text);
    const heads = text.split('\n').filter((line) => /^\S/.test(line));
    expect(samples).toHaveLength(heads.length);
    expect(samples).toHaveLength(SAMPLES[name]);
    for (const sample of samples) {
      expect(sample.frames.length).toBeGreaterThan(0);
      expect(sample.pid).toBeGreaterThan(0);
    }
  });

  it('names kernel frames _[k] and JavaScript frames from the perf map _[j], leaf first', () => {
    const [first] = parsePerfScript(fixture('scaleup-net-40B'));
    expect(first?.comm).toBe('node');
    expect(first?.pid).toBe(17418);
    expect(first?.frames[0]).toBe('read_tsc_[k]');
    expect(first?.frames).toContain('__GI___libc_write');
    expect(first?.frames).toContain(
      'JS:*process file:///work/main/packages/server/src/http-server.ts:1:4191_[j]',
    );
    expect(first?.frames).toContain('Builtins_CallApiCallback_[j]');
    expect(first?.frames.at(-1)).toBe('__libc_start_call_main');
  });

  it("reads perf's default layout too (offsets dropped): the same stacks as the -F layout", () => {
    const defaults = parsePerfScript(fixture('scaleup-net-default-layout'));
    const explicit = parsePerfScript(fixture('scaleup-net-40B')).slice(0, defaults.length);
    expect(defaults).toHaveLength(6);
    expect(defaults.map((s) => [s.comm, s.tid, s.frames])).toEqual(
      explicit.map((s) => [s.comm, s.tid, s.frames]),
    );
    // The default layout has no pid/tid pair: the number is the thread's id.
    expect(defaults[0]?.pid).toBeNull();
  });

  it('gives threads perf could not name one name, and keeps nginx unwinding garbage as [unknown]', () => {
    const python = parsePerfScript(fixture('python-http-server'));
    expect(new Set(python.map((s) => s.comm))).toEqual(new Set(['python3', '[unnamed thread]']));
    const nginx = parsePerfScript(fixture('nginx-tuned-40B'));
    expect(nginx[0]?.frames.slice(-3)).toEqual(['[unknown]', '[unknown]', '[unknown]']);
    expect(nginx.flatMap((s) => s.frames)).toContain('ngx_open_cached_file');
  });
});

describe('frameName and kinds', () => {
  it('classifies by module, map and address', () => {
    expect(frameName('ffffffff8225bc41', 'do_syscall_64+0x71', '[kernel.kallsyms]')).toBe(
      'do_syscall_64_[k]',
    );
    // kptr_restrict hides kernel symbols, not the addresses.
    expect(frameName('ffffffff8225bc41', '[unknown]', '[unknown]')).toBe('[unknown]_[k]');
    expect(frameName('7f4bc2074dbf', 'JS:*write a.js:1:2', '/tmp/perf-17418.map')).toBe(
      'JS:*write a.js:1:2_[j]',
    );
    expect(frameName('14ce0dc', 'Builtins_JSEntry', '/usr/bin/node')).toBe('Builtins_JSEntry_[j]');
    expect(frameName('10ad6a', '[unknown]', '/usr/sbin/nginx')).toBe('[nginx]');
    expect(frameName('6b2074696e690065', '[unknown]', '[unknown]')).toBe('[unknown]');
    expect(frameName('1', 'a;b', '/x')).toBe('a:b');
    expect(frameKind('x_[k]')).toBe('kernel');
    expect(frameKind('x_[j]')).toBe('javascript');
    expect(frameKind('x')).toBe('native');
  });

  it('knows V8 and CPython garbage collector frames, not what merely touches the heap', () => {
    expect(isGcFrame('v8::internal::ScavengerCollector::CollectGarbage')).toBe(true);
    expect(isGcFrame('v8::internal::Heap::CollectGarbage')).toBe(true);
    expect(isGcFrame('v8::internal::MinorGCJob::Task::RunInternal')).toBe(true);
    expect(isGcFrame('v8::internal::ConcurrentMarking::RunMajor')).toBe(true);
    expect(isGcFrame('gc_collect_main')).toBe(true);
    expect(isGcFrame('v8::internal::Heap::ClearKeptObjects')).toBe(false);
    expect(isGcFrame('v8::internal::Factory::NewJSObject')).toBe(false);
    expect(isGcFrame('_PyObject_GC_Alloc')).toBe(false);
  });
});

describe('folding', () => {
  it.each(CAPTURES)('%s folds to its golden stacks, root first, counts summing to the samples', (name) => {
    const stacks = foldPerfScript(fixture(name));
    const text = formatFolded(stacks);
    expect(text).toBe(folded(name));
    expect(stacks.reduce((n, s) => n + s.samples, 0)).toBe(SAMPLES[name]);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^[^;\n]+(;[^;\n]+)+ \d+$/);
    expect(parseFolded(text)).toEqual(stacks);
  });

  it('merges equal stacks and refuses lines without a count', () => {
    const samples = parsePerfScript(fixture('scaleup-net-40B'));
    const twice = foldPerfScript(`${fixture('scaleup-net-40B')}\n${fixture('scaleup-net-40B')}`);
    const once = foldPerfScript(fixture('scaleup-net-40B'));
    expect(twice.map((s) => s.samples)).toEqual(once.map((s) => s.samples * 2));
    expect(samples.length).toBe(81);
    expect(() => parseFolded('a;b 3\na;b\n')).toThrow(/line 2/);
  });
});

describe('profileBreakdown', () => {
  it('splits every sample once: kernel, native, JavaScript, GC (our server)', () => {
    const breakdown = profileBreakdown(foldPerfScript(fixture('scaleup-net-40B')), 10);
    expect(ProfileBreakdownSchema.parse(breakdown)).toEqual(breakdown);
    expect(breakdown.samples).toBe(81);
    const sum =
      breakdown.kernelFraction +
      breakdown.nativeFraction +
      breakdown.javascriptFraction +
      breakdown.gcFraction;
    expect(sum).toBeCloseTo(1, 12);
    // Counted by hand from the fixture's leaves: 68 kernel, 6 native, 6 JavaScript, 1 scavenge.
    expect(breakdown.kernelFraction * 81).toBeCloseTo(68, 9);
    expect(breakdown.nativeFraction * 81).toBeCloseTo(6, 9);
    expect(breakdown.javascriptFraction * 81).toBeCloseTo(6, 9);
    expect(breakdown.gcFraction * 81).toBeCloseTo(1, 9);
    expect(breakdown.threads).toEqual([{ name: 'node', samples: 81 }]);
    expect(breakdown.topSelf[0]).toEqual({
      name: 'finish_task_switch.isra.0',
      kind: 'kernel',
      selfSamples: 11,
      totalSamples: 11,
      selfFraction: 11 / 81,
      totalFraction: 11 / 81,
    });
    expect(breakdown.topSelf.map((f) => f.name)).toContain(
      'JS:*process file:///work/main/packages/server/src/http-server.ts:1:4191',
    );
    // 77 was __libc_start_call_main and the rest of the main thread's trunk (see the tests below).
    expect(breakdown.topTotal[0]?.totalSamples).toBe(68);
    expect(breakdown.topTotal).toHaveLength(10);
    for (const list of [breakdown.topSelf, breakdown.topTotal]) {
      for (const f of list) expect(f.selfSamples).toBeLessThanOrEqual(f.totalSamples);
    }
  });

  it('nginx and Python have no JavaScript; [unknown] never ranks by total', () => {
    for (const name of ['nginx-tuned-40B', 'python-http-server'] as const) {
      const breakdown = profileBreakdown(foldPerfScript(fixture(name)));
      expect(breakdown.javascriptFraction).toBe(0);
      expect(breakdown.kernelFraction).toBeGreaterThan(0.5);
      expect(breakdown.topTotal.map((f) => f.name)).not.toContain('[unknown]');
      expect(breakdown.topSelf.length).toBeLessThanOrEqual(15);
    }
    const nginx = profileBreakdown(foldPerfScript(fixture('nginx-tuned-40B')));
    expect(nginx.topSelf.map((f) => f.name)).toContain('ngx_open_cached_file');
  });

  it('counts samples per system call, named by its handler (counted by hand from the fixtures)', () => {
    const net = profileBreakdown(foldPerfScript(fixture('scaleup-net-40B')));
    expect(net.syscalls).toEqual([
      { name: 'write', samples: 45, fraction: 45 / 81 },
      { name: '(return to user space)', samples: 11, fraction: 11 / 81 },
      { name: 'read', samples: 7, fraction: 7 / 81 },
      { name: 'epoll_pwait', samples: 4, fraction: 4 / 81 },
      { name: '(entry)', samples: 1, fraction: 1 / 81 },
    ]);
    const nginx = profileBreakdown(foldPerfScript(fixture('nginx-tuned-40B')));
    expect(nginx.syscalls.map((s) => [s.name, s.samples])).toEqual([
      ['setsockopt', 39],
      ['(return to user space)', 20],
      ['sendfile64', 16],
      ['writev', 10],
      ['epoll_wait', 4],
      ['recvfrom', 4],
      ['(entry)', 3],
    ]);
    const python = profileBreakdown(foldPerfScript(fixture('python-http-server')), 3);
    expect(python.syscalls.map((s) => [s.name, s.samples])).toEqual([
      ['futex', 30],
      ['clone3', 18],
      ['(return to user space)', 6],
    ]);
    expect(syscallOf(['node', 'a', 'b'])).toBeNull();
  });

  it("looks past this VM's paravirtual irq-enable and the entry work to the handler, or says (entry)", () => {
    // Lines of bench --cpu-profile captures on this machine (our server, nginx, wrk), as written.
    const stacks = parseFolded(
      readFileSync(new URL('./fixtures/perf/syscall-entry.folded', import.meta.url), 'utf8'),
    );
    const below = (frames: string[]) => frames.slice(frames.indexOf('do_syscall_64_[k]') + 1).join(';');
    expect(stacks.map((s) => [below(s.frames), syscallOf(s.frames)])).toEqual([
      // Interrupts go on in the entry, before the handler: samples taken while they were off land here.
      ['__raw_callee_save_pvm_irq_enable_[k];pvm_irq_enable_[k]', '(entry)'],
      ['__raw_callee_save_pvm_irq_enable_[k];pvm_irq_enable_[k]', '(entry)'],
      ['ksys_write_[k];fput_[k]', 'write'],
      ['__raw_callee_save_pvm_irq_enable_[k]', '(entry)'],
      [
        '__raw_callee_save_pvm_irq_enable_[k];pvm_irq_enable_[k];asm_sysvec_apic_timer_interrupt_[k];sysvec_apic_timer_interrupt_[k];__irq_exit_rcu_[k];handle_softirqs_[k];__raw_callee_save_pvm_irq_enable_[k];pvm_irq_enable_[k]',
        '(entry)',
      ],
      ['syscall_trace_enter_[k];perf_trace_sys_enter_[k]', '(entry)'],
      ['__x64_sys_setsockopt_[k];__sys_setsockopt_[k];fdget_[k]', 'setsockopt'],
      ['syscall_exit_work_[k]', '(return to user space)'],
      ['__raw_callee_save_pvm_irq_disable_[k];pvm_irq_disable_[k]', '(return to user space)'],
      ['x64_sys_call_[k]', '(entry)'],
    ]);
    const breakdown = profileBreakdown(stacks);
    expect(breakdown.syscalls.map((s) => [s.name, s.samples])).toEqual([
      ['(entry)', 27],
      ['(return to user space)', 2],
      ['setsockopt', 1],
      ['write', 1],
    ]);
    // A helper the unwinder shows above the handler is passed over, whatever sits between.
    expect(
      syscallOf(['n', 'do_syscall_64_[k]', 'x64_sys_call_[k]', '__x64_sys_write_[k]', 'ksys_write_[k]']),
    ).toBe('write');
    expect(
      syscallOf(['n', 'do_syscall_64_[k]', '__raw_callee_save_pvm_irq_enable_[k]', '__x64_sys_write_[k]']),
    ).toBe('write');
    expect(syscallOf(['n', 'do_syscall_64_[k]', 'syscall_enter_from_user_mode_[k]', 'ksys_read_[k]'])).toBe(
      'read',
    );
  });

  /** Self and total samples per frame, counted here without profileBreakdown. */
  function counted(stacks: readonly FoldedStack[]): Map<string, { self: number; total: number }> {
    const counts = new Map<string, { self: number; total: number }>();
    for (const stack of stacks) {
      const frames = stack.frames.slice(1);
      for (const frame of new Set(frames)) {
        const c = counts.get(frame) ?? { self: 0, total: 0 };
        c.total += stack.samples;
        counts.set(frame, c);
      }
      const leaf = counts.get(frames.at(-1) ?? '');
      if (leaf !== undefined) leaf.self += stack.samples;
    }
    return counts;
  }

  function ranked(
    counts: Map<string, { self: number; total: number }>,
    by: 'self' | 'total',
    leaveOut: string[],
  ) {
    return [...counts]
      .filter(([frame, c]) => c[by] > 0 && !leaveOut.includes(frame))
      .sort((a, b) => b[1][by] - a[1][by] || (a[0] < b[0] ? -1 : 1))
      .map(([frame, c]) => [frame, c.self, c.total]);
  }

  // What each capture's top by total leaves out: the frames every sample of a thread or of a
  // system call passes through. Python's clone3 is glibc's wrapper creating a thread: it stays.
  const SYSCALL_ENTRY = ['entry_SYSCALL_64_after_hwframe_[k]', 'do_syscall_64_[k]', '[unknown]'];
  const LEFT_OUT = {
    'scaleup-net-40B': [
      '__libc_start_call_main',
      'node::Start',
      'node::NodeMainInstance::Run',
      'node::SpinEventLoopInternal',
      'uv_run',
      'uv__io_poll',
      'uv__stream_io',
      ...SYSCALL_ENTRY,
    ],
    'nginx-tuned-40B': SYSCALL_ENTRY,
    'python-http-server': SYSCALL_ENTRY,
  };
  const ROOTS = [
    '_start',
    '__libc_start_main',
    '__libc_start_call_main',
    'main',
    'node::Start',
    'uv_run',
    'start_thread',
    'do_syscall_64',
    'entry_SYSCALL_64_after_hwframe',
  ];

  it.each(CAPTURES)(
    '%s: the top by total leaves out the roots; counts and the top by self are untouched',
    (name) => {
      const stacks = foldPerfScript(fixture(name));
      const all = profileBreakdown(stacks, Number.MAX_SAFE_INTEGER);
      const names = all.topTotal.map((f) => f.name);
      for (const root of ROOTS) expect(names).not.toContain(root);
      expect(all.topTotal[0]?.totalFraction).toBeLessThan(0.85);
      const counts = counted(stacks);
      const frame = (f: ProfileFunction) =>
        `${f.name}${{ kernel: '_[k]', javascript: '_[j]', native: '' }[f.kind]}`;
      expect(all.topTotal.map((f) => [frame(f), f.selfSamples, f.totalSamples])).toEqual(
        ranked(counts, 'total', LEFT_OUT[name]),
      );
      expect(all.topSelf.map((f) => [frame(f), f.selfSamples, f.totalSamples])).toEqual(
        ranked(counts, 'self', []),
      );
    },
  );

  it('our server: the top by total starts below the event loop, at the read callbacks', () => {
    const net = profileBreakdown(foldPerfScript(fixture('scaleup-net-40B')), 3);
    expect(net.topTotal.map((f) => [f.name, f.totalSamples])).toEqual([
      ['node::LibuvStreamWrap::ReadStart()::{lambda(uv_stream_s*, long, uv_buf_t const*)#2}::_FUN', 68],
      ['uv__read', 68],
      ['node::AsyncWrap::MakeCallback', 67],
    ]);
    const python = profileBreakdown(foldPerfScript(fixture('python-http-server')), 1);
    expect(python.topTotal.map((f) => [f.name, f.totalSamples])).toEqual([['__x64_sys_futex', 30]]);
  });

  it('is all zeros for no samples', () => {
    expect(profileBreakdown([])).toMatchObject({
      samples: 0,
      kernelFraction: 0,
      syscalls: [],
      topSelf: [],
      topTotal: [],
    });
  });
});
