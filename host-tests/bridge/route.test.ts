// The route's measurements and its rate and up/down decisions (firmware/bridge/route.ts).
import assert from "node:assert/strict";
import { DEFAULT_ROUTE_POLICY, Route } from "../../firmware/bridge/route.js";

const RATES = [2400, 1200, 600, 300];

function route(): Route {
  return new Route("primary", [1], RATES, DEFAULT_ROUTE_POLICY);
}

/** A relay of `frames` frames that each needed `perFrame` transmissions. */
function reached(r: Route, frames: number, perFrame: number): void {
  r.reached(frames, Math.round(frames * perFrame), 1);
}

describe("bridge route: rate", () => {
  it("keeps the highest rate while frames get through at the first try", () => {
    const r = route();
    for (let i = 0; i < 50; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 2400);
    assert.equal(r.frameSuccess, 1);
  });

  it("steps down after successful relays whose frames needed retransmission too often", () => {
    const r = route();
    reached(r, 10, 1.3);
    assert.equal(r.rateBps, 2400, "one relay at 1.3 tries a frame moves the estimate about halfway (0.87)");
    reached(r, 10, 1.3);
    assert.equal(r.rateBps, 1200);
    assert.equal(r.frameSuccess, 1, "a new rate starts with a clean record");
    assert.equal(r.up, true);
  });

  it("steps up after 10 clean relays in a row, one rate at a time", () => {
    const r = route();
    r.rateIndex = 2;
    for (let i = 0; i < 9; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 600);
    reached(r, 10, 1);
    assert.equal(r.rateBps, 1200);
    for (let i = 0; i < 10; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 2400);
    assert.equal(r.faster, 2);
  });

  it("waits twice as long before the next step up when the first relay at the faster rate fails (AARF)", () => {
    const r = route();
    r.rateIndex = 1;
    for (let i = 0; i < 10; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 2400);
    r.failed(3, 9);
    assert.equal(r.rateBps, 1200, "the probe failed: back down");
    for (let i = 0; i < 10; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 1200, "10 is not enough any more");
    for (let i = 0; i < 10; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 2400, "20 is");
  });

  it("never steps outside the bridge's rates", () => {
    const r = route();
    for (let i = 0; i < 20; i++) reached(r, 10, 3);
    assert.equal(r.rateBps, 300);
    r.rateIndex = 0;
    for (let i = 0; i < 30; i++) reached(r, 10, 1);
    assert.equal(r.rateBps, 2400);
  });
});

describe("bridge route: up and down", () => {
  it("goes down after two failures in a row, without a rate change for the failure that put it down", () => {
    const r = route();
    assert.equal(r.failed(10, 10), false, "a relay that got its frames through but failed on the way back");
    assert.equal(r.rateBps, 2400);
    assert.equal(r.failed(0, 3), true, "the second failure in a row puts it down");
    assert.equal(r.up, false);
    assert.equal(r.rateBps, 2400);
  });

  it("keeps its rate while failures come when it is down, and comes up at the first success", () => {
    const r = route();
    r.failed(0, 3);
    r.failed(0, 3);
    for (let i = 0; i < 5; i++) assert.equal(r.failed(0, 3), false);
    assert.equal(r.rateBps, 1200, "only the first failure (frames all lost) stepped down");
    assert.equal(r.reached(5, 5, 1), true, "came up");
    assert.equal(r.up, true);
    assert.equal(r.failures, 7);
  });

  it("averages relay success and time with α = 1/8", () => {
    const r = route();
    r.failed(10, 10);
    assert.equal(r.success, 7 / 8);
    r.reached(10, 10, 3);
    assert.equal(r.slowness, 1 + (3 - 1) / 8);
  });
});
