import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseResults,
  RESULTS_SCHEMA_VERSION,
  ResultsSchemaError,
  serializeResults,
} from '../src/results.ts';

// A real results.json written by `pnpm bench --profile smoke` on the development machine.
const text = readFileSync(new URL('fixtures/smoke-results.json', import.meta.url), 'utf8');

describe('results schema', () => {
  it('reads a real run and writes it back identically', () => {
    const results = parseResults(text);
    expect(results.scenarios.map((s) => s.id)).toEqual(['1a', '1b', 'nginx-1', '2a', '2b', 'nginx-2']);
    expect(serializeResults(results)).toBe(text);
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
