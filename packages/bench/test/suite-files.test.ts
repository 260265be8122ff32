import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioError } from '@scaleup/core';
import { afterEach, describe, expect, it } from 'vitest';
import { importResults } from '../src/import.ts';
import { loadProfiles, loadSuite } from '../src/suite-files.ts';

/** Broken JSON whose parser message quotes the text around the error, line breaks included. */
const BROKEN = '{"scenarios":\n\u2028\r\x1b]0;forged\x07 x}';

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

async function brokenFile(name: string): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-suite-files-'));
  const path = join(dir, name);
  await writeFile(path, BROKEN);
  return path;
}

function expectOneCleanLine(message: string): void {
  for (const obeyed of ['\n', '\r', '\u2028', '\u2029', '\x1b', '\x07'])
    expect(message).not.toContain(obeyed);
  expect(message).toContain('not JSON');
}

describe('a suite, a profiles file or a manifest that is not JSON is one line', () => {
  it('suite and profiles: the parser message is shown, its control characters escaped', async () => {
    const path = await brokenFile('suite.json');
    for (const load of [loadSuite, loadProfiles]) {
      const error = await load(path).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ScenarioError);
      for (const problem of (error as ScenarioError).problems) expectOneCleanLine(problem);
    }
  });

  it('import manifest: the same', async () => {
    const path = await brokenFile('manifest.json');
    const error = await importResults({
      manifestPath: path,
      outDir: join(dir, 'out'),
      argv: [],
      scaleupVersion: '0.0.0',
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expectOneCleanLine((error as Error).message);
  });
});
