/**
 * The slow medium behind a PLC or radio bridge (docs/bridge.md §What the simulation models): nodes (the bridge, its
 * repeaters, the remote nodes in front of local modules) and the links between them.
 *
 * - A message crosses a path hop by hop, store and forward. On each hop it is cut into frames of at
 *   most `framePayloadBytes`; each frame is acknowledged by the next node and sent again when the
 *   acknowledgement does not come, up to `triesPerFrame` times; then the hop, and the transfer, fail.
 *   One try costs latency + frame air time + latency + acknowledgement air time (a lost frame costs
 *   the same: the sender waits that long for the acknowledgement).
 * - A frame (or its acknowledgement) gets through with probability (1 − BER)^bits, where BER is that of
 *   non-coherent binary FSK, ½·exp(−Eb/N0 ÷ 2) (Proakis, Digital Communications, §4.5). Eb/N0 is the
 *   link's SNR at the highest rate plus 10·log10 2 ≈ 3 dB for every halving of the rate (the same
 *   signal power over twice the bit time), so a slower rate survives a worse link. The cliff is steep: a 72-byte
 *   frame gets through 99 % of the time at 13 dB, 59 % at 11 dB, 14 % at 10 dB.
 * - The SNR varies: slow fading (an AR(1) process over 5-minute slots, correlation 0.9, per link and
 *   seeded), on PLC the evening noise of household appliances (−3 dB from 17:00 to 23:00 site time),
 *   and what a test imposes (`degrade`). A link can be cut (`setUp(false)`), and a node without power
 *   neither receives nor acknowledges: that is how a repeater or a path goes down and comes back.
 * - One event per try, so the state of links and nodes is read at the time of each try. Frames carry
 *   only the relayed bytes plus `frameOverheadBytes`; the medium's own check is taken as perfect (a
 *   corrupted frame is a lost frame).
 */
