export {
  type BarChartOptions,
  type BarDatum,
  barChartSpec,
  barChartSvg,
  type LineChartOptions,
  type LineDatum,
  lineChartSpec,
  lineChartSvg,
  renderSvg,
  svgTooltips,
} from './charts.ts';
export {
  type ComparisonPaths,
  comparisonPdfExporter,
  comparisonXlsxExporter,
  writeComparison,
} from './compare.ts';
export { type ComparedLatency, comparedLatency } from './compare-latency.ts';
export {
  buildComparison,
  type ComparedRun,
  type ComparedScenario,
  type Comparison,
  changeMessages,
  comparedEfficiency,
  costMessages,
  efficiencyText,
  protocolMessages,
  type UnsharedScenario,
  unsharedMessages,
} from './compare-model.ts';
export { renderComparisonPdf } from './compare-pdf.ts';
export { renderComparisonXlsx } from './compare-xlsx.ts';
export {
  ASCII_MARKS,
  displayResults,
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  isLowerBound,
  LOWER_BOUND_NOTE,
  lowerBoundMark,
  MARKS,
  type Marks,
  NO_COST_DATA,
  p99View,
  quotaNote,
  ratioView,
  rpsView,
  serverCpuView,
  toolCpuView,
  validText,
} from './display.ts';
export type { Exporter, RenderContext } from './exporter.ts';
export { FLAME_SCRIPT, flameSvg, profilesSection } from './flame-html.ts';
export {
  FLAME_KIND_LABELS,
  type FlameFrame,
  type FlameGraph,
  type FlameKind,
  type FlameLayoutOptions,
  fitLabel,
  frameColour,
  isWithin,
  layoutFlameGraph,
} from './flamegraph.ts';
export { FONT_FAMILY, FONT_PATH } from './font.ts';
export {
  confidenceText,
  DIGITS,
  displayName,
  displayText,
  fmt,
  intervalText,
  isShort,
  LABEL_MAX,
  TEXT_MAX,
} from './format.ts';
export { escapeHtml, htmlExporter, renderHtml } from './html.ts';
export {
  type CapacityRow,
  capacityRows,
  hasLatencyCurves,
  type LatencyGroup,
  type LatencyPointRow,
  latencyGroups,
  latencyPointRows,
  spectrumStep,
} from './latency.ts';
export { latencyChartSvg, spectrumChartSvg } from './latency-charts.ts';
export { escapeMarkdown, markdownExporter, renderMarkdown } from './markdown.ts';
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
export { profilePages } from './pdf-profile.ts';
export {
  FOLDED_MAX_BYTES,
  FOLDED_MAX_STACKS,
  type LoadedProfile,
  type ProfileFiles,
  readFoldedFile,
  readProfiles,
} from './profile-files.ts';
export {
  type DiffRow,
  diffProfiles,
  PROFILE_NOTE,
  type ProfileContent,
  type ProfileDiff,
  type ProfilePair,
  type ProfileRow,
  profileContent,
  profilePairs,
  profileProblems,
  profileRows,
} from './profile-view.ts';
export {
  exporters,
  type LoadedResults,
  loadResults,
  REPORT_FORMATS,
  RESULTS_FILE,
  type ReportFormat,
  type ReportPaths,
  resolveResultsPath,
  writeReports,
} from './write.ts';
export { DATA_SHEET, renderXlsx, xlsxExporter } from './xlsx.ts';
export {
  addChartSheets,
  type BarChartSpec,
  barChartXml,
  type ScatterChartSpec,
  scatterChartXml,
} from './xlsx-charts.ts';
export { CAPACITY_SHEET, LATENCY_CURVES_SHEET, SPECTRUM_SHEET } from './xlsx-latency.ts';
export { addProfileSheets, PROFILE_FUNCTIONS_SHEET, PROFILES_SHEET } from './xlsx-profile.ts';
