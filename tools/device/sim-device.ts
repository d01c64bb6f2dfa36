/**
 * A simulated concentrator on a real broker: the firmware's Uplink over node:net, in real time, with
 * an in-memory store fed by a synthetic load profile, counters in a state file, and command handlers
 * that keep latch states in memory. For trying the head-end and for end-to-end tests.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Reading } from "../../firmware/model/records.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import type { CommandHandlers, CounterStore } from "../../firmware/uplink/ports.js";
import { Uplink, type UplinkOptions } from "../../firmware/uplink/uplink.js";
import { readDeviceKeys } from "../headend/keyfiles.js";
import { HostWallClock, hostRandom, NodeConnector, RealTime } from "../net/node-stream.js";
import { MemoryCounters, MemoryQueue } from "../sim/memory-ports.js";

export interface SimDeviceOptions {
  /** The device key file (tools/keys.ts: mc-<id>.json). */
  keyFile: string;
  /** Broker URL, mqtt://host:port. */
  broker: string;
  /** Meters behind this concentrator. Default 10. */
  meters?: number;
  /** Real milliseconds per 15-minute interval of the synthetic load profile (0 = none). Default 1,000. */
  intervalMs?: number;
  /** Where the message counters persist (JSON); default: in memory only. */
  stateFile?: string;
  uplink?: Pick<UplinkOptions, "mqtt" | "drain" | "statusIntervalMs" | "topicPrefix">;
  log?: (line: string) => void;
}

/** Counters in a JSON file, replaced atomically (write, then rename). */
class FileCounters implements CounterStore {
  readonly #path: string;
  #v = { sendReserve: 0, lastAccepted: 0 };
  constructor(path: string) {
    this.#path = path;
    if (existsSync(path)) this.#v = { ...this.#v, ...(JSON.parse(readFileSync(path, "utf8")) as object) };
  }
  #save(): void {
    writeFileSync(`${this.#path}.tmp`, JSON.stringify(this.#v));
    renameSync(`${this.#path}.tmp`, this.#path);
  }
  loadSendReserve = () => this.#v.sendReserve;
  saveSendReserve = (v: number) => ((this.#v.sendReserve = v), this.#save());
  loadLastAccepted = () => this.#v.lastAccepted;
  saveLastAccepted = (v: number) => ((this.#v.lastAccepted = v), this.#save());
}

export class SimDevice {
  readonly queue = new MemoryQueue();
  readonly uplink: Uplink;
  readonly latches = new Map<number, "connected" | "disconnected" | "ready">();
  readonly #time = new RealTime();
  readonly #meters: number;
  #interval = 0;

  constructor(o: SimDeviceOptions) {
    const keys = readDeviceKeys(o.keyFile);
    const url = new URL(o.broker);
    if (url.protocol !== "mqtt:") throw new TypeError('"broker" must be an mqtt:// URL');
    this.#meters = o.meters ?? 10;
    const log = o.log ?? (() => {});
    const meter = (m: number) => Number.isInteger(m) && m >= 1 && m <= this.#meters;
    const handlers: CommandHandlers = {
      read: (meters, _registers, done) => {
        if (!meters.every(meter)) return done({ code: ResultCode.rejected, detail: "unknown meter" });
        done({ code: ResultCode.ok, readings: meters.map((m) => this.#reading(m, this.#interval)) });
      },
      disconnect: (m, done) => {
        if (!meter(m)) return done({ code: ResultCode.rejected, detail: "unknown meter" });
        this.latches.set(m, "disconnected");
        log(`latch ${m}: disconnected`);
        done({ code: ResultCode.ok });
      },
      reconnect: (m, done) => {
        if (!meter(m)) return done({ code: ResultCode.rejected, detail: "unknown meter" });
        this.latches.set(m, "ready");
        log(`latch ${m}: ready for reconnection`);
        done({ code: ResultCode.ok });
      },
      configure: (changes, commandId, done) => {
        log(`config (command ${commandId}): ${changes.map((c) => `${c.key}=${String(c.value)}`).join(", ")}`);
        done({ code: ResultCode.ok });
      },
      setTime: (epochMs, done) => {
        const wall = new HostWallClock();
        const offset = epochMs - wall.now();
        log(`time set, offset ${offset} ms`);
        done({ code: ResultCode.ok, detail: offset });
      },
    };
    this.uplink = new Uplink({
      concentratorId: keys.concentratorId,
      sharedKey: deriveSharedKey(keys.secretKey, keys.headendPublicKey),
      counters: o.stateFile ? new FileCounters(o.stateFile) : new MemoryCounters(),
      queue: this.queue,
      handlers,
      connector: new NodeConnector(),
      host: url.hostname,
      port: Number(url.port || 1883),
      clock: this.#time,
      timers: this.#time,
      wallClock: new HostWallClock(),
      random: hostRandom,
      ...o.uplink,
      mqtt: { keepAliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 5_000, ...o.uplink?.mqtt },
      drain: { readingsDelayMs: 1_000, ackTimeoutMs: 15_000, ...o.uplink?.drain },
    });
    const every = o.intervalMs ?? 1_000;
    if (every > 0) this.#time.set(() => this.addInterval(), every, every);
  }

  start(): void {
    this.uplink.start();
  }

  /** Adds one 15-minute interval of readings for every meter. */
  addInterval(): Reading[] {
    const out: Reading[] = [];
    for (let m = 1; m <= this.#meters; m++) {
      const r = this.#reading(m, this.#interval);
      this.queue.addReading(r);
      out.push(r);
    }
    this.#interval++;
    this.uplink.notify("reading");
    return out;
  }

  stop(): void {
    this.uplink.stop();
    this.#time.clearAll();
  }

  #reading(m: number, i: number): Reading {
    return { meter: m, register: 0x010800, time: 1_767_225_600 + i * 900, value: 1_000_000 * m + i * (150 + ((m * 31 + i * 7) % 300)), status: 0 };
  }
}
