import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { hasCommand, tempDir } from './fixtures/files.ts';

const soffice = hasCommand('soffice');
if (!soffice) {
  console.warn(
    'skipping the LibreOffice chart check: soffice not found (apt-get install --no-install-recommends libreoffice-calc-nogui)',
  );
}

describe('LibreOffice reads the charts', () => {
  it.skipIf(!soffice)(
    'converts results.xlsx to ods with four bar charts bound to the Data cells',
    async () => {
      const dir = tempDir();
      const xlsx = join(dir, 'results.xlsx');
      writeFileSync(xlsx, await renderXlsx(buildResults(machineA)));
      execFileSync(
        'soffice',
        [
          `-env:UserInstallation=file://${join(dir, 'profile')}`,
          '--headless',
          '--convert-to',
          'ods',
          '--outdir',
          dir,
          xlsx,
        ],
        { stdio: 'ignore', timeout: 120_000 },
      );
      expect(readdirSync(dir)).toContain('results.ods');
      const ods = unzipSync(new Uint8Array(readFileSync(join(dir, 'results.ods'))));
      const objects = Object.keys(ods)
        .filter((f) => /^Object \d+\/content\.xml$/.test(f))
        .sort();
      expect(objects).toHaveLength(4);
      const columns = ['B', 'C', 'D', 'E'];
      objects.forEach((f, i) => {
        const xml = strFromU8(ods[f]!);
        expect(xml).toContain('chart:class="chart:bar"');
        expect(xml).toContain(`chart:values-cell-range-address="Data.${columns[i]}2:Data.${columns[i]}5"`);
        expect(xml).toContain(`chart:label-cell-address="Data.${columns[i]}1:Data.${columns[i]}1"`);
        expect(xml).toContain('<chart:categories table:cell-range-address="Data.A2:Data.A5"/>');
        expect(xml).toContain('chart:error-category="cell-range"');
      });
    },
  );
});
