/**
 * How the fuzz targets (test/fuzz/*.test.ts in core, server and driver) spend their time. In the
 * test suite each property runs a few hundred inputs; `scripts/fuzz.mjs` sets FUZZ_SECONDS to run
 * a whole target for that long (split evenly across its properties) and FUZZ_REPORT to collect
 * how many inputs each property saw.
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

export const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? '0') || 0;
/** Replays one run: fast-check prints the seed of a failure. */
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/**
 * CPU time (not wall time: the long runs are niced on shared cores) one input may use before it
 * counts as a hang. Inputs are at most some kilobytes; a linear parser needs microseconds.
 */
export const HANG_CPU_MS = 2_000;

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

export class FuzzTarget {
  constructor(
    readonly name: string,
    /** How many properties the file checks: the long mode splits FUZZ_SECONDS among them. */
    readonly properties: number,
  ) {}

  /** For vitest's per-test timeout. */
  get timeoutMs(): number {
    return FUZZ_SECONDS > 0 ? this.secondsEach * 1000 + 120_000 : 60_000;
  }

  private get secondsEach(): number {
    return FUZZ_SECONDS / this.properties;
  }

  private parameters<T>(shortRuns: number, examples: readonly T[]): fc.Parameters<[T]> {
    const common = {
      examples: examples.map((e): [T] => [e]),
      ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }),
    };
    if (FUZZ_SECONDS <= 0) return { ...common, numRuns: shortRuns };
    return {
      ...common,
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: this.secondsEach * 1000,
      markInterruptAsFailure: false,
    };
  }

  private record(property: string, inputs: number, startedMs: number, passed: boolean): void {
    const line = {
      target: this.name,
      property,
      seconds: Math.round((performance.now() - startedMs) / 100) / 10,
      inputs,
      passed,
    };
    if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(line)}\n`);
  }

  /**
   * Checks `predicate` (which throws or fails an expect on a defect) for generated values;
   * `examples` (seeds and inputs that once failed) always run first.
   */
  check<T>(
    property: string,
    arbitrary: fc.Arbitrary<T>,
    predicate: (value: T) => void,
    options: { shortRuns?: number; examples?: readonly T[] } = {},
  ): void {
    let inputs = 0;
    const started = performance.now();
    const bounded = (value: T): void => {
      inputs++;
      const before = process.cpuUsage();
      predicate(value);
      const used = cpuMs(process.cpuUsage(before));
      if (used > HANG_CPU_MS)
        throw new Error(`one input took ${Math.round(used)} ms of CPU (bound ${HANG_CPU_MS} ms)`);
    };
    let passed = false;
    try {
      fc.assert(
        fc.property(arbitrary, bounded),
        this.parameters(options.shortRuns ?? 300, options.examples ?? []),
      );
      passed = true;
    } finally {
      this.record(property, inputs, started, passed);
    }
  }

  /** As `check`, for a predicate that talks to a real server; each input is bounded in wall time. */
  async checkAsync<T>(
    property: string,
    arbitrary: fc.Arbitrary<T>,
    predicate: (value: T) => Promise<void>,
    options: { shortRuns?: number; examples?: readonly T[]; inputTimeoutMs: number },
  ): Promise<void> {
    let inputs = 0;
    const started = performance.now();
    const counted = async (value: T): Promise<void> => {
      inputs++;
      await predicate(value);
    };
    let passed = false;
    try {
      await fc.assert(fc.asyncProperty(arbitrary, counted), {
        ...this.parameters(options.shortRuns ?? 100, options.examples ?? []),
        timeout: options.inputTimeoutMs,
      });
      passed = true;
    } finally {
      this.record(property, inputs, started, passed);
    }
  }
}

/** Text-level edits of a seed: what a truncated, spliced or hand-edited file looks like. */
export type Edit =
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'number'; nth: number; text: string }
  | { kind: 'line'; nth: number; to: number; copy: boolean };

const STRANGE_NUMBERS = [
  '0',
  '-0',
  '-1',
  '1e309',
  '-1e309',
  '1e-320',
  'NaN',
  'Infinity',
  '99999999999999999999999',
  '9007199254740993',
  '0x10',
  '1.2.3',
  '',
  '.',
  '-',
  '1,000',
];

const insertText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '\n',
    '\r\n',
    '\u2028',
    '\u0000',
    '\u001b[2J',
    ' ',
    '\t',
    '{',
    '}',
    '[',
    ']',
    '"',
    ',',
    ':',
    '%',
  ),
);

export const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: insertText }),
  fc.record({
    kind: fc.constant('number' as const),
    nth: fc.nat(),
    text: fc.oneof(fc.constantFrom(...STRANGE_NUMBERS), fc.integer().map(String), fc.double().map(String)),
  }),
  fc.record({ kind: fc.constant('line' as const), nth: fc.nat(), to: fc.nat(), copy: fc.boolean() }),
);

function applyEdit(text: string, edit: Edit): string {
  switch (edit.kind) {
    case 'truncate':
      return text.slice(0, edit.at % (text.length + 1));
    case 'delete': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + edit.length);
    }
    case 'insert': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + edit.text + text.slice(at);
    }
    case 'number': {
      const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi)];
      if (numbers.length === 0) return text;
      const match = numbers[edit.nth % numbers.length] as RegExpMatchArray;
      const at = match.index ?? 0;
      return text.slice(0, at) + edit.text + text.slice(at + match[0].length);
    }
    case 'line': {
      const lines = text.split('\n');
      const from = edit.nth % lines.length;
      const to = edit.to % lines.length;
      const [line] = edit.copy ? [lines[from] as string] : lines.splice(from, 1);
      lines.splice(to, 0, line as string);
      return lines.join('\n');
    }
  }
}

/** A seed with up to `maxEdits` edits applied. */
export function mutated(seeds: readonly string[], maxEdits = 6): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(editArbitrary, { maxLength: maxEdits }))
    .map(([seed, edits]) => edits.reduce(applyEdit, seed));
}

/** Structural edits of a parsed JSON seed: a node replaced or removed, an unknown key added. */
export interface TreeEdit {
  pick: number;
  action: 'replace' | 'remove' | 'add';
  key: string;
  value: unknown;
}

const strangeValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    -1,
    0,
    -0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    0.5,
    '',
    'x'.repeat(300),
    '\u2028',
    '\u001b]0;title\u0007',
    '__proto__',
    null,
    true,
    [],
    {},
  ),
);

export const treeEditArbitrary: fc.Arbitrary<TreeEdit> = fc.record({
  pick: fc.nat(),
  action: fc.constantFrom('replace' as const, 'remove' as const, 'add' as const),
  key: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'schema'),
  ),
  value: strangeValue,
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function containers(
  root: Json,
  out: Array<Json[] | Record<string, Json>> = [],
): Array<Json[] | Record<string, Json>> {
  if (root !== null && typeof root === 'object') {
    out.push(root);
    for (const child of Object.values(root)) containers(child, out);
  }
  return out;
}

function applyTreeEdit(root: Json, edit: TreeEdit): Json {
  // A copy: fast-check hands the same constant ([] or {}) to many inputs, and an edit that adds
  // into a shared node would build a cycle no JSON file can hold.
  const value = structuredClone(edit.value) as Json;
  const all = containers(root);
  if (all.length === 0) return edit.action === 'replace' ? value : root;
  const node = all[edit.pick % all.length] as Json[] | Record<string, Json>;
  const keys = Object.keys(node);
  const key = keys.length > 0 ? (keys[edit.pick % keys.length] as string) : edit.key;
  if (Array.isArray(node)) {
    const index = Number(key);
    if (edit.action === 'remove') node.splice(index, 1);
    else if (edit.action === 'add') node.push(value);
    else node[index] = value;
  } else if (edit.action === 'remove') delete node[key];
  else if (edit.action === 'add')
    Object.defineProperty(node, edit.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else node[key] = value;
  return root;
}

/** A parsed seed (deep-copied per input) with up to `maxEdits` structural edits. */
export function mutatedTree(seeds: readonly string[], maxEdits = 4): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(treeEditArbitrary, { maxLength: maxEdits }))
    .map(([seed, edits]) => edits.reduce(applyTreeEdit, JSON.parse(seed) as Json));
}
