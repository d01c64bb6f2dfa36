/**
 * The report as one self-contained HTML file: the spec as JSON, the page script bundled with uPlot
 * (tools/build.mjs makes page.bundle.js and page.bundle.css next to this module in dist/) and the
 * styles, all inlined. Its content security policy forbids every network request, so what opens
 * without a network is what was checked.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ReportSpec } from "./spec.js";

const STYLE = `
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 14px; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1160px; margin: 0 auto; padding: 16px 20px 48px; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.subtitle { color: #555; margin: 0 0 10px; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
table.figures { border-collapse: collapse; margin: 6px 0; }
table.figures th { text-align: left; font-weight: normal; color: #555; padding: 2px 18px 2px 0; }
table.figures td { font-variant-numeric: tabular-nums; }
figure.chart { margin: 8px 0 18px; }
figcaption { color: #555; font-size: 12px; max-width: 1100px; }
.bands { font-size: 12px; color: #444; margin: 2px 0; }
.band { margin-right: 14px; }
.band i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; border: 1px solid #bbb; }
.error { color: #b00; padding: 12px; }
`;

/** Text that is safe inside a <script> element. */
function scriptText(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** The page's script and styles, as the build bundled them. */
function pageAssets(): { js: string; css: string } {
  const read = (name: string) => readFileSync(new URL(name, import.meta.url), "utf8");
  return { js: read("./page.bundle.js"), css: read("./page.bundle.css") };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

export function reportHtml(spec: ReportSpec): string {
  const { js, css } = pageAssets();
  // JSON in a script element: "<" escaped so no value can end the element.
  const json = JSON.stringify(spec).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(spec.title)}</title>
<style>${css}${STYLE}</style>
</head>
<body>
<main id="report"></main>
<script type="application/json" id="report-spec">${json}</script>
<script>${scriptText(js)}</script>
</body>
</html>
`;
}

/** Writes the report to `file` (its folder made when missing). */
export function writeReportHtml(file: string, spec: ReportSpec): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, reportHtml(spec));
}
