/**
 * The DLMS meters of the simulated site, and the concentrator's configuration for them: meters of
 * several makers on both RS485 buses at HDLC physical addresses from 0x11, most with HLS-GMAC and their
 * own keys, some with an LLS password, one reached by a mode E sign-on; control modes 1 and 2 (a
 * reconnection waits for the consumer's button, or is direct); energy registers with scaler 0 or 1.
 * The configuration lists them all and scans a few addresses more on each bus. Pure ECMAScript.
 */
import type { DlmsMeterConfig, DlmsSiteConfig } from "../../firmware/dlms/integration/config.js";
import type { SimDlmsMeter } from "../../hal/sim/dlms/meter.js";
import type { Prng } from "../../hal/sim/prng.js";
import type { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import { simDlmsMeter } from "../sim/dlms-rig.js";

const FIRST_PHYSICAL = 0x11;

export interface DlmsSite {
  meters: SimDlmsMeter[];
  config: DlmsSiteConfig;
}

/** The concentrator's system title: its FLAG-like id and a serial. */
const CLIENT_TITLE = Uint8Array.of(0x4e, 0x52, 0x47, 0, 0, 0, 0, 17);

export function dlmsSite(s: Scheduler, prng: Prng, buses: readonly Rs485Bus[], count: number, startEpochMs: number, fillOutages = false): DlmsSite {
  const meters: SimDlmsMeter[] = [];
  const configs: DlmsMeterConfig[] = [];
  for (let i = 0; i < count; i++) {
    const bus = i % buses.length;
    const physical = FIRST_PHYSICAL + Math.floor(i / buses.length);
    const p = prng.fork(`meter-${i}`);
    const keys = { encryptionKey: new Uint8Array(16), authenticationKey: new Uint8Array(16) };
    p.fill(keys.encryptionKey);
    p.fill(keys.authenticationKey);
    const lls = i % 4 === 3;
    const password = `pw${String(p.int(1_000_000)).padStart(6, "0")}`;
    const modeE = i === 2 ? `${40_000_000 + i}` : undefined;
    const meter = simDlmsMeter(s, p, buses[bus]!, physical, {
      management: lls ? { mechanism: "lls", password } : { mechanism: "hls", keys },
      controlMode: i % 2 === 0 ? 1 : 2,
      systemTitle: Uint8Array.of(0x53, 0x49, 0x4d, 0, 0, 0, bus, physical),
      startEpochMs,
      ...(modeE ? { iecAddress: modeE } : {}),
      ...(fillOutages ? { fillOutages } : {}),
    });
    meters.push(meter);
    configs.push({ bus, physical, security: lls ? "lls" : "hls", ...(lls ? { password } : { keys }), ...(modeE ? { modeE } : {}) });
  }
  const perBus = Math.ceil(count / Math.max(1, buses.length));
  const scan = count ? buses.map((_, bus) => ({ bus, from: FIRST_PHYSICAL, to: FIRST_PHYSICAL + perBus + 1 })) : [];
  return { meters, config: { meters: configs, clientSystemTitle: CLIENT_TITLE, scan } };
}
