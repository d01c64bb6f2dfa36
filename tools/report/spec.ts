/**
 * What the HTML report is made of: sections of text, figures and charts, as plain data. The host
 * builds them from the report JSON (sections.ts); the page (page/page.ts) draws them with uPlot.
 * Nothing here knows about the browser or the simulation.
 */

/** How a series is drawn. */
export type SeriesStyle = "line" | "step" | "bars" | "points";

export interface SeriesSpec {
  label: string;
  /** One value per x; null where there is none (not drawn). */
  values: Array<number | null>;
  style: SeriesStyle;
  /** CSS colour. */
  color: string;
  /** Index into the chart's axes (the y scale it uses). Default 0. */
  axis?: number;
  /** Digits shown in the legend. Default 0. */
  decimals?: number;
}

export interface AxisSpec {
  label: string;
  /** A second y axis is drawn on the right. Default "left". */
  side?: "left" | "right";
  /** Fixed range; default fitted to the data. */
  range?: [number, number];
  /** Category names: value k is labelled categories[k] (an event timeline). */
  categories?: string[];
}

/** A shaded window of x, drawn behind the series (an outage). */
export interface BandSpec {
  from: number;
  to: number;
  label: string;
  color: string;
}

export interface ChartSpec {
  /** Unique in the report: the page's element id and the test's handle. */
  id: string;
  title: string;
  /** "time": x is ms since 1970 (shown in UTC); "number": a plain number (labelled by `xLabel`). */
  xKind: "time" | "number";
  xLabel?: string;
  /** Ascending. */
  x: number[];
  axes: AxisSpec[];
  series: SeriesSpec[];
  bands?: BandSpec[];
  /** One line under the chart: what it shows and where the figures come from. */
  caption?: string;
  /** Plot height, px. Default 220. */
  height?: number;
}

export interface SectionSpec {
  id: string;
  title: string;
  /** Paragraphs of plain text. */
  text?: string[];
  /** Label and value pairs, shown as a table. */
  figures?: Array<[string, string | number]>;
  charts?: ChartSpec[];
}

export interface ReportSpec {
  title: string;
  /** A line under the title (what was simulated). */
  subtitle: string;
  sections: SectionSpec[];
}

/**
 * Series that each have their own x values, joined on one ascending x (what uPlot draws): every
 * series gets null where it has no value. Values at the same x in one series: the last wins.
 */
export function joinOnX(columns: Array<{ x: readonly number[]; y: ReadonlyArray<number | null> }>): { x: number[]; ys: Array<Array<number | null>> } {
  const x = [...new Set(columns.flatMap((c) => c.x))].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const ys = columns.map((c) => {
    const y: Array<number | null> = new Array<number | null>(x.length).fill(null);
    c.x.forEach((v, i) => (y[index.get(v)!] = c.y[i] ?? null));
    return y;
  });
  return { x, ys };
}
