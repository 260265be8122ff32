import { getText, setText, type ZipEntries } from './zip.ts';

/**
 * exceljs cannot write charts, so native Excel charts are added to its finished zip: one chart
 * sheet per chart (as the seed's workbook had), each holding a drawing that holds a bar chart
 * whose series point at cells of a worksheet. The caches carry the same values so a reader that
 * does not recalculate still draws the bars.
 */

export interface BarChartSpec {
  kind?: 'bar';
  /** Tab name of the chart sheet (at most 31 characters, none of []:*?/\). */
  sheetName: string;
  title: string;
  /** Absolute references such as 'Data'!$B$1. */
  seriesNameRef: string;
  categoriesRef: string;
  valuesRef: string;
  categories: string[];
  values: (number | null)[];
  /** Whisker half-lengths below and above each bar (the CI), or null for none. */
  errors: ErrorBars | null;
  formatCode: string;
  /** The first series' name where it is not the title (its header cell says it). */
  seriesName?: string;
  /** More series clustered beside the first (the tool's cost beside the server's), with a legend. */
  others?: BarSeries[];
  /** The value axis's title; none when omitted. */
  yTitle?: string;
}

/** Whisker half-lengths below and above each bar (the CI), as references and cached values. */
export interface ErrorBars {
  minusRef: string;
  plusRef: string;
  minus: (number | null)[];
  plus: (number | null)[];
}

/** One more series of a clustered bar chart, on the first series' categories. */
export interface BarSeries {
  nameRef: string;
  name: string;
  valuesRef: string;
  values: (number | null)[];
  errors: ErrorBars | null;
  colour: string;
}

/** Several series against one category axis (worker or connection counts), as lines with markers. */
export interface LineChartSpec {
  kind: 'line';
  sheetName: string;
  title: string;
  xTitle: string;
  yTitle: string;
  categoriesRef: string;
  categories: string[];
  series: {
    nameRef: string;
    name: string;
    valuesRef: string;
    values: (number | null)[];
    /** Reference lines (the ideal linear speedup) are dashed and unmarked. */
    dashed: boolean;
    colour: string;
  }[];
  formatCode: string;
}

/** One series of a scatter chart: its own x and y ranges (servers offered different rates). */
export interface ScatterSeries {
  /** The cell that names the series, or null to write the name itself (no cell says it). */
  nameRef: string | null;
  name: string;
  xRef: string;
  yRef: string;
  x: (number | null)[];
  y: (number | null)[];
  colour: string;
  /** 'solid' with markers, or a thinner dashed or dotted line without. */
  style: 'solid' | 'dash' | 'sysDot';
}

/** Lines through (x, y) points against a numeric x axis, either axis on a log scale. */
export interface ScatterChartSpec {
  kind: 'scatter';
  sheetName: string;
  title: string;
  xTitle: string;
  yTitle: string;
  logX: boolean;
  logY: boolean;
  xFormat: string;
  yFormat: string;
  series: ScatterSeries[];
}

export type ChartSpec = BarChartSpec | LineChartSpec | ScatterChartSpec;

const NS = {
  rel: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships',
  pkgRel: 'http://schemas.openxmlformats.org/package/2006/relationships',
  chart: 'http://schemas.openxmlformats.org/drawingml/2006/chart',
  drawing: 'http://schemas.openxmlformats.org/drawingml/2006/main',
  sheetDrawing: 'http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing',
  main: 'http://schemas.openxmlformats.org/spreadsheetml/2006/main',
};
const CT = {
  chartsheet: 'application/vnd.openxmlformats-officedocument.spreadsheetml.chartsheet+xml',
  drawing: 'application/vnd.openxmlformats-officedocument.drawing+xml',
  chart: 'application/vnd.openxmlformats-officedocument.drawingml.chart+xml',
};
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(value: number): string {
  // Shortest round-trip form; the same double always prints the same way.
  return String(value);
}

function strCache(values: string[]): string {
  return `<c:strCache><c:ptCount val="${values.length}"/>${values
    .map((v, i) => `<c:pt idx="${i}"><c:v>${xmlEscape(v)}</c:v></c:pt>`)
    .join('')}</c:strCache>`;
}

function numPoints(values: (number | null)[]): string {
  return `<c:ptCount val="${values.length}"/>${values
    .map((v, i) => (v === null ? '' : `<c:pt idx="${i}"><c:v>${num(v)}</c:v></c:pt>`))
    .join('')}`;
}

