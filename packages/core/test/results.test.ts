import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseResults,
  RESULTS_SCHEMA_VERSION,
  ResultsSchemaError,
  serializeResults,
} from '../src/results.ts';

// A real results.json written by `pnpm bench --profile smoke` (schema version 1, bootstrap intervals).
const v1 = readFileSync(new URL('fixtures/smoke-results-v1.json', import.meta.url), 'utf8');
const text = serializeResults(parseResults(v1));

describe('results schema', () => {
  it('reads a version-1 run: one point per scenario, summaries recomputed with honest intervals', () => {
    const old = JSON.parse(v1);
    expect(old.schemaVersion).toBe(1);
    expect(old.scenarios[0].summary.requestsPerSecond.confidence).toBe(0.95);
    const results = parseResults(v1);
    expect(results.schemaVersion).toBe(RESULTS_SCHEMA_VERSION);
    expect(results.scenarios.map((s) => s.id)).toEqual(['1a', '1b', 'nginx-1', '2a', '2b', 'nginx-2']);
    const first = results.scenarios[0]!;
    expect(first.scenarioId).toBe('1a');
    expect(first.point).toMatchObject({ workers: old.scenarios[0].server.workers, accept: 'shared' });
    // Two repetitions: min..max covers the median with 50%, and the file now says so.
    expect(first.summary?.requestsPerSecond).toMatchObject({ n: 2, confidence: 0.5, confidenceTarget: 0.95 });
    expect(first.summary?.ratioToBaseline).toMatchObject({
      statistic: 'median-of-paired-ratios',
      paired: true,
      n: 2,
    });
    // The measurements themselves are untouched.
    expect(first.repetitions.map((r) => r.load.requestsPerSecond)).toEqual(
      old.scenarios[0].repetitions.map(
        (r: { load: { requestsPerSecond: number } }) => r.load.requestsPerSecond,
      ),
    );
  });

  it('writes the current version back identically', () => {
    expect(serializeResults(parseResults(text))).toBe(text);
  });

  it('refuses a newer schema version with one clear reason', () => {
    const newer = { ...JSON.parse(text), schemaVersion: RESULTS_SCHEMA_VERSION + 1, somethingNew: true };
    expect(() => parseResults(newer, 'x.json')).toThrow(
      new ResultsSchemaError(
        `x.json: schema version ${RESULTS_SCHEMA_VERSION + 1} is newer than this scaleup reads (${RESULTS_SCHEMA_VERSION}); update scaleup`,
      ),
    );
  });

  it('refuses other files and broken JSON, naming the source', () => {
    expect(() => parseResults('{"hello": 1}', 'a.json')).toThrow(/a\.json: not a scaleup results file/);
    expect(() => parseResults('{', 'b.json')).toThrow(/b\.json: not JSON/);
  });

  it('lists every schema problem with its path', () => {
    const broken = JSON.parse(text);
    broken.scenarios[0].repetitions[0].load.requestsPerSecond = -1;
    broken.scenarios[2].payloadBytes = 'ten';
    delete broken.environment.kernel;
    let message = '';
    try {
      parseResults(broken, 'c.json');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^c\.json: does not match the results schema/);
    expect(message).toContain('scenarios.0.repetitions.0.load.requestsPerSecond');
    expect(message).toContain('scenarios.2.payloadBytes');
    expect(message).toContain('environment.kernel');
  });

  it('refuses to serialize invalid results, so a writer cannot produce an unreadable file', () => {
    const results = parseResults(text);
    const bad = { ...results, complete: 'yes' } as unknown as typeof results;
    expect(() => serializeResults(bad)).toThrow(/refusing to write invalid results: complete/);
  });
});
