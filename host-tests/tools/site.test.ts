// The site simulation's latch check (tools/site/site.ts) catches what it is there to catch: with the
// firmware's enforcement switched off, a latched consumer left supplied is a violation.
import assert from "node:assert/strict";
import type { Site } from "../../tools/site/site.js";
import { afterDiscovery, calmSite, command, consumersOf, firmware, MINUTE, play, POLL_MS } from "../lib/core-rig.js";

/** Latches the consumers of the first module, then stops the firmware from enforcing anything. */
function latchedThenUnenforced(seed: string, fault: (site: Site) => void): Site {
  const site = calmSite(seed, { modules: 2 });
  const module = site.world.local[0]![0]!;
  module.setBattery(false);
  let consumers: number[] = [];
  const script = afterDiscovery(site, 2)
    .do("latch", () => {
      consumers = consumersOf(site, module);
      for (const m of consumers) command(site, "disconnect", m);
    })
    .within(MINUTE, "relay open", () => !module.relayConnected)
    .wait(30_000, "the relay verified")
    .do("no more enforcement, then the fault", () => {
      firmware(site).latch.stop();
      firmware(site).poller.stop();
      fault(site);
    })
    .within(MINUTE, "the relay closed", () => module.relayConnected)
    .wait(POLL_MS + MINUTE, "a poll interval and a minute");
  assert.throws(
    () => play(site, script, 2 * POLL_MS + 30 * MINUTE),
    (e: Error) => e.message === `latched consumers supplied longer than one poll interval: expected 0, got ${consumers.length}`,
  );
  return site;
}

describe("site simulation: latch check", () => {
  it("counts a latched consumer whose module rebooted cold and was never cut off again", () => {
    const site = latchedThenUnenforced("metric-1", (s) => s.world.local[0]![0]!.reboot());
    assert.ok(site.report().latchLongestSuppliedMs > POLL_MS);
  });

  it("follows the consumer to the new module when its module is replaced", () => {
    const site = latchedThenUnenforced("metric-2", (s) => s.world.local[0]![0]!.replace("77770001"));
    assert.ok(site.report().latchLongestSuppliedMs > POLL_MS);
  });

  it("does not count a consumer cut off by the grid", () => {
    const site = calmSite("metric-3", { modules: 2 });
    const module = site.world.local[0]![0]!;
    const script = afterDiscovery(site, 2)
      .do("latch, stop enforcing, grid down", () => {
        for (const m of consumersOf(site, module)) command(site, "disconnect", m);
        firmware(site).latch.stop();
        site.world.setGrid(false);
      })
      .wait(2 * POLL_MS, "two poll intervals");
    play(site, script, 3 * POLL_MS);
    assert.equal(site.report().latchLongestSuppliedMs, 0);
  });
});
