import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  foldPerfScript,
  formatFolded,
  frameKind,
  frameName,
  isGcFrame,
  ProfileBreakdownSchema,
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
    expect(breakdown.topTotal[0]?.totalSamples).toBe(77);
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
