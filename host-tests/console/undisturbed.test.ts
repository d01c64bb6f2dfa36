// A console session held open through a simulated day changes no figure of the site report: the
// console's turns are short and it never touches the buses, the store's writes or the uplink unless
// told to (the session here only reads, as an engineer looking around does).
import assert from "node:assert/strict";
import { ConsoleDriver, consoleSite } from "../lib/console-rig.js";
import { HOUR } from "../lib/core-rig.js";
import type { SiteReport } from "../../tools/site/site.js";

const DAY = 24 * HOUR;
const OPTIONS = { modules: 8, plc: 2, radio: 2, mainsFailuresPerDay: 1, moduleRebootsPerDay: 2 } as const;

function figures(r: SiteReport): Omit<SiteReport, "wallMs"> {
  const { wallMs: _, ...rest } = r;
  return rest;
}

describe("console: a session held open through a day", () => {
  it("changes no figure of the site report (readings, poll-cycle ratio, uplink)", function () {
    this.timeout(300_000);
    const quiet = consoleSite("day", OPTIONS);
    quiet.run(DAY);
    const watched = consoleSite("day", OPTIONS);
    const d = new ConsoleDriver(watched);
    let commands = 0;
    for (let h = 1; h < 24; h++) {
      watched.run(h * HOUR);
      if (!watched.concentrator) continue; // the board is off (a mains failure outlasted the battery)
      for (const line of ["status", "modules", "bus", "events 20", "log 50", "readings 1 20", "latch", "config get", "help", "time", "version", "module 1"]) {
        d.run(line, HOUR);
        commands++;
      }
    }
    watched.run(DAY);
    assert.ok(commands > 200, `${commands} commands`);
    const a = figures(quiet.report());
    const b = figures(watched.report());
    assert.ok(a.readingsStored > 1000 && a.pollCycles > 50, "a day of work to compare");
    assert.deepEqual(b, a);
  });
});
