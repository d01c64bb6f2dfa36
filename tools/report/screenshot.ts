#!/usr/bin/env node
/**
 * A PNG of the site report as headless Chromium draws it, for a reviewer to look at.
 *
 *   npm run report:screenshot                      the default site (seed 1, one day): reports/site-1.html and .png
 *   npm run report:screenshot -- --html FILE       an existing report
 *   npm run report:screenshot -- --out FILE.png --width 1200 --height 1600
 *
 * Without `--html` it runs the site simulation first (as npm start does). `--height` cuts the page
 * at that many pixels (the top of the report); without it the whole page is taken.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseOptions, UsageError } from "../cli-args.js";
import { EVERYDAY_UPLINK, simulateSite } from "../simulate.js";
import { launchChromium, openReport } from "./browser.js";
import { writeReportHtml } from "./html.js";
import { siteReportSpec } from "./sections.js";

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), { html: "string", out: "string", width: "number", height: "number", seed: "string" });
  const width = o.width ?? 1200;
  if (!(Number.isInteger(width) && width >= 400 && width <= 4000)) throw new UsageError("--width: 400..4000");
  if (o.height !== undefined && !(Number.isInteger(o.height) && o.height >= 200)) throw new UsageError("--height: at least 200");
  let html = o.html;
  if (html === undefined) {
    const seed = o.seed ?? "1";
    html = `reports/site-${seed}.html`;
    console.error(`screenshot: simulating the default site (seed ${seed}, one day) ...`);
    writeReportHtml(resolve(html), siteReportSpec(simulateSite({ days: 1, seed, record: true, uplink: EVERYDAY_UPLINK })));
  } else if (!existsSync(html)) throw new UsageError(`--html: ${html} does not exist`);
  const out = resolve(o.out ?? html.replace(/\.html?$/, "") + ".png");
  const browser = await launchChromium();
  try {
    const { page } = await openReport(browser, resolve(html), { width, height: o.height ?? 900 });
    await page.screenshot({ path: out, fullPage: o.height === undefined });
  } finally {
    await browser.close();
  }
  console.log(out);
}

main().catch((e) => {
  console.error(`report:screenshot: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