function errBars(errors: ErrorBars): string {
  const ref = (f: string, values: (number | null)[]) =>
    `<c:numRef><c:f>${xmlEscape(f)}</c:f><c:numCache><c:formatCode>General</c:formatCode>${numPoints(values)}</c:numCache></c:numRef>`;
  return (
    '<c:errBars><c:errDir val="y"/><c:errBarType val="both"/><c:errValType val="cust"/><c:noEndCap val="0"/>' +
    `<c:plus>${ref(errors.plusRef, errors.plus)}</c:plus><c:minus>${ref(errors.minusRef, errors.minus)}</c:minus>` +
    '<c:spPr><a:ln w="12700"><a:solidFill><a:srgbClr val="000000"/></a:solidFill></a:ln></c:spPr></c:errBars>'
  );
}

/** A chart or axis title; sz in hundredths of a point. */
function titleXml(text: string, size: number, bold: boolean): string {
  const b = bold ? '1' : '0';
  return (
    `<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="${size}" b="${b}"/></a:pPr>` +
    `<a:r><a:rPr lang="en-US" sz="${size}" b="${b}"/><a:t>${xmlEscape(text)}</a:t></a:r></a:p></c:rich></c:tx>` +
    '<c:overlay val="0"/></c:title>'
  );
}

function barSeriesXml(ser: BarSeries, index: number, spec: BarChartSpec): string {
  return (
    `<c:ser><c:idx val="${index}"/><c:order val="${index}"/>` +
    `<c:tx><c:strRef><c:f>${xmlEscape(ser.nameRef)}</c:f>${strCache([ser.name])}</c:strRef></c:tx>` +
    `<c:spPr><a:solidFill><a:srgbClr val="${ser.colour}"/></a:solidFill></c:spPr>` +
    '<c:invertIfNegative val="0"/>' +
    (ser.errors ? errBars(ser.errors) : '') +
    `<c:cat><c:strRef><c:f>${xmlEscape(spec.categoriesRef)}</c:f>${strCache(spec.categories)}</c:strRef></c:cat>` +
    `<c:val><c:numRef><c:f>${xmlEscape(ser.valuesRef)}</c:f><c:numCache><c:formatCode>${xmlEscape(spec.formatCode)}</c:formatCode>${numPoints(ser.values)}</c:numCache></c:numRef></c:val>` +
    '</c:ser>'
  );
}

export function barChartXml(spec: BarChartSpec, axisBase: number): string {
  const catAx = axisBase;
  const valAx = axisBase + 1;
  const title = titleXml(spec.title, 1400, true);
  const first: BarSeries = {
    nameRef: spec.seriesNameRef,
    name: spec.seriesName ?? spec.title,
    valuesRef: spec.valuesRef,
    values: spec.values,
    errors: spec.errors,
    colour: '4F81BD',
  };
  const others = spec.others ?? [];
  const series = [first, ...others].map((ser, i) => barSeriesXml(ser, i, spec)).join('');
  // One series is named by the title; several need a legend to tell them apart.
  const legend = others.length > 0 ? '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>' : '';
  const yTitle = spec.yTitle === undefined ? '' : axisTitle(spec.yTitle);
  return (
    XML_HEAD +
    `<c:chartSpace xmlns:c="${NS.chart}" xmlns:a="${NS.drawing}" xmlns:r="${NS.rel}">` +
    '<c:lang val="en-US"/><c:roundedCorners val="0"/>' +
    `<c:chart>${title}<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>` +
    `<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>${series}` +
    `<c:gapWidth val="150"/><c:axId val="${catAx}"/><c:axId val="${valAx}"/></c:barChart>` +
    `<c:catAx><c:axId val="${catAx}"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>` +
    `<c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/><c:crossAx val="${valAx}"/>` +
    '<c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>' +
    `<c:valAx><c:axId val="${valAx}"/><c:scaling><c:orientation val="minMax"/><c:min val="0"/></c:scaling><c:delete val="0"/>` +
    `<c:axPos val="l"/><c:majorGridlines><c:spPr><a:ln><a:prstDash val="dash"/></a:ln></c:spPr></c:majorGridlines>${yTitle}` +
    `<c:numFmt formatCode="${xmlEscape(spec.formatCode)}" sourceLinked="0"/><c:tickLblPos val="nextTo"/>` +
    `<c:crossAx val="${catAx}"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>` +
    `</c:plotArea>${legend}<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>`
  );
}

