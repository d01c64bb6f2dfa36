/** Every scenario suite, in the order both engines run them. */
import type { Scenario } from "../lib/scenario.js";
import { scenarios as wire } from "./sim-wire.js";
import { scenarios as board } from "./sim-board.js";
import { scenarios as uplink } from "./uplink.js";
import { scenarios as d0bus } from "./d0-bus.js";
import { scenarios as modem } from "./modem.js";
import { scenarios as store } from "./store.js";
import { scenarios as bridge } from "./bridge.js";
import { scenarios as core } from "./core.js";
import { scenarios as siteUplink } from "./site-uplink.js";
import { scenarios as console } from "./console.js";
import { scenarios as dlms } from "./dlms.js";
import { scenarios as ota } from "./ota.js";
import { scenarios as backfill } from "./backfill.js";

export const suites: ReadonlyArray<{ suite: string; scenarios: Scenario[] }> = [
  { suite: "sim-wire", scenarios: wire },
  { suite: "sim-board", scenarios: board },
  { suite: "uplink", scenarios: uplink },
  { suite: "d0-bus", scenarios: d0bus },
  { suite: "modem", scenarios: modem },
  { suite: "store", scenarios: store },
  { suite: "bridge", scenarios: bridge },
  { suite: "core", scenarios: core },
  { suite: "site-uplink", scenarios: siteUplink },
  { suite: "console", scenarios: console },
  { suite: "dlms", scenarios: dlms },
  { suite: "ota", scenarios: ota },
  { suite: "backfill", scenarios: backfill },
];
