import type { ProfileFunction, ResultsFile } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import type { ProfileFiles } from './profile-files.ts';
import { type ProfileRow, profileContent, SHARE_CLASSES } from './profile-view.ts';
import { addColumns, type Column } from './xlsx-sheet.ts';

/**
 * The workbook's CPU profile sheets: one row per profiled result (the four shares), one row per
 * top function (by self and by total samples), and the profiles asked for and missing. Only in a
 * run with profiles, so older workbooks keep their sheets.
 */

export const PROFILES_SHEET = 'CPU profiles';
export const PROFILE_FUNCTIONS_SHEET = 'Profile functions';

const SHARE = '0.0%';

const breakdownColumns: Column<ProfileRow>[] = [
  { header: 'Scenario', value: (r) => r.scenario.id },
  { header: 'Server', value: (r) => r.scenario.label },
  { header: 'Profiled', value: (r) => r.who },
  { header: 'Payload (bytes)', value: (r) => r.scenario.payloadBytes },
  { header: 'Samples', format: '#,##0', value: (r) => r.samples },
  { header: 'Event', value: (r) => r.event },
  { header: 'Rate (Hz)', value: (r) => r.sampleHz },
  ...SHARE_CLASSES.map(
    ([label, key]): Column<ProfileRow> => ({
      header: `${label[0]!.toUpperCase()}${label.slice(1)} share`,
      format: SHARE,
      value: (r) => r.breakdown[key],
    }),
  ),
  { header: 'Server CPU per response (µs)', format: '#,##0.0', value: (r) => r.microsPerResponse },
  { header: 'Folded stacks', value: (r) => r.scenario.profile?.folded ?? null },
];

interface FunctionRow {
  scenario: string;
  who: ProfileRow['who'];
  list: 'self' | 'total';
  rank: number;
  f: ProfileFunction;
}

const functionColumns: Column<FunctionRow>[] = [
  { header: 'Scenario', value: (r) => r.scenario },
  { header: 'Profiled', value: (r) => r.who },
  { header: 'Ranked by', value: (r) => `${r.list} samples` },
  { header: 'Rank', value: (r) => r.rank },
  { header: 'Function', value: (r) => r.f.name },
  { header: 'Kind', value: (r) => r.f.kind },
  { header: 'Self samples', format: '#,##0', value: (r) => r.f.selfSamples },
  { header: 'Self share', format: SHARE, value: (r) => r.f.selfFraction },
  { header: 'Total samples', format: '#,##0', value: (r) => r.f.totalSamples },
  { header: 'Total share', format: SHARE, value: (r) => r.f.totalFraction },
];

function functionRows(rows: readonly ProfileRow[]): FunctionRow[] {
  return rows.flatMap((r) =>
    (['self', 'total'] as const).flatMap((list) =>
      (list === 'self' ? r.breakdown.topSelf : r.breakdown.topTotal).map((f, i) => ({
        scenario: r.scenario.id,
        who: r.who,
        list,
        rank: i + 1,
        f,
      })),
    ),
  );
}

export function addProfileSheets(
  workbook: ExcelJS.Workbook,
  results: ResultsFile,
  files: ProfileFiles | undefined,
): void {
  const content = profileContent(results, files);
  if (content === null) return;
  const { table, problems } = content;
  const sheet = addColumns(workbook, PROFILES_SHEET, breakdownColumns, table);
  if (problems.length > 0) {
    sheet.addRow([]);
    for (const problem of problems) sheet.addRow([problem]);
  }
  addColumns(workbook, PROFILE_FUNCTIONS_SHEET, functionColumns, functionRows(table));
}
