/// <reference path="./svg-to-pdfkit.d.ts" />
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';
import { FONT_PATH } from './font.ts';

/** Small layout helpers over pdfkit: one font, landscape A4, tables that break across pages. */

/**
 * The font by its path, the key pdfkit cached it under when the document opened: pdfkit caches a
 * font under a registered alias only on first use, so an alias re-parsed the TTF on every
 * `doc.font()` call (per table cell, per chart label), which made long reports slow.
 */
export const FONT = FONT_PATH;
export const MARGIN = 36;

export interface DocInfo {
  title: string;
  subject: string;
  date: Date;
}

export function createDoc(info: DocInfo): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: MARGIN,
    // The embedded font from the start, so no standard font is ever referenced.
    font: FONT_PATH,
    bufferPages: true,
    compress: true,
    info: {
      Title: info.title,
      Subject: info.subject,
      Author: 'scaleup',
      Creator: 'scaleup report',
      Producer: 'scaleup (pdfkit)',
      CreationDate: info.date,
      ModDate: info.date,
    },
  });
  doc.font(FONT);
  return doc;
}

/** Numbers each page at the foot, then ends the document and collects its bytes. */
export function finishDoc(doc: PDFKit.PDFDocument, footer: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on('error', reject);
  });
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.height - MARGIN + 12;
    // Writing inside the bottom margin must not trigger pdfkit's automatic page break.
    const margins = doc.page.margins;
    doc.page.margins = { ...margins, bottom: 0 };
    doc
      .font(FONT)
      .fontSize(7)
      .fillColor('#666666')
      .text(`${footer} · page ${i + 1} of ${range.count}`, MARGIN, bottom, {
        width: doc.page.width - 2 * MARGIN,
        align: 'right',
        lineBreak: false,
      });
    doc.page.margins = margins;
  }
  doc.end();
  return done;
}

export function contentWidth(doc: PDFKit.PDFDocument): number {
  return doc.page.width - 2 * MARGIN;
}

function bottomLimit(doc: PDFKit.PDFDocument): number {
  return doc.page.height - MARGIN;
}

export function ensureSpace(doc: PDFKit.PDFDocument, height: number): void {
  if (doc.y + height > bottomLimit(doc)) {
    doc.addPage();
    doc.y = MARGIN;
  }
}

export function heading(doc: PDFKit.PDFDocument, text: string, size = 14): void {
  ensureSpace(doc, size * 3);
  doc
    .font(FONT)
    .fontSize(size)
    .fillColor('#000000')
    .text(text, MARGIN, doc.y, { width: contentWidth(doc) });
  doc.moveDown(0.4);
}

export function paragraph(doc: PDFKit.PDFDocument, text: string, size = 9): void {
  const width = contentWidth(doc);
  ensureSpace(doc, doc.font(FONT).fontSize(size).heightOfString(text, { width }) + 4);
  doc.fillColor('#000000').text(text, MARGIN, doc.y, { width });
  doc.moveDown(0.4);
}

export function bullets(doc: PDFKit.PDFDocument, items: string[], size = 9): void {
  for (const item of items) paragraph(doc, `• ${item}`, size);
}

export interface Column {
  title: string;
  /** Relative width; columns share the content width in proportion. */
  weight: number;
  align?: 'left' | 'right';
}

/** A table with a header row repeated on each page it spans. */
export function table(doc: PDFKit.PDFDocument, columns: Column[], rows: string[][], size = 8): void {
  const width = contentWidth(doc);
  const total = columns.reduce((sum, c) => sum + c.weight, 0);
  const widths = columns.map((c) => (c.weight / total) * width);
  const pad = 3;
  const rowHeight = (cells: string[]) => {
    doc.font(FONT).fontSize(size);
    return (
      Math.max(...cells.map((cell, i) => doc.heightOfString(cell || ' ', { width: widths[i]! - 2 * pad }))) +
      2 * pad
    );
  };
  const drawRow = (cells: string[], header: boolean) => {
    const height = rowHeight(cells);
    let x = MARGIN;
    const y = doc.y;
    if (header) doc.rect(MARGIN, y, width, height).fill('#DCE6F1');
    cells.forEach((cell, i) => {
      doc
        .fillColor('#000000')
        .font(FONT)
        .fontSize(size)
        .text(cell, x + pad, y + pad, { width: widths[i]! - 2 * pad, align: columns[i]!.align ?? 'left' });
      x += widths[i]!;
    });
    doc
      .moveTo(MARGIN, y + height)
      .lineTo(MARGIN + width, y + height)
      .lineWidth(0.3)
      .strokeColor('#A0A0A0')
      .stroke();
    doc.x = MARGIN;
    doc.y = y + height;
  };
  const header = columns.map((c) => c.title);
  ensureSpace(doc, rowHeight(header) + (rows[0] ? rowHeight(rows[0]) : 0));
  drawRow(header, true);
  for (const row of rows) {
    if (doc.y + rowHeight(row) > bottomLimit(doc)) {
      doc.addPage();
      doc.y = MARGIN;
      drawRow(header, true);
    }
    drawRow(row, false);
  }
  doc.moveDown(0.8);
}

export function drawSvg(
  doc: PDFKit.PDFDocument,
  svg: string,
  x: number,
  y: number,
  width: number,
  height: number,
): void {
  SVGtoPDF(doc, svg, x, y, {
    width,
    height,
    assumePt: true,
    fontCallback: () => FONT,
    warningCallback: () => undefined,
  });
}
