import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseResults } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { exporters } from '../src/write.ts';

/**
 * The runs the repository ships are reports people read without running anything: each must be
 * exactly what `pnpm report` makes from its results.json today.
 */
const shipped = ['seed-2013', 'sample'].map((name) => ({
  name,
  dir: fileURLToPath(new URL(`../../../results/${name}/`, import.meta.url)),
}));

describe('shipped runs regenerate byte for byte', () => {
  for (const { name, dir } of shipped) {
    it(`results/${name}`, async () => {
      const results = parseResults(readFileSync(`${dir}results.json`, 'utf8'));
      for (const exporter of exporters) {
        const path = `${dir}results${exporter.extension}`;
        expect(existsSync(path), `results/${name}/results${exporter.extension} is shipped`).toBe(true);
        const bytes = await exporter.render(results);
        expect(
          Buffer.compare(Buffer.from(bytes), readFileSync(path)),
          `results/${name}/results${exporter.extension}`,
        ).toBe(0);
      }
    }, 120_000);
  }
});
