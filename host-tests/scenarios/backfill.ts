/**
 * The profile catch-up (docs/backfill.md) on the whole concentrator, under mocha and inside XS (the XS
 * run shows what a profile answer costs per turn: parsed as it arrives, stored a few rows per turn).
 * The other catch-up cases are mocha-only: host-tests/app/backfill.test.ts.
 */
import { ReadingStatus, registerCode } from "../../firmware/model/records.js";
import * as assert from "../lib/check.js";
import { afterDiscovery, calmSite, consumersOf, firmware, HOUR, MINUTE, runOf, stored } from "../lib/core-rig.js";
import type { Scenario } from "../lib/scenario.js";

const SLOT_S = 900;
const IMPORT = registerCode(1, 8, 0);

export const catchUpAfterOutage: Scenario = {
  name: "backfill: after a 3-hour outage of the concentrator, every missed interval of every meter is read back from the modules' load profiles, stored once, flagged back-filled",
  start(seed) {
    const site = calmSite(seed, { modules: 4, profileMemory: "all" });
    const w = site.world;
    const slotNow = () => Math.floor(w.board.rtc.now() / 1000 / SLOT_S);
    let firstSlot = 0;
    const script = afterDiscovery(site, 4)
      .wait(20 * MINUTE, "a slot read in full", () => (firstSlot = slotNow()))
      .wait(40 * MINUTE, "polling", () => w.board.cutPower())
      .wait(3 * HOUR, "three hours off", () => w.board.powerOn())
      .within(HOUR, "caught up", () => {
        const h = site.concentrator?.catchUp?.holdings;
        return h !== undefined && h.accounted >= slotNow() - 1 && [...h.metersMissing()].length === 0;
      });
    // The XS meter starts just before the board boots again: the boot and the catch-up are what it measures.
    let last = "";
    return {
      ...runOf(site, script, 3 * HOUR, check),
      warmUpMs: 3 * HOUR + 50 * MINUTE,
      // The boot (store recovery, every module's record) and readouts apart from the catch-up's own turns.
      turnKind() {
        const c = site.concentrator;
        const k = c?.catchUp?.counters;
        const now = [w.board.boots, c?.poller.counters.ok ?? 0, k?.slots ?? 0, k?.readings ?? 0, c?.catchUp?.holdings.accounted ?? 0];
        const prev = last.split(",").map(Number);
        last = now.join(",");
        if (now[0] !== prev[0]) return "boot";
        if (now[1] !== prev[1]) return "readout";
        if (now[2] !== prev[2]) return "catch-up answer";
        if (now[3] !== prev[3]) return "catch-up storing";
        if (now[4] !== prev[4]) return "accounting";
        return "other";
      },
    };
    function check(): void {
      const c = firmware(site);
      const held = new Map<string, number>();
      let filled = 0;
      for (const r of stored(c).readings) {
        if (r.register !== IMPORT) continue;
        const key = `${r.meter}/${Math.floor(r.time / SLOT_S)}`;
        held.set(key, (held.get(key) ?? 0) + 1);
        if (r.status & ReadingStatus.backfilled) {
          filled++;
          assert.equal(held.get(key), 1, `${key} stored once`);
        }
      }
      const meters = w.modules.flatMap((m) => consumersOf(site, m));
      for (const meter of meters) for (let s = firstSlot; s < slotNow(); s++) assert.ok(held.has(`${meter}/${s}`), `meter ${meter} slot ${s}`);
      assert.ok(filled >= meters.length * 11, `${filled} back-filled`);
    }
  },
};

export const scenarios: Scenario[] = [catchUpAfterOutage];
