import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFolded } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { type FlameGraph, fitLabel, frameColour, isWithin, layoutFlameGraph } from '../src/flamegraph.ts';
import { readFoldedFile } from '../src/profile-files.ts';
import { tempDir } from './fixtures/files.ts';
import { golden } from './fixtures/profiles.ts';

const stacks = parseFolded(
  [
    'node;main;uv_run;read;entry_SYSCALL_64_[k];tcp_recvmsg_[k] 30',
    'node;main;uv_run;onStreamRead_[j] 20',
    'node;main;uv_run 5',
    'node;main;v8::internal::Heap::CollectGarbage;v8::internal::Scavenger::Process;memcpy 10',
    'node;main;v8::internal::Heap::CollectGarbage;madvise_[k] 5',
    'V8Worker;v8::internal::ScavengerCollector::JobTask::Run 30',
  ].join('\n'),
);

const shape = (g: FlameGraph) => g.frames.map((f) => [f.name, f.kind, f.depth, f.x, f.samples, f.self]);

describe('flame graph layout', () => {
  it('merges stacks into frames: depth, x and width in samples, siblings by name, parents first', () => {
    const g = layoutFlameGraph(stacks);
    expect(g.total).toBe(100);
    expect(g.depth).toBe(6);
    expect(g.hiddenFrames).toBe(0);
    expect(shape(g)).toEqual([
      ['all', 'native', 0, 0, 100, 0],
      ['V8Worker', 'native', 1, 0, 30, 0],
      ['v8::internal::ScavengerCollector::JobTask::Run', 'gc', 2, 0, 30, 30],
      ['node', 'native', 1, 30, 70, 0],
      ['main', 'native', 2, 30, 70, 0],
      ['uv_run', 'native', 3, 30, 55, 5],
      ['onStreamRead', 'javascript', 4, 30, 20, 20],
      ['read', 'native', 4, 50, 30, 0],
      ['entry_SYSCALL_64', 'kernel', 5, 50, 30, 0],
      ['tcp_recvmsg', 'kernel', 6, 50, 30, 30],
      ['v8::internal::Heap::CollectGarbage', 'gc', 3, 85, 15, 0],
      // Kernel work under the collector stays kernel; user code under it is GC.
      ['madvise', 'kernel', 4, 85, 5, 5],
      ['v8::internal::Scavenger::Process', 'gc', 4, 90, 10, 0],
      ['memcpy', 'gc', 5, 90, 10, 10],
    ]);
    expect(g.frames.map((f) => f.parent)).toEqual([-1, 0, 1, 0, 3, 4, 5, 5, 7, 8, 4, 10, 10, 12]);
    expect(isWithin(g, 9, 5)).toBe(true);
    expect(isWithin(g, 9, 10)).toBe(false);
  });

  it('leaves out frames narrower than the minimum and deeper than the maximum, counting them', () => {
    const g = layoutFlameGraph(stacks, { minFraction: 0.11 });
    expect(g.frames.map((f) => f.name)).not.toContain('madvise');
    expect(g.frames.map((f) => f.name)).toContain('onStreamRead');
    // madvise (5), Scavenger::Process (10) and memcpy under it; CollectGarbage keeps its 15.
    expect(g.hiddenFrames).toBe(3);
    expect(g.frames.find((f) => f.name === 'v8::internal::Heap::CollectGarbage')!.samples).toBe(15);
    const shallow = layoutFlameGraph(stacks, { maxDepth: 3 });
    expect(shallow.depth).toBe(3);
    expect(shallow.hiddenFrames).toBe(7);
  });

  it('the same stacks in any order give the same layout', () => {
    expect(shape(layoutFlameGraph([...stacks].reverse()))).toEqual(shape(layoutFlameGraph(stacks)));
  });

  for (const name of ['scaleup-net-40B', 'nginx-tuned-40B', 'python-http-server']) {
    it(`a real capture (${name}): children fit inside their parent, side by side, widths add up`, () => {
      const folded = parseFolded(golden(name));
      const g = layoutFlameGraph(folded);
      expect(g.total).toBe(folded.reduce((n, s) => n + s.samples, 0));
      const childSum = new Map<number, number>();
      let lastEnd = new Map<number, number>();
      for (const [i, f] of g.frames.entries()) {
        if (f.parent === -1) continue;
        const p = g.frames[f.parent]!;
        expect(f.depth).toBe(p.depth + 1);
        expect(f.x).toBeGreaterThanOrEqual(p.x);
        expect(f.x + f.samples).toBeLessThanOrEqual(p.x + p.samples);
        // Siblings do not overlap.
        expect(f.x).toBeGreaterThanOrEqual(lastEnd.get(f.parent) ?? p.x);
        lastEnd.set(f.parent, f.x + f.samples);
        childSum.set(f.parent, (childSum.get(f.parent) ?? 0) + f.samples);
        expect(i).toBeGreaterThan(f.parent);
      }
      for (const [i, f] of g.frames.entries()) expect((childSum.get(i) ?? 0) + f.self).toBe(f.samples);
      const kinds = new Set(g.frames.map((f) => f.kind));
      expect(kinds.has('kernel')).toBe(true);
      if (name.startsWith('scaleup'))
        expect([...kinds].sort()).toEqual(['gc', 'javascript', 'kernel', 'native']);
      lastEnd = new Map();
    });
  }

  it('colours by kind, the same name always alike; labels are cut with an ellipsis', () => {
    const c = (kind: 'kernel' | 'native' | 'javascript' | 'gc', name = 'f') =>
      frameColour({ name, kind, depth: 3 });
    expect(new Set([c('kernel'), c('native'), c('javascript'), c('gc')]).size).toBe(4);
    expect(c('kernel', 'tcp_sendmsg')).toBe(c('kernel', 'tcp_sendmsg'));
    expect(c('kernel')).toMatch(/^#[0-9a-f]{6}$/);
    expect(fitLabel('tcp_sendmsg', 20)).toBe('tcp_sendmsg');
    expect(fitLabel('tcp_sendmsg', 6)).toBe('tcp_s…');
    expect(fitLabel('tcp_sendmsg', 2)).toBe('');
    expect(fitLabel('a\u{1f600}bcd', 3)).toBe('a…');
  });
});

describe('reading folded files from a results directory', () => {
  it('reads a file inside the directory', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'profiles'));
    writeFileSync(join(dir, 'profiles', 'a.folded'), 'node;main 3\nnode;main;f 2\n');
    const loaded = await readFoldedFile(dir, 'profiles/a.folded');
    expect(loaded.problem).toBeNull();
    expect(loaded.stacks).toHaveLength(2);
  });

  it('refuses paths out of the directory, links out, missing and broken files, each in one line', async () => {
    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.folded'), 'node;main 3\n');
    mkdirSync(join(dir, 'profiles'));
    symlinkSync(join(outside, 'secret.folded'), join(dir, 'profiles', 'link.folded'));
    symlinkSync(outside, join(dir, 'linked-dir'));
    writeFileSync(join(dir, 'profiles', 'bad.folded'), 'node;main three\n');
    writeFileSync(join(dir, 'profiles', 'empty.folded'), '\n');
    writeFileSync(join(dir, 'profiles', 'huge.folded'), `node;main ${'9'.repeat(30)}\n`);
    mkdirSync(join(dir, 'profiles', 'dir.folded'));
    const cases: [string, RegExp][] = [
      ['../' + outside.split('/').pop() + '/secret.folded', /not a path inside the results directory/],
      [join(outside, 'secret.folded'), /not a path inside the results directory/],
      ['profiles/link.folded', /leads outside the results directory/],
      ['linked-dir/secret.folded', /leads outside the results directory/],
      ['profiles/missing.folded', /missing/],
      ['profiles/bad.folded', /line 1 is not 'frames count'/],
      ['profiles/empty.folded', /no samples/],
      ['profiles/huge.folded', /sample count out of range/],
      ['profiles/dir.folded', /EISDIR|not a regular file/],
      ['.', /not a path inside/],
    ];
    for (const [name, problem] of cases) {
      const loaded = await readFoldedFile(dir, name);
      expect(loaded.stacks, name).toBeNull();
      expect(loaded.problem, name).toMatch(problem);
      expect(loaded.problem, name).not.toContain('\n');
    }
  });

  it('refuses a file over the size bound without reading it all', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.folded'), 'node;main 1\n'.repeat(100));
    expect((await readFoldedFile(dir, 'big.folded', 1000)).problem).toMatch(/1200 bytes, more than the 1000/);
    expect((await readFoldedFile(dir, 'big.folded', 1200)).problem).toBeNull();
  });
});
