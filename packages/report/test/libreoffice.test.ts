import { describe, expect, it } from 'vitest';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { hasCommand } from './fixtures/files.ts';
import { chartObjectsOf } from './fixtures/libreoffice.ts';

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
      const objects = chartObjectsOf(await renderXlsx(buildResults(machineA)));
      expect(objects).toHaveLength(4);
      const columns = ['B', 'C', 'D', 'E'];
      objects.forEach((xml, i) => {
        expect(xml).toContain('chart:class="chart:bar"');
        expect(xml).toContain(`chart:values-cell-range-address="Data.${columns[i]}2:Data.${columns[i]}5"`);
        expect(xml).toContain(`chart:label-cell-address="Data.${columns[i]}1:Data.${columns[i]}1"`);
        expect(xml).toContain('<chart:categories table:cell-range-address="Data.A2:Data.A5"/>');
        expect(xml).toContain('chart:error-category="cell-range"');
      });
    },
  );
});
