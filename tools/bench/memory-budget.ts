/**
 * The live-memory and turn-length budgets of docs/memory.md, and the check of a measurement
 * (tools/bench/site-xs-run.ts) against them. Apart from the runner, which needs the xsnap driver
 * (it locks down its process): the tests import this.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** What the check needs of a measurement: the firmware's turns by kind and its live heap's peaks (slots, chunk bytes on the device). */
export interface BudgetedMeasurement {
  kinds: Record<string, { maxUnits: number }>;
  peakSlots: number;
  peakChunkBytes: number;
}

/** A slot on the 32-bit device, bytes. */
export const SLOT_BYTES = 16;

/** The longest event-loop turn allowed, XS units (docs/memory.md: a 128-byte UART FIFO with no software buffer). */
export const MAX_TURN_UNITS = 150_000;
/** The live heap's peaks must leave this share of each of the manifest's `creation` figures free (its slots, its chunk bytes). */
export const MIN_MARGIN = 0.25;
/** Turn kinds exempt from MAX_TURN_UNITS: the boot runs before any port is open (docs/memory.md). */
export const EXEMPT_KINDS: readonly string[] = Object.freeze(["boot"]);

/** The manifest's `creation` heap: slots (16 B each on the 32-bit device) and chunk bytes. */
export function creationBudget(): { slots: number; chunkBytes: number } {
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL("../../../manifests/manifest.json", import.meta.url)), "utf8")) as { creation: { heap: { initial: number }; chunk: { initial: number } } };
  return { slots: manifest.creation.heap.initial, chunkBytes: manifest.creation.chunk.initial };
}

/** Free share of the budget at the peak (negative when the peak exceeds it). */
export function margin(peak: number, budget: number): number {
  return (budget - peak) / budget;
}

/** What breaks the live heap's budget (each of `creation`'s figures ≥ MIN_MARGIN free at its peak), one line each. */
export function heapViolations(m: Pick<BudgetedMeasurement, "peakSlots" | "peakChunkBytes">, budget = creationBudget()): string[] {
  const out: string[] = [];
  const slotsFree = margin(m.peakSlots, budget.slots);
  if (slotsFree < MIN_MARGIN) out.push(`live heap: peak ${m.peakSlots} slots leaves ${(slotsFree * 100).toFixed(1)} % of ${budget.slots} free (at least ${MIN_MARGIN * 100} %)`);
  const chunksFree = margin(m.peakChunkBytes, budget.chunkBytes);
  if (chunksFree < MIN_MARGIN) out.push(`live heap: peak ${m.peakChunkBytes} chunk bytes leaves ${(chunksFree * 100).toFixed(1)} % of ${budget.chunkBytes} free (at least ${MIN_MARGIN * 100} %)`);
  return out;
}

/** The turns over MAX_TURN_UNITS (every kind but the exempt), one line each. */
export function turnViolations(m: Pick<BudgetedMeasurement, "kinds">): string[] {
  const out: string[] = [];
  for (const [kind, k] of Object.entries(m.kinds)) {
    if (!EXEMPT_KINDS.includes(kind) && k.maxUnits > MAX_TURN_UNITS) out.push(`turn: ${kind} took ${k.maxUnits} units (at most ${MAX_TURN_UNITS})`);
  }
  return out;
}

/** What breaks the budget in a measurement (the live heap's, and the turns'), one line each; empty when it holds. */
export function budgetViolations(m: BudgetedMeasurement, budget = creationBudget()): string[] {
  return [...heapViolations(m, budget), ...turnViolations(m)];
}