function axisTitle(text: string): string {
  return titleXml(text, 1000, false);
}

export function lineChartXml(spec: LineChartSpec, axisBase: number): string {
  const catAx = axisBase;
  const valAx = axisBase + 1;
  const title = titleXml(spec.title, 1400, true);
  const series = spec.series
    .map(
      (ser, i) =>
        `<c:ser><c:idx val="${i}"/><c:order val="${i}"/>` +
        `<c:tx><c:strRef><c:f>${xmlEscape(ser.nameRef)}</c:f>${strCache([ser.name])}</c:strRef></c:tx>` +
        `<c:spPr><a:ln w="${ser.dashed ? 15875 : 22225}"><a:solidFill><a:srgbClr val="${ser.colour}"/></a:solidFill>` +
        `${ser.dashed ? '<a:prstDash val="dash"/>' : ''}</a:ln></c:spPr>` +
        (ser.dashed
          ? '<c:marker><c:symbol val="none"/></c:marker>'
          : `<c:marker><c:symbol val="circle"/><c:size val="6"/><c:spPr><a:solidFill><a:srgbClr val="${ser.colour}"/></a:solidFill></c:spPr></c:marker>`) +
        `<c:cat><c:strRef><c:f>${xmlEscape(spec.categoriesRef)}</c:f>${strCache(spec.categories)}</c:strRef></c:cat>` +
        `<c:val><c:numRef><c:f>${xmlEscape(ser.valuesRef)}</c:f><c:numCache><c:formatCode>${xmlEscape(spec.formatCode)}</c:formatCode>${numPoints(ser.values)}</c:numCache></c:numRef></c:val>` +
        '<c:smooth val="0"/></c:ser>',
    )
    .join('');
  return (
    XML_HEAD +
    `<c:chartSpace xmlns:c="${NS.chart}" xmlns:a="${NS.drawing}" xmlns:r="${NS.rel}">` +
    '<c:lang val="en-US"/><c:roundedCorners val="0"/>' +
    `<c:chart>${title}<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>` +
    `<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>${series}` +
    `<c:marker val="1"/><c:axId val="${catAx}"/><c:axId val="${valAx}"/></c:lineChart>` +
    `<c:catAx><c:axId val="${catAx}"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>` +
    `<c:axPos val="b"/>${axisTitle(spec.xTitle)}<c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/><c:crossAx val="${valAx}"/>` +
    '<c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>' +
    `<c:valAx><c:axId val="${valAx}"/><c:scaling><c:orientation val="minMax"/><c:min val="0"/></c:scaling><c:delete val="0"/>` +
    `<c:axPos val="l"/><c:majorGridlines><c:spPr><a:ln><a:prstDash val="dash"/></a:ln></c:spPr></c:majorGridlines>${axisTitle(spec.yTitle)}` +
    `<c:numFmt formatCode="${xmlEscape(spec.formatCode)}" sourceLinked="0"/><c:tickLblPos val="nextTo"/>` +
    `<c:crossAx val="${catAx}"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>` +
    '</c:plotArea><c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>' +
    '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
  );
}

function numRef(ref: string, values: (number | null)[], format: string): string {
  return `<c:numRef><c:f>${xmlEscape(ref)}</c:f><c:numCache><c:formatCode>${xmlEscape(format)}</c:formatCode>${numPoints(values)}</c:numCache></c:numRef>`;
}

function scatterSeriesXml(ser: ScatterSeries, i: number, spec: ScatterChartSpec): string {
  const solid = ser.style === 'solid';
  const marker = solid
    ? `<c:marker><c:symbol val="circle"/><c:size val="5"/><c:spPr><a:solidFill><a:srgbClr val="${ser.colour}"/></a:solidFill></c:spPr></c:marker>`
    : '<c:marker><c:symbol val="none"/></c:marker>';
  return (
    `<c:ser><c:idx val="${i}"/><c:order val="${i}"/>` +
    (ser.nameRef === null
      ? `<c:tx><c:v>${xmlEscape(ser.name)}</c:v></c:tx>`
      : `<c:tx><c:strRef><c:f>${xmlEscape(ser.nameRef)}</c:f>${strCache([ser.name])}</c:strRef></c:tx>`) +
    `<c:spPr><a:ln w="${solid ? 22225 : 12700}"><a:solidFill><a:srgbClr val="${ser.colour}"/></a:solidFill>` +
    `${solid ? '' : `<a:prstDash val="${ser.style}"/>`}</a:ln></c:spPr>${marker}` +
    `<c:xVal>${numRef(ser.xRef, ser.x, spec.xFormat)}</c:xVal><c:yVal>${numRef(ser.yRef, ser.y, spec.yFormat)}</c:yVal>` +
    '<c:smooth val="0"/></c:ser>'
  );
}

