import ExcelJS from 'exceljs';
import type { Metric } from './model.ts';
import { addChartSheets, type ChartSpec } from './xlsx-charts.ts';
import { readZip, writeZip } from './zip.ts';

/**
 * The workbook's building blocks, shared by the run's workbook and the comparison's: a sheet is a
 * list of columns, each declaring its header, its number format and how a row gives its value.
 */

export const FORMATS: Record<Metric | 'ratio' | 'cost', string> = {
  requestsPerSecond: '#,##0',
  megabytesPerSecond: '#,##0.00',
  ratio: '0.000',
  /** Server CPU µs per response. */
  cost: '#,##0.0',
};

export type Cell = string | number | boolean | null;

/** A sheet with a bold header row and sensible widths; values only, no formulas. */
export function addTable(
  workbook: ExcelJS.Workbook,
  name: string,
  header: string[],
  rows: Cell[][],
  formats: Record<number, string> = {},
): ExcelJS.Worksheet {
  const sheet = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.addRow(header).font = { bold: true };
  for (const row of rows) sheet.addRow(row.map((v) => (v === null ? undefined : v)));
  header.forEach((title, i) => {
    const column = sheet.getColumn(i + 1);
    const longest = Math.max(
      title.length,
      ...rows.map((r) => {
        const v = r[i];
        return typeof v === 'number' ? 10 : String(v ?? '').length;
      }),
    );
    column.width = Math.min(60, Math.max(8, longest + 2));
    const format = formats[i];
    if (format) column.numFmt = format;
  });
  return sheet;
}

export function newWorkbook(date: Date, title: string): ExcelJS.Workbook {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'scaleup';
  workbook.lastModifiedBy = 'scaleup';
  workbook.title = title;
  workbook.created = date;
  workbook.modified = date;
  return workbook;
}

/** exceljs output, then the chart parts, then one re-zip with a fixed date on every entry. */
export async function finishWorkbook(
  workbook: ExcelJS.Workbook,
  charts: ChartSpec[],
  date: Date,
): Promise<Uint8Array> {
  const raw = new Uint8Array(await workbook.xlsx.writeBuffer());
  const entries = readZip(raw);
  addChartSheets(entries, charts);
  return writeZip(entries, date);
}

export function columnLetter(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(65 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

export function sheetRef(sheet: string, column: number, firstRow: number, lastRow = firstRow): string {
  const col = columnLetter(column);
  const range = firstRow === lastRow ? `$${col}$${firstRow}` : `$${col}$${firstRow}:$${col}$${lastRow}`;
  return `'${sheet.replace(/'/g, "''")}'!${range}`;
}

/** One column of a sheet: its header, its number format, and its value for a row. */
export interface Column<Row> {
  header: string;
  format?: string;
  value: (row: Row) => Cell;
}

/** A sheet from its declared columns: the header and the values can never fall out of step. */
export function addColumns<Row>(
  workbook: ExcelJS.Workbook,
  name: string,
  columns: readonly Column<Row>[],
  rows: readonly Row[],
): ExcelJS.Worksheet {
  const formats: Record<number, string> = {};
  columns.forEach((c, i) => {
    if (c.format !== undefined) formats[i] = c.format;
  });
  return addTable(
    workbook,
    name,
    columns.map((c) => c.header),
    rows.map((row) => columns.map((c) => c.value(row))),
    formats,
  );
}

/** Milliseconds from microseconds, keeping null. */
export const ms = (micros: number | null) => (micros === null ? null : micros / 1000);
