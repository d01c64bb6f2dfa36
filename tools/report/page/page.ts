/**
 * The report page: reads the report spec embedded in the HTML (`<script id="report-spec">`) and draws
 * every section and chart with uPlot. Bundled with uPlot into one script (tools/build.mjs) that the
 * HTML inlines, so the page needs no network.
 *
 * Each chart's element carries what uPlot drew: `data-points` (values plotted over every series, in
 * the visible range) and `data-bands` (shaded windows drawn); `body[data-rendered]` is set once every
 * chart is drawn. The report test and the screenshot command wait on them.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ChartSpec, ReportSpec, SectionSpec, SeriesSpec } from "../spec.js";

const WIDTH_MAX = 1120;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const pad = (n: number) => String(n).padStart(2, "0");
/** Wall time in UTC: "13:45", and the date under the first tick of each day. */
function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
function timeTicks(_u: uPlot, splits: number[]): string[] {
  return splits.map((v, i) => (i === 0 || day(v) !== day(splits[i - 1]!) ? `${clock(v)}\n${day(v)}` : clock(v)));
}

function pathsOf(style: SeriesSpec["style"]): uPlot.Series.PathBuilder | undefined {
  const builders = uPlot.paths;
  if (style === "step") return builders.stepped!({ align: 1 });
  if (style === "bars") return builders.bars!({ size: [0.8, 24] });
  if (style === "points") return () => null;
  return builders.linear!();
}

/** Values uPlot drew: every series' non-null values inside its rendered index range. */
function drawnPoints(u: uPlot): number {
  let n = 0;
  for (let i = 1; i < u.series.length; i++) {
    const s = u.series[i]!;
    const values = u.data[i] ?? [];
    if (!s.show || values.length === 0) continue;
    const [i0, i1] = s.idxs ?? [0, values.length - 1];
    for (let k = i0 ?? 0; k <= (i1 ?? -1); k++) if (values[k] !== null && values[k] !== undefined) n++;
  }
  return n;
}

function chartOptions(spec: ChartSpec, width: number, box: HTMLElement, drawn: () => void): uPlot.Options {
  const time = spec.xKind === "time";
  // The x range reaches a hair past the first and last x: uPlot draws from the index its binary search
  // finds for the range's ends, which for several points at the very first x (events raised together at
  // the start) is not the first of them.
  const margin = (min: number, max: number) => (max - min) * 1e-6 || 1;
  const scales: uPlot.Scales = { x: { time, range: (_u, min, max) => [min - margin(min, max), max + margin(min, max)] } };
  const axes: uPlot.Axis[] = [{ label: spec.xLabel ?? (time ? "UTC" : ""), ...(time ? { values: timeTicks } : {}) }];
  spec.axes.forEach((a, k) => {
    const key = `y${k}`;
    scales[key] = a.range ? { range: a.range } : { auto: true };
    const categories = a.categories;
    axes.push({
      scale: key,
      label: a.label,
      side: a.side === "right" ? 1 : 3,
      grid: { show: k === 0 },
      ...(categories
        ? {
            size: 130,
            splits: () => categories.map((_, i) => i),
            values: (_u: uPlot, splits: number[]) => splits.map((v) => categories[v] ?? ""),
          }
        : {}),
    });
  });
  const series: uPlot.Series[] = [
    time ? { label: "UTC", value: (_u, v) => (v === null || v === undefined ? "–" : `${day(v)} ${clock(v)}`) } : {},
    ...spec.series.map((s): uPlot.Series => {
      const points = s.style === "points";
      const categories = spec.axes[s.axis ?? 0]?.categories;
      return {
        label: s.label,
        stroke: s.color,
        width: points ? 0 : 1.5,
        scale: `y${s.axis ?? 0}`,
        paths: pathsOf(s.style),
        points: points ? { show: true, size: 7, fill: s.color, stroke: s.color } : { show: false },
        ...(s.style === "bars" ? { fill: s.color } : {}),
        value: (_u, v) => (v === null || v === undefined ? "–" : categories ? (categories[v] ?? String(v)) : v.toFixed(s.decimals ?? 0)),
      };
    }),
  ];
  const bands = spec.bands ?? [];
  return {
    width,
    height: spec.height ?? 220,
    ms: 1,
    ...(time ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts), "Etc/UTC") } : {}),
    scales,
    axes,
    series,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    hooks: {
      drawClear: [
        (u: uPlot) => {
          // Windows behind the series: an outage is a span of time, not a point.
          const { left, top, width: w, height: h } = u.bbox;
          let drawn = 0;
          for (const b of bands) {
            const x0 = Math.max(left, u.valToPos(b.from, "x", true));
            const x1 = Math.min(left + w, u.valToPos(b.to, "x", true));
            if (!(x1 > x0)) continue;
            u.ctx.fillStyle = b.color;
            u.ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
            drawn++;
          }
          box.dataset.bands = String(drawn);
        },
      ],
      draw: [
        (u: uPlot) => {
          box.dataset.points = String(drawnPoints(u));
          drawn();
        },
      ],
    },
  };
}

