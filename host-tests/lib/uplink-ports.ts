/**
 * Command handlers that record their calls, for tests and scenarios; the in-memory queue and counters
 * live in tools/device/memory-ports.ts. Pure ECMAScript (XS too).
 */
import type { ConfigChange } from "../../firmware/uplink/messages.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import type { CommandHandlers, CommandOutcome } from "../../firmware/uplink/ports.js";
import type { MemoryCounters } from "../../tools/device/memory-ports.js";

export { MemoryCounters, MemoryQueue } from "../../tools/device/memory-ports.js";

export type HandlerCall =
  | { op: "read"; meters: readonly number[]; registers: readonly number[]; persistedCounter: number }
  | { op: "disconnect" | "reconnect"; meter: number; persistedCounter: number }
  | { op: "configure"; changes: readonly ConfigChange[]; commandId: number; persistedCounter: number }
  | { op: "time"; epochMs: number; persistedCounter: number };

/**
 * Handlers that record each call (with the receive counter persisted at that moment) and answer at
 * once: meters above `meterCount` are rejected, reads return one reading per meter.
 */
export class RecordingHandlers implements CommandHandlers {
  readonly calls: HandlerCall[] = [];
  constructor(
    readonly counters: MemoryCounters,
    readonly meterCount = 100,
  ) {}
  #known(meter: number): boolean {
    return meter >= 1 && meter <= this.meterCount;
  }
  read(meters: readonly number[], registers: readonly number[], done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "read", meters, registers, persistedCounter: this.counters.lastAccepted });
    if (!meters.every((m) => this.#known(m))) return done({ code: ResultCode.rejected, detail: "unknown meter" });
    done({ code: ResultCode.ok, readings: meters.map((m) => ({ meter: m, register: 0x010800, time: 1_767_225_600, value: m * 1000, status: 0 })) });
  }
  disconnect(meter: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "disconnect", meter, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
  reconnect(meter: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "reconnect", meter, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
  configure(changes: readonly ConfigChange[], commandId: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "configure", changes, commandId, persistedCounter: this.counters.lastAccepted });
    done({ code: ResultCode.ok });
  }
  setTime(epochMs: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "time", epochMs, persistedCounter: this.counters.lastAccepted });
    done({ code: ResultCode.ok, detail: 0 });
  }
}
