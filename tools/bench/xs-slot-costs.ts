#!/usr/bin/env node
/**
 * What XS charges in heap slots for each shape of state the firmware keeps: 1,000 of a shape made
 * in xsnap and kept, the machine's live slots (after the crank's collection) before and after, per
 * instance. The heap census (heap-census.ts) counts V8's objects with these weights; the figures are
 * in docs/memory.md ("What XS charges").
 *
 *   node dist/tools/bench/xs-slot-costs.js            # one line per shape: slots per instance
 */
import { startXs } from "../xs/xs-worker.js";

/** Declarations the shapes use, evaluated once in the machine. */
const CLASSES = `
class Empty {}
class Public3 { constructor() { this.a = 1; this.b = 2; this.c = 3; } m() { return this.a; } }
class Private1 { #a = 1; }
class Private3 { #a = 1; #b = 2; #c = 3; }
class Private3Methods2 { #a = 1; #b = 2; #c = 3; #m() { return this.#a; } #n() { return this.#b; } }
class Private3Methods6 { #a = 1; #b = 2; #c = 3; #m1() {} #m2() {} #m3() {} #m4() {} #m5() {} #m6() {} }
class Private3Arrows2 { #a = 1; #b = 2; #c = 3; #m = () => this.#a; #n = () => this.#b; }
class PrivateMethodOnly { #m() {} }
class Getters { #a = 1; get a() { return this.#a; } get b() { return 2; } }
class DerivedImplicit extends Public3 {}
class DerivedExplicit extends Public3 { constructor() { super(); } }
function capture1(x) { return () => x; }
`;

/** Each shape: its name and the expression that makes one (i is its index). */
const SHAPES: ReadonlyArray<readonly [string, string]> = [
  ["object, no property", "({})"],
  ["object, 3 properties", "({ a: i, b: 2, c: 3 })"],
  ["class instance, 3 public fields", "new Public3()"],
  ["class instance, no field", "new Empty()"],
  ["class instance, 1 private field", "new Private1()"],
  ["class instance, 3 private fields", "new Private3()"],
  ["class instance, 3 private fields, 2 private methods", "new Private3Methods2()"],
  ["class instance, 3 private fields, 6 private methods", "new Private3Methods6()"],
  ["class instance, 3 private fields, 2 arrow functions in fields", "new Private3Arrows2()"],
  ["class instance, 1 private method only", "new PrivateMethodOnly()"],
  ["class instance, 1 private field, 2 getters", "new Getters()"],
  ["derived class instance, implicit constructor", "new DerivedImplicit()"],
  ["derived class instance, explicit constructor", "new DerivedExplicit()"],
  ["arrow function, no capture", "() => 1"],
  ["closure over 1 variable", "capture1(i)"],
  ["function expression", "function () { return 1; }"],
  ["bound method", "Public3.prototype.m.bind(shared)"],
  ["array of 3 numbers", "[i, 2, 3]"],
  ["array of 20 numbers", "new Array(20).fill(i)"],
  ["Float64Array(4)", "new Float64Array(4)"],
  ["ArrayBuffer(8)", "new ArrayBuffer(8)"],
  ["Map, empty", "new Map()"],
  ["Set, empty", "new Set()"],
  ["Error", "new Error('x')"],
  ["Map entry (number to number)", "MAP"],
  ["Map entry (string to number)", "MAP_S"],
  ["Set entry (number)", "SET"],
];

const bundle = `${CLASSES}
const shared = new Public3();
const makers = [${SHAPES.map(([, e]) => (e === "MAP" || e === "MAP_S" || e === "SET" ? "null" : `(i) => ${e}`)).join(", ")}];
let keep = null;
globalThis.handleCommand = (msg) => {
  const c = JSON.parse(new TextDecoder().decode(msg));
  if (c.keep) { keep = new Array(c.n).fill(0); }
  else if (c.shape === "MAP") { keep = new Map(); for (let i = 0; i < c.n; i++) keep.set(i, i); }
  else if (c.shape === "MAP_S") { keep = new Map(); for (let i = 0; i < c.n; i++) keep.set("k" + i, i); }
  else if (c.shape === "SET") { keep = new Set(); for (let i = 0; i < c.n; i++) keep.add(i); }
  else { const make = makers[c.index]; for (let i = 0; i < c.n; i++) keep[i] = make(i); }
  return new TextEncoder().encode("null").buffer;
};`;

const N = 1000;
const xs = await startXs(bundle, "xs-slot-costs");
const out: Record<string, number> = {};
for (const [index, [name, expr]] of SHAPES.entries()) {
  // Before: an array of N numbers (its elements are a chunk); after: the same array full of the shape,
  // or (for entries) the collection replacing it.
  const before = await xs.command({ keep: true, n: N });
  const after = await xs.command({ index, shape: expr, n: N });
  out[name] = Math.round(((after.heapSlots - before.heapSlots) / N) * 100) / 100;
}
await xs.close();
for (const [name, slots] of Object.entries(out)) console.log(`${String(slots).padStart(6)}  ${name}`);