/** A value axis; a log one crosses the other at its minimum (there is no zero to cross at). */
function valueAxis(
  id: number,
  cross: number,
  position: 'b' | 'l',
  options: { log: boolean; title: string; format: string; grid: boolean },
): string {
  return (
    `<c:valAx><c:axId val="${id}"/><c:scaling>${options.log ? '<c:logBase val="10"/>' : ''}<c:orientation val="minMax"/></c:scaling>` +
    `<c:delete val="0"/><c:axPos val="${position}"/>` +
    (options.grid
      ? '<c:majorGridlines><c:spPr><a:ln><a:prstDash val="dash"/></a:ln></c:spPr></c:majorGridlines>'
      : '') +
    `${axisTitle(options.title)}<c:numFmt formatCode="${xmlEscape(options.format)}" sourceLinked="0"/><c:tickLblPos val="low"/>` +
    `<c:crossAx val="${cross}"/>${options.log ? '<c:crosses val="min"/>' : '<c:crosses val="autoZero"/>'}<c:crossBetween val="midCat"/></c:valAx>`
  );
}

export function scatterChartXml(spec: ScatterChartSpec, axisBase: number): string {
  const xAx = axisBase;
  const yAx = axisBase + 1;
  const series = spec.series.map((ser, i) => scatterSeriesXml(ser, i, spec)).join('');
  return (
    XML_HEAD +
    `<c:chartSpace xmlns:c="${NS.chart}" xmlns:a="${NS.drawing}" xmlns:r="${NS.rel}">` +
    '<c:lang val="en-US"/><c:roundedCorners val="0"/>' +
    `<c:chart>${titleXml(spec.title, 1400, true)}<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>` +
    `<c:scatterChart><c:scatterStyle val="lineMarker"/><c:varyColors val="0"/>${series}` +
    `<c:axId val="${xAx}"/><c:axId val="${yAx}"/></c:scatterChart>` +
    valueAxis(xAx, yAx, 'b', { log: spec.logX, title: spec.xTitle, format: spec.xFormat, grid: false }) +
    valueAxis(yAx, xAx, 'l', { log: spec.logY, title: spec.yTitle, format: spec.yFormat, grid: true }) +
    '</c:plotArea><c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>' +
    '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
  );
}

function chartXml(spec: ChartSpec, axisBase: number): string {
  if (spec.kind === 'line') return lineChartXml(spec, axisBase);
  if (spec.kind === 'scatter') return scatterChartXml(spec, axisBase);
  return barChartXml(spec, axisBase);
}

function drawingXml(): string {
  return (
    XML_HEAD +
    `<xdr:wsDr xmlns:xdr="${NS.sheetDrawing}" xmlns:a="${NS.drawing}">` +
    '<xdr:absoluteAnchor><xdr:pos x="0" y="0"/><xdr:ext cx="9300882" cy="6013824"/>' +
    '<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Chart 1"/>' +
    '<xdr:cNvGraphicFramePr><a:graphicFrameLocks noGrp="1"/></xdr:cNvGraphicFramePr></xdr:nvGraphicFramePr>' +
    '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>' +
    `<a:graphic><a:graphicData uri="${NS.chart}"><c:chart xmlns:c="${NS.chart}" xmlns:r="${NS.rel}" r:id="rId1"/>` +
    '</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:absoluteAnchor></xdr:wsDr>'
  );
}

function relsXml(type: string, target: string): string {
  return (
    XML_HEAD +
    `<Relationships xmlns="${NS.pkgRel}"><Relationship Id="rId1" Type="${NS.rel}/${type}" Target="${target}"/></Relationships>`
  );
}

function chartsheetXml(selected: boolean): string {
  return (
    XML_HEAD +
    `<chartsheet xmlns="${NS.main}" xmlns:r="${NS.rel}"><sheetPr/><sheetViews>` +
    `<sheetView${selected ? ' tabSelected="1"' : ''} zoomToFit="1" workbookViewId="0"/></sheetViews>` +
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>' +
    '<pageSetup orientation="landscape"/><drawing r:id="rId1"/></chartsheet>'
  );
}

