/**
 * A bridge with its network, as installed: the bridge on an RS485 bus, repeaters, and remote nodes
 * each in front of one simulated local module (populated as on a bus, site.ts), with a primary and a
 * backup route per module ("a backup communication channel for each relay level", the SMS-based metering system's product document).
 *
 * Layout, by module index i (level = i mod 3):
 * - level 0: direct from the bridge; backup through repeater 1.
 * - level 1: only through a repeater: primary via 1, backup via 2.
 * - level 2: only through two repeaters: primary via 1 then 3, backup via 2 then 4.
 * Repeaters 1 and 2 hear the bridge; 3 hears 1, 4 hears 2. Every link gets a seeded SNR at the highest
 * rate, uniform in [13, 18) dB: mostly clean at full rate, but fading and (PLC) evening noise push the
 * weaker links below the cliff (bridge-medium.ts), where the concentrator has to slow down.
 */
import { SimBridge, BRIDGE_NODE } from "./bridge.js";
import { SimMedium, PLC_PROFILE, RADIO_PROFILE, type SimLink } from "./bridge-medium.js";
import { SimRemoteNode } from "./bridge-remote.js";
import type { SimLocalModule } from "./local-module.js";
import { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { Rs485Bus } from "./rs485-bus.js";
import type { Scheduler } from "./scheduler.js";
import { populateBus } from "./site.js";

/** Medium addresses: repeaters 1-4, remote nodes from 100. */
const FIRST_NODE = 100;
const REPEATERS = 4;
/** Link SNR at the highest rate, dB: uniform in [min, min + span). */
const SNR_MIN_DB = 13;
const SNR_SPAN_DB = 5;

export interface BridgeSiteOptions {
  scheduler: Scheduler;
  prng: Prng;
  /** The RS485 bus the bridge is on. */
  bus: Rs485Bus;
  kind: "plc" | "radio";
  /** The bridge's bus address, 1..254. */
  address: number;
  /** Remote modules. */
  modules: number;
  /** D0 address of the first remote module; the others follow. */
  firstAddress: number;
  /** Site time at scheduler time 0 (module clocks, evening noise). Default 2026-01-01. */
  startEpochMs?: number;
}

export interface RemoteSite {
  readonly node: SimRemoteNode;
  readonly module: SimLocalModule;
  /** Repeaters the module's primary route crosses: 0, 1 or 2. */
  readonly level: number;
  readonly primary: readonly number[];
  readonly backup: readonly number[];
}

export interface BridgeSite {
  readonly bridge: SimBridge;
  readonly medium: SimMedium;
  /** Repeaters by medium address (1-4). */
  readonly repeaters: ReadonlyMap<number, PowerDomain>;
  readonly remotes: readonly RemoteSite[];
}

export function populateBridge(o: BridgeSiteOptions): BridgeSite {
  const name = `${o.kind}-${o.address}`;
  const p = o.prng.fork(name);
  const medium = new SimMedium(o.scheduler, p, { profile: o.kind === "plc" ? PLC_PROFILE : RADIO_PROFILE, name, startEpochMs: o.startEpochMs });
  const bridge = new SimBridge({ scheduler: o.scheduler, prng: p, bus: o.bus, address: o.address, medium, name });
  const snr = p.fork("snr");
  const link = (a: number, b: number): SimLink => medium.connect(a, b, { snrDb: SNR_MIN_DB + snr.next() * SNR_SPAN_DB });
  const repeaters = new Map<number, PowerDomain>();
  for (let id = 1; id <= REPEATERS; id++) {
    const d = new PowerDomain(o.scheduler, `${name}/repeater-${id}`);
    d.powerOn();
    medium.addNode(id, d);
    repeaters.set(id, d);
  }
  link(BRIDGE_NODE, 1);
  link(BRIDGE_NODE, 2);
  link(1, 3);
  link(2, 4);
  const remotes: RemoteSite[] = [];
  for (let i = 0; i < o.modules; i++) {
    const id = FIRST_NODE + i;
    const node = new SimRemoteNode({ scheduler: o.scheduler, prng: p, id, name: `${name}/node-${id}` });
    medium.addNode(id, node.domain);
    const level = i % 3;
    const [primary, backup] = level === 0 ? [[], [1]] : level === 1 ? [[1], [2]] : [[1, 3], [2, 4]];
    link(primary.length ? primary[primary.length - 1]! : BRIDGE_NODE, id);
    link(backup[backup.length - 1]!, id);
    const [module] = populateBus({ scheduler: o.scheduler, prng: p.fork(`module-${i}`), bus: node.segment, count: 1, firstAddress: o.firstAddress + i, startEpochMs: o.startEpochMs });
    bridge.addEntry({ node, address: module!.address, primary, backup });
    remotes.push({ node, module: module!, level, primary, backup });
  }
  return { bridge, medium, repeaters, remotes };
}