import type { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";

export interface MediumProfile {
  readonly kind: "plc" | "radio";
  /** Rates, bit/s, highest first. */
  readonly ratesBps: readonly number[];
  /** Bytes a frame adds to its payload: preamble, sync, header, check. */
  readonly frameOverheadBytes: number;
  /** Payload bytes per frame at most. */
  readonly framePayloadBytes: number;
  readonly ackBytes: number;
  /** Fixed time before each frame and each acknowledgement (turnaround, channel access), ms. */
  readonly hopLatencyMs: number;
  /** Extra time per try, uniform in [0, jitter), ms. */
  readonly hopJitterMs: number;
  readonly triesPerFrame: number;
  /** Repeaters a path may hold. */
  readonly maxHops: number;
  /** SNR lost in the evening (17:00-23:00), dB. */
  readonly eveningNoiseDb: number;
}

/**
 * Narrowband PLC after the seed's CE-Nero (the SMS-based metering system's product document: "maximum achievable connection rate of 2400
 * bps"): 2400 bit/s stepping down to 300. Frames of 64 payload bytes with 8 bytes of preamble, sync,
 * header and CRC-16; 30 ms of turnaround and channel access (a few mains half-cycles at 50 Hz).
 */
export const PLC_PROFILE: MediumProfile = {
  kind: "plc",
  ratesBps: [2400, 1200, 600, 300],
  frameOverheadBytes: 8,
  framePayloadBytes: 64,
  ackBytes: 8,
  hopLatencyMs: 30,
  hopJitterMs: 20,
  triesPerFrame: 3,
  maxHops: 2,
  eveningNoiseDb: 3,
};

/**
 * Long-range sub-GHz radio after the seed's CE-Intro, "much slower" than PLC (its figure is garbled:
 * "…16 bps"): 600 bit/s stepping down to 75, the span of LoRa at 125 kHz from SF10 to below SF12
 * (Semtech AN1200.22: SF12 gives 293 bit/s). Frames of 48 payload bytes with 16 bytes of preamble,
 * sync, header and CRC (a long preamble lets battery receivers sleep); 100 ms turnaround and listen
 * before talk.
 */
export const RADIO_PROFILE: MediumProfile = {
  kind: "radio",
  ratesBps: [600, 300, 150, 75],
  frameOverheadBytes: 16,
  framePayloadBytes: 48,
  ackBytes: 12,
  hopLatencyMs: 100,
  hopJitterMs: 50,
  triesPerFrame: 3,
  maxHops: 2,
  eveningNoiseDb: 0,
};

export interface LinkOptions {
  /** Mean Eb/N0 at the highest rate, dB. */
  snrDb: number;
  /** Standard deviation of slow fading, dB. Default 1.5. */
  fadeDb?: number;
}

/** Fading slot and its correlation with the previous one. */
const FADE_SLOT_MS = 5 * 60_000;
const FADE_RHO = 0.9;
/** Evening noise hours, site time (UTC here). */
const EVENING_FROM_H = 17;
const EVENING_TO_H = 23;

export class SimLink {
  readonly a: number;
  readonly b: number;
  readonly baseSnrDb: number;
  readonly fadeDb: number;
  /** False while the link is cut: nothing crosses it. */
  up = true;
  /** SNR lost because a test said so, dB. */
  degradedDb = 0;
  readonly #prng: Prng;
  #slot = 0;
  #fade = 0;

  constructor(a: number, b: number, options: LinkOptions, prng: Prng) {
    this.a = a;
    this.b = b;
    this.baseSnrDb = options.snrDb;
    this.fadeDb = options.fadeDb ?? 1.5;
    this.#prng = prng;
  }

  /** Lowers the link's SNR by `db` (0 restores it). */
  degrade(db: number): void {
    this.degradedDb = db;
  }

  setUp(up: boolean): void {
    this.up = up;
  }

  /** Fading at `now`, dB: the slots in between are drawn in order, so the value does not depend on when it is asked. */
  fadeAt(now: number): number {
    const slot = Math.floor(now / FADE_SLOT_MS);
    const p = this.#prng;
    while (this.#slot < slot) {
      // Box-Muller: one standard normal draw.
      const n = Math.sqrt(-2 * Math.log(1 - p.next())) * Math.cos(2 * Math.PI * p.next());
      this.#fade = FADE_RHO * this.#fade + Math.sqrt(1 - FADE_RHO * FADE_RHO) * this.fadeDb * n;
      this.#slot++;
    }
    return this.#fade;
  }
}

export type TransferResult =
  | { readonly ok: true; readonly frames: number; readonly tries: number }
  /** `hop`: index of the link that failed along the path as given. */
  | { readonly ok: false; readonly hop: number; readonly frames: number; readonly tries: number };

export interface MediumCounters {
  frames: number;
  tries: number;
  lost: number;
  hopFailures: number;
  /** Air time of every frame and acknowledgement sent, ms. */
  airMs: number;
}

export interface MediumOptions {
  profile: MediumProfile;
  name?: string;
  /** Site time at scheduler time 0, ms since 1970 (for the evening noise). Default 2026-01-01. */
  startEpochMs?: number;
}

export class SimMedium {
  readonly name: string;
  readonly profile: MediumProfile;
  readonly counters: MediumCounters = { frames: 0, tries: 0, lost: 0, hopFailures: 0, airMs: 0 };
  readonly #s: Scheduler;
  readonly #prng: Prng;
  readonly #loss: Prng;
  readonly #startEpochMs: number;
  readonly #nodes = new Map<number, PowerDomain>();
  readonly #links = new Map<string, SimLink>();

  constructor(scheduler: Scheduler, prng: Prng, options: MediumOptions) {
    this.#s = scheduler;
    this.profile = options.profile;
    this.name = options.name ?? options.profile.kind;
    this.#prng = prng.fork(`${this.name}/links`);
    this.#loss = prng.fork(`${this.name}/loss`);
    this.#startEpochMs = options.startEpochMs ?? Date.UTC(2026, 0, 1);
  }

  /** A node with medium address `id`; it works while `domain` has power. */
  addNode(id: number, domain: PowerDomain): void {
    if (this.#nodes.has(id)) throw new Error("node exists");
    this.#nodes.set(id, domain);
  }

  hasNode(id: number): boolean {
    return this.#nodes.has(id);
  }

  connect(a: number, b: number, options: LinkOptions): SimLink {
    if (!this.#nodes.has(a) || !this.#nodes.has(b)) throw new Error("unknown node");
    const link = new SimLink(a, b, options, this.#prng.fork(`${a}-${b}`));
    this.#links.set(key(a, b), link);
    return link;
  }

  link(a: number, b: number): SimLink | undefined {
    return this.#links.get(key(a, b));
  }

  /** Eb/N0 of the link between `a` and `b` at the highest rate, now, dB. */
  snrDb(link: SimLink): number {
    const now = this.#s.now;
    const hour = new Date(this.#startEpochMs + now).getUTCHours();
    const evening = hour >= EVENING_FROM_H && hour < EVENING_TO_H ? this.profile.eveningNoiseDb : 0;
    return link.baseSnrDb + link.fadeAt(now) - evening - link.degradedDb;
  }

  /** Probability that `bytes` on the air at `rateBps` get through the link now (0 when it is cut or an end has no power). */
  successProbability(link: SimLink, bytes: number, rateBps: number): number {
    if (!link.up || !this.#nodes.get(link.a)!.on || !this.#nodes.get(link.b)!.on) return 0;
    const ebN0 = 10 ** ((this.snrDb(link) + 10 * Math.log10(this.profile.ratesBps[0]! / rateBps)) / 10);
    const ber = 0.5 * Math.exp(-ebN0 / 2);
    return (1 - ber) ** (8 * bytes);
  }

  /** Sends `bytes` along `path` (node ids, sender first) at `rateBps`; `done` runs when it arrived or a hop failed. */
  transfer(path: readonly number[], bytes: number, rateBps: number, done: (r: TransferResult) => void): void {
    const p = this.profile;
    const frames = Math.max(1, Math.ceil(bytes / p.framePayloadBytes));
    let hop = 0, frame = 0, tries = 0, triesHere = 0, framesSent = 0;
    const bitMs = 1000 / rateBps;
    const step = (): void => {
      if (hop === path.length - 1) return done({ ok: true, frames: framesSent, tries });
      const link = this.link(path[hop]!, path[hop + 1]!);
      const payload = frame < frames - 1 ? p.framePayloadBytes : bytes - (frames - 1) * p.framePayloadBytes;
      const frameBytes = p.frameOverheadBytes + payload;
      const durationMs = 2 * p.hopLatencyMs + this.#loss.next() * p.hopJitterMs + (frameBytes + p.ackBytes) * 8 * bitMs;
      tries++;
      triesHere++;
      this.counters.tries++;
      this.counters.airMs += (frameBytes + p.ackBytes) * 8 * bitMs;
      this.#s.after(durationMs, () => {
        const through = link !== undefined && this.#loss.next() < this.successProbability(link, frameBytes, rateBps) * this.successProbability(link, p.ackBytes, rateBps);
        if (through) {
          this.counters.frames++;
          framesSent++;
          triesHere = 0;
          if (++frame === frames) {
            frame = 0;
            hop++;
          }
          return step();
        }
        this.counters.lost++;
        if (triesHere < p.triesPerFrame) return step();
        this.counters.hopFailures++;
        done({ ok: false, hop, frames: framesSent, tries });
      });
    };
    step();
  }
}

function key(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