function nextFree(entries: ZipEntries, pattern: (n: number) => string): number {
  let n = 1;
  while (entries.has(pattern(n))) n++;
  return n;
}

/**
 * Adds one chart sheet per spec in front of the existing sheets (the seed's order: charts,
 * then data). Sheet-scoped defined names (exceljs writes them for auto-filters) are renumbered,
 * since their localSheetId is a position in the sheet list.
 */
export function addChartSheets(entries: ZipEntries, charts: ChartSpec[]): void {
  if (charts.length === 0) return;
  let contentTypes = getText(entries, '[Content_Types].xml');
  let workbook = getText(entries, 'xl/workbook.xml');
  let workbookRels = getText(entries, 'xl/_rels/workbook.xml.rels');

  const sheetIds = [...workbook.matchAll(/sheetId="(\d+)"/g)].map((m) => Number(m[1]));
  let nextSheetId = Math.max(0, ...sheetIds) + 1;
  const sheetEntries: string[] = [];
  const overrides: string[] = [];
  const relationships: string[] = [];

  charts.forEach((spec, i) => {
    const chartNo = nextFree(entries, (n) => `xl/charts/chart${n}.xml`);
    const drawingNo = nextFree(entries, (n) => `xl/drawings/drawing${n}.xml`);
    const sheetNo = nextFree(entries, (n) => `xl/chartsheets/sheet${n}.xml`);
    const axisBase = 50_000 + i * 10;
    setText(entries, `xl/charts/chart${chartNo}.xml`, chartXml(spec, axisBase));
    setText(entries, `xl/drawings/drawing${drawingNo}.xml`, drawingXml());
    setText(
      entries,
      `xl/drawings/_rels/drawing${drawingNo}.xml.rels`,
      relsXml('chart', `../charts/chart${chartNo}.xml`),
    );
    setText(entries, `xl/chartsheets/sheet${sheetNo}.xml`, chartsheetXml(i === 0));
    setText(
      entries,
      `xl/chartsheets/_rels/sheet${sheetNo}.xml.rels`,
      relsXml('drawing', `../drawings/drawing${drawingNo}.xml`),
    );
    overrides.push(
      `<Override PartName="/xl/charts/chart${chartNo}.xml" ContentType="${CT.chart}"/>`,
      `<Override PartName="/xl/drawings/drawing${drawingNo}.xml" ContentType="${CT.drawing}"/>`,
      `<Override PartName="/xl/chartsheets/sheet${sheetNo}.xml" ContentType="${CT.chartsheet}"/>`,
    );
    const relId = `rIdScaleupChart${i + 1}`;
    relationships.push(
      `<Relationship Id="${relId}" Type="${NS.rel}/chartsheet" Target="chartsheets/sheet${sheetNo}.xml"/>`,
    );
    sheetEntries.push(
      `<sheet name="${xmlEscape(spec.sheetName)}" sheetId="${nextSheetId++}" r:id="${relId}"/>`,
    );
  });

  contentTypes = contentTypes.replace('</Types>', `${overrides.join('')}</Types>`);
  workbookRels = workbookRels.replace('</Relationships>', `${relationships.join('')}</Relationships>`);
  if (!/<sheets>/.test(workbook)) throw new Error('workbook.xml has no <sheets> element');
  workbook = workbook.replace('<sheets>', `<sheets>${sheetEntries.join('')}`);
  workbook = workbook.replace(
    /localSheetId="(\d+)"/g,
    (_, id: string) => `localSheetId="${Number(id) + charts.length}"`,
  );
  // The first chart sheet is the one shown on opening; worksheets must not also claim the tab.
  workbook = workbook.replace(/ activeTab="\d+"/g, '').replace(/ firstSheet="\d+"/g, '');
  for (const [name] of entries) {
    if (/^xl\/worksheets\/sheet\d+\.xml$/.test(name)) {
      setText(entries, name, getText(entries, name).replace(/ tabSelected="(1|true)"/g, ''));
    }
  }
  setText(entries, '[Content_Types].xml', contentTypes);
  setText(entries, 'xl/workbook.xml', workbook);
  setText(entries, 'xl/_rels/workbook.xml.rels', workbookRels);
}
