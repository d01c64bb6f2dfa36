/**
 * Opens a report in headless Chromium (Debian's `chromium` package, driven by playwright-core) and
 * waits until every chart has drawn. Used by the screenshot command and the report test. Requests
 * that leave the file are refused and listed, and so are those its content security policy blocked:
 * a report that needs the network shows it here.
 */
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (tools/prereqs.mjs installs it); `CHROMIUM` overrides it. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

export interface OpenReport {
  page: Page;
  /** URLs the page asked for besides the report file itself (refused), and what its policy blocked. */
  refused: string[];
}

/** A new page of `browser` with the report drawn; throws when it does not draw. */
export async function openReport(browser: Browser, file: string, viewport = { width: 1200, height: 900 }): Promise<OpenReport> {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  const url = pathToFileURL(file).href;
  const refused: string[] = [];
  await page.route("**/*", (route) => {
    if (route.request().url() === url) return route.continue();
    refused.push(route.request().url());
    return route.abort();
  });
  // What the content security policy blocks never reaches the router: Chromium reports it on the console.
  page.on("console", (m) => void (m.type() === "error" && m.text().includes("Content Security Policy") && refused.push(m.text())));
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("body[data-rendered], body[data-error]", { timeout: 30_000 });
  const failed = await page.getAttribute("body", "data-error");
  if (failed !== null || errors.length > 0) throw new Error(`the report did not render: ${failed ?? errors.join("; ")}`);
  return { page, refused };
}
