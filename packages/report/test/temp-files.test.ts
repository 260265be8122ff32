import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

describe('temporary files', () => {
  it('report tests leave nothing in the temporary directory', () => {
    // A private TMPDIR: whatever the tests create there and leave behind is theirs.
    const tmp = mkdtempSync(join(tmpdir(), 'scaleup-tmp-check-'));
    try {
      const run = spawnSync(
        process.execPath,
        [
          join(repo, 'node_modules/vitest/vitest.mjs'),
          'run',
          '--project',
          'report',
          'test/write.test.ts',
          'test/cli.test.ts',
          'test/compare.test.ts',
        ],
        { cwd: repo, env: { ...process.env, TMPDIR: tmp }, timeout: 120_000, encoding: 'utf8' },
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(readdirSync(tmp).filter((name) => name.startsWith('scaleup-'))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 150_000);
});
