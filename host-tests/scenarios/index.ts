/** Every scenario suite, in the order both engines run them. */
import type { Scenario } from "../lib/scenario.js";
import { scenarios as wire } from "./sim-wire.js";
import { scenarios as board } from "./sim-board.js";
import { scenarios as store } from "./store.js";

export const suites: ReadonlyArray<{ suite: string; scenarios: Scenario[] }> = [
  { suite: "sim-wire", scenarios: wire },
  { suite: "sim-board", scenarios: board },
  { suite: "store", scenarios: store },
];
