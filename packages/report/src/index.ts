export { type BarChartOptions, type BarDatum, barChartSpec, barChartSvg, renderSvg } from './charts.ts';
export {
  buildComparison,
  type ComparedRun,
  type ComparedScenario,
  type Comparison,
  type ComparisonPaths,
  comparisonPdfExporter,
  comparisonXlsxExporter,
  renderComparisonPdf,
  renderComparisonXlsx,
  type UnsharedScenario,
  unsharedMessages,
  writeComparison,
} from './compare.ts';
export type { Exporter } from './exporter.ts';
export { FONT_FAMILY, FONT_PATH } from './font.ts';
export {
  buildTable,
  type Metric,
  metricTitle,
  payloadLabel,
  type ResultsTable,
  reportDate,
  type ServerRow,
} from './model.ts';
export { pdfExporter, renderPdf } from './pdf.ts';
export {
  exporters,
  type LoadedResults,
  loadResults,
  RESULTS_FILE,
  type ReportPaths,
  resolveResultsPath,
  writeReports,
} from './write.ts';
export { DATA_SHEET, renderXlsx, xlsxExporter } from './xlsx.ts';
export { addChartSheets, type BarChartSpec, barChartXml } from './xlsx-charts.ts';