/** Draws a chart; `drawn` runs after each time uPlot drew it (at once for a chart without data). */
function renderChart(spec: ChartSpec, parent: HTMLElement, width: number, drawn: () => void): void {
  const box = el("figure", { class: "chart", id: spec.id });
  box.append(el("h3", {}, spec.title));
  parent.append(box);
  const plot = el("div");
  box.append(plot);
  const bandKinds = new Map((spec.bands ?? []).map((b) => [b.label, b.color]));
  if (bandKinds.size > 0) {
    const key = el("div", { class: "bands" });
    for (const [label, color] of bandKinds) {
      const item = el("span", { class: "band" });
      item.append(el("i", { style: `background:${color}` }), document.createTextNode(label));
      key.append(item);
    }
    box.append(key);
  }
  if (spec.caption) box.append(el("figcaption", {}, spec.caption));
  if (spec.x.length === 0) {
    box.dataset.points = "0";
    box.dataset.bands = "0";
    plot.append(el("p", { class: "empty" }, "nothing recorded"));
    return drawn();
  }
  const data: uPlot.AlignedData = [spec.x, ...spec.series.map((s) => s.values)];
  new uPlot(chartOptions(spec, width, box, drawn), data, plot);
}

function renderSection(s: SectionSpec, main: HTMLElement, width: number, drawn: () => void): void {
  const section = el("section", { id: `section-${s.id}` });
  section.append(el("h2", {}, s.title));
  for (const p of s.text ?? []) section.append(el("p", {}, p));
  if (s.figures && s.figures.length > 0) {
    const table = el("table", { class: "figures" });
    for (const [label, value] of s.figures) {
      const tr = el("tr");
      tr.append(el("th", {}, label), el("td", {}, String(value)));
      table.append(tr);
    }
    section.append(table);
  }
  main.append(section);
  for (const c of s.charts ?? []) renderChart(c, section, width, drawn);
}

function render(): void {
  const spec = JSON.parse(document.getElementById("report-spec")!.textContent!) as ReportSpec;
  const main = document.getElementById("report")!;
  const style = getComputedStyle(main);
  const inner = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const width = Math.min(WIDTH_MAX, inner > 0 ? inner : WIDTH_MAX);
  const nav = el("nav");
  for (const s of spec.sections) {
    const a = el("a", { href: `#section-${s.id}` }, s.title);
    nav.append(a);
  }
  main.append(el("h1", {}, spec.title), el("p", { class: "subtitle" }, spec.subtitle), nav);
  // uPlot draws in a microtask after it is created: the page is rendered once every chart has drawn.
  const waiting = new Set(spec.sections.flatMap((s) => (s.charts ?? []).map((c) => c.id)));
  const check = () => {
    for (const id of waiting) if (document.getElementById(id)?.dataset.points !== undefined) waiting.delete(id);
    if (waiting.size === 0) document.body.dataset.rendered = "true";
  };
  for (const s of spec.sections) renderSection(s, main, width, check);
  check();
}

try {
  render();
} catch (e) {
  document.body.dataset.error = String(e);
  document.body.prepend(el("pre", { class: "error" }, `The report could not be drawn: ${String(e)}`));
}
