import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';

/**
 * The one font every renderer uses. Committed in the repo (not taken from the system) so vega's
 * text measurement, the SVG and the PDF agree on every machine.
 */
export const FONT_FAMILY = 'DejaVu Sans';
export const FONT_PATH = fileURLToPath(new URL('../assets/DejaVuSans.ttf', import.meta.url));

let fontBytes: Buffer | undefined;
export function fontData(): Buffer {
  fontBytes ??= readFileSync(FONT_PATH);
  return fontBytes;
}

let measurer: PDFKit.PDFDocument | undefined;

/** Advance width of `text` at `size` points in the embedded font, as pdfkit will lay it out. */
export function textWidth(text: string, size: number): number {
  if (measurer === undefined) {
    // Never ended or written: this document only lends its font metrics.
    measurer = new PDFDocument({ autoFirstPage: false, font: FONT_PATH });
  }
  return measurer.fontSize(size).widthOfString(text);
}
