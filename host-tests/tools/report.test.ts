// The site report as a person sees it: the HTML page of a short run opened in headless Chromium
// (Debian's package), every chart drawn with every value the run recorded, checked against the
// report's own figures, and nothing fetched from anywhere.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium, openReport, type OpenReport } from "../../tools/report/browser.js";
import { writeReportHtml } from "../../tools/report/html.js";
import { siteReportSpec } from "../../tools/report/sections.js";
import type { ChartSpec, ReportSpec } from "../../tools/report/spec.js";
import { SAMPLE_MS } from "../../tools/site/recorder.js";
import type { SiteReport } from "../../tools/site/site.js";
import { simulateSite } from "../../tools/simulate.js";

const MINUTE = 60_000;

/** What the page says uPlot drew in a chart, and how many strongly coloured pixels its canvas holds. */
interface Drawn {
  points: number;
  bands: number;
  colouredPixels: number;
}

async function drawn(report: OpenReport, id: string): Promise<Drawn> {
  return report.page.$eval(`figure#${id}`, (f) => {
    const canvas = f.querySelector("canvas");
    let coloured = 0;
    if (canvas) {
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      // Axes and grid are grey; series are drawn in saturated colours; bands are pale.
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 200 && Math.max(data[i]!, data[i + 1]!, data[i + 2]!) - Math.min(data[i]!, data[i + 1]!, data[i + 2]!) > 80) coloured++;
    }
    return { points: Number(f.getAttribute("data-points")), bands: Number(f.getAttribute("data-bands")), colouredPixels: coloured };
  });
}

/** Values a chart spec holds, not null, over its series. */
function specPoints(c: ChartSpec): number {
  return c.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
}

/** Bands of a chart that overlap its x range. */
function specBands(c: ChartSpec): number {
  const [first, last] = [c.x[0]!, c.x[c.x.length - 1]!];
  return (c.bands ?? []).filter((b) => b.to > first && b.from < last).length;
}

function chart(spec: ReportSpec, id: string): ChartSpec {
  const c = spec.sections.flatMap((s) => s.charts ?? []).find((x) => x.id === id);
  assert.ok(c, `chart ${id} is in the report`);
  return c;
}

describe("site report in a browser", function () {
  this.timeout(120_000);
  let report: SiteReport;
  let spec: ReportSpec;
  let dir: string;
  let browser: Browser;
  let page: OpenReport;

  before(async () => {
    // Six hours of a small site, with faults frequent enough that every chart has something to show.
    report = simulateSite({
      days: 0.25,
      seed: "report",
      modules: 4,
      plc: 1,
      radio: 1,
      record: true,
      mainsFailuresPerDay: 8,
      meanOutageMs: 20 * MINUTE,
      uplink: { outageShare: 0.3, meanOutageMs: 30 * MINUTE },
    });
    spec = siteReportSpec(report);
    dir = mkdtempSync(join(tmpdir(), "report-"));
    writeReportHtml(join(dir, "site.html"), spec);
    browser = await launchChromium();
    page = await openReport(browser, join(dir, "site.html"));
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws every chart with every value the report holds for it, without asking the network for anything", async () => {
    const charts = spec.sections.flatMap((s) => s.charts ?? []);
    assert.ok(charts.length >= 9, `${charts.length} charts`);
    for (const c of charts) {
      const d = await drawn(page, c.id);
      const expected = specPoints(c);
      assert.ok(expected > 0, `${c.id}: the run recorded values for it`);
      assert.equal(d.points, expected, `${c.id}: points drawn`);
      assert.equal(d.bands, specBands(c), `${c.id}: windows shaded`);
      assert.ok(d.colouredPixels > 50, `${c.id}: ${d.colouredPixels} coloured pixels on the canvas`);
    }
    assert.deepEqual(page.refused, []);
  });

  it("plots what the firmware counted: every event, every complete poll cycle, a sample every 5 minutes, every outage", async () => {
    assert.ok(report.mainsFailures > 0 && (report.faults.gprsOutages ?? 0) > 0, "the run had mains failures and GPRS outages");
    assert.equal((await drawn(page, "event-timeline")).points, report.eventsRaised);
    assert.equal((await drawn(page, "poll-cycles")).points, report.pollCycles + report.remoteCycles);
    const samples = Math.floor(report.simulatedMs / SAMPLE_MS);
    assert.equal((await drawn(page, "uplink-backlog")).points, samples);
    assert.equal((await drawn(page, "latches")).points, 2 * samples);
    assert.equal((await drawn(page, "uplink-backlog")).bands, report.faults.gprsOutages);
    // Mains failures and the times the board was off (the battery ran low), each shaded once.
    assert.equal((await drawn(page, "power")).bands, report.mainsFailures + (report.series?.boardOff.length ?? 0));
    // One load profile per path with modules: both buses and both bridges.
    assert.equal(chart(spec, "load-profiles").series.length, 4);
  });

  it("catches a report that asks for anything outside its file", async () => {
    const leaky = join(dir, "leaky.html");
    writeFileSync(leaky, readFileSync(join(dir, "site.html"), "utf8").replace("<main", '<img src="https://example.invalid/logo.png"><main'));
    const opened = await openReport(browser, leaky);
    assert.equal(opened.refused.length, 1, opened.refused.join("\n"));
    assert.match(opened.refused[0]!, /example\.invalid/);
  });

  it("says what was simulated and shows the summary figures as text", async () => {
    assert.equal(await page.page.title(), `Site simulation, seed ${report.seed}`);
    const text = await page.page.textContent("#section-summary");
    assert.ok(text?.includes(`${report.readingsExpected} / ${report.readingsAcquired} (`), text ?? "");
    assert.ok(text?.includes(`${report.readingsBackfilled} (`) && text.includes(`${report.readingsRead} / ${report.readingsStored} (${report.backfillReadingsStored})`), text ?? "");
  });
});

describe("site report sections", () => {
  it("leave out what a run did not record: without series only the summary, without an uplink no uplink section", () => {
    const bare = simulateSite({ days: 0.05, seed: "bare", modules: 2, plc: 0, radio: 0 });
    assert.deepEqual(siteReportSpec(bare).sections.map((s) => s.id), ["summary"]);
    const noUplink = simulateSite({ days: 0.05, seed: "bare", modules: 2, plc: 0, radio: 0, record: true });
    const ids = siteReportSpec(noUplink).sections.map((s) => s.id);
    assert.ok(!ids.includes("uplink") && ids.includes("events"), ids.join(", "));
  });
});
