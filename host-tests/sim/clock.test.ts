import assert from "node:assert/strict";
import fc from "fast-check";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

/** A clock booted at a fractional scheduler time, as a board is after a reset in the middle of a character. */
function bootedAt(bootMs: number): { s: Scheduler; clock: SimClock } {
  const s = new Scheduler();
  const domain = new PowerDomain(s, "board");
  s.at(bootMs, () => domain.powerOn());
  s.runUntil(bootMs);
  return { s, clock: new SimClock(domain) };
}

const ms = fc.double({ min: 0, max: 1e7, noNaN: true });

describe("sim clock", () => {
  it("loses its timers when the board loses power: cancelled at once, nothing of the dead boot left queued", () => {
    const s = new Scheduler();
    const d = new PowerDomain(s, "mc");
    d.powerOn();
    const clock = new SimClock(d);
    let fired = 0;
    clock.set(() => fired++, 3_600_000);
    clock.set(() => fired++, 1_000, 1_000);
    s.runUntil(5_500);
    assert.equal(fired, 5);
    d.powerOff("power-cut");
    assert.equal(s.peek(), undefined, "no live event left");
    d.powerOn();
    s.runUntil(10_000_000);
    assert.equal(fired, 5);
  });

  it("never fires a timer before its delay by its own now(), whatever the boot time", () => {
    fc.assert(
      fc.property(ms, fc.array(fc.tuple(fc.double({ min: 0, max: 1e4, noNaN: true }), fc.double({ min: 0, max: 5e3, noNaN: true })), { minLength: 1, maxLength: 20 }), (bootMs, timers) => {
        const { s, clock } = bootedAt(bootMs);
        for (const [after, delay] of timers) {
          s.after(after, () => {
            const setAt = clock.now();
            clock.set(() => assert.ok(clock.now() >= setAt + delay, `${clock.now()} < ${setAt} + ${delay}`), delay);
          });
        }
        s.runFor(2e4);
      }),
    );
  });

  it("lets a firmware that re-arms for the remainder of a deadline reach it in a few turns", () => {
    fc.assert(
      fc.property(ms, fc.double({ min: 0, max: 1e4, noNaN: true }), fc.double({ min: 1e-3, max: 2e3, noNaN: true }), (bootMs, after, delay) => {
        const { s, clock } = bootedAt(bootMs);
        let firings = 0;
        let reached = false;
        s.after(after, () => {
          const deadline = clock.now() + delay;
          const arm = () =>
            clock.set(() => {
              firings++;
              if (clock.now() < deadline) arm();
              else reached = true;
            }, Math.max(0, deadline - clock.now()));
          arm();
        });
        s.runUntilTrue(() => reached || firings > 100, 1e5);
        assert.ok(reached && firings <= 3, `${firings} firings`);
      }),
    );
  });
});
