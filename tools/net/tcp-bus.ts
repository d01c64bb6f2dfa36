/**
 * An RS485 bus over TCP, as an RS485-to-Ethernet converter in the field does it ("raw TCP" or "TCP
 * server" mode): a node on a simulated bus whose other side is a TCP connection.
 *
 * - `exposeBus` (the converter): a TCP server on a simulated bus. A client's bytes go onto the bus at
 *   the converter's fixed bit rate, one character after the other, with the driver enabled only while
 *   it sends (automatic direction control); every character on the bus goes to the client as it ends,
 *   noise, collisions and all (a character sent at another rate arrives as garbage, as at a real UART).
 *   One client at a time, as on a converter: a second connection is closed at once.
 * - `tunnelBus` (the concentrator's side, `npm run device --bus tcp://HOST:PORT`): the board's RS485
 *   port on a local segment whose only other node is such a TCP connection to a converter: what the
 *   converter's line carries arrives at the board's UART at the converter's rate.
 *
 * A converter has one rate (the bus's readout rate, 2400 Bd by default: docs/d0.md "Our RS485 bus"):
 * mode C sessions, which start at 300 Bd and switch, do not pass a fixed-rate converter (as in the
 * field); readouts do.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { characterTimeMs } from "../../hal/serial.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Prng } from "../../hal/sim/prng.js";
import type { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import type { Medium, Transceiver } from "../../hal/sim/uart.js";
import type { RealIo, RealTimeRunner } from "./realtime-runner.js";

/** The readout rate of our buses. */
export const CONVERTER_BAUD = 2400;
/** A receiver tolerates about ±3 % of rate error (hal/sim/uart.ts). */
const BAUD_TOLERANCE = 0.03;

/** The converter's serial side: a transceiver on the bus with automatic direction control. */
class ConverterNode implements Transceiver {
  readonly name: string;
  readonly de: SimDigitalOutput;
  readonly #scheduler: Scheduler;
  readonly #prng: Prng;
  readonly #baud: number;
  #medium: Medium | undefined;
  readonly #tx: number[] = [];
  #sending = false;
  /** Where the characters heard on the bus go. */
  sink: ((bytes: Uint8Array) => void) | undefined;
  readonly counters = { toBus: 0, fromBus: 0 };

  constructor(scheduler: Scheduler, prng: Prng, name: string, baud: number) {
    this.name = name;
    this.#scheduler = scheduler;
    this.#prng = prng;
    this.#baud = baud;
    const domain = new PowerDomain(scheduler, name);
    domain.powerOn();
    this.de = new SimDigitalOutput(domain);
  }

  attach(medium: Medium): void {
    this.#medium = medium;
  }

  receive(byte: number, senderBaud: number): void {
    if (this.#sending) return; // its receiver is off while its driver is on
    this.counters.fromBus++;
    const b = Math.abs(senderBaud - this.#baud) > this.#baud * BAUD_TOLERANCE ? this.#prng.int(256) : byte;
    this.sink?.(new Uint8Array([b]));
  }

  /** Queues bytes for the bus. */
  send(bytes: Uint8Array): void {
    for (const b of bytes) this.#tx.push(b);
    if (!this.#sending) this.#next();
  }

  #next(): void {
    const byte = this.#tx.shift();
    const ms = characterTimeMs(this.#baud);
    if (byte === undefined) {
      // The driver is released one character time after the last one, as converters do.
      this.#scheduler.after(ms, () => {
        if (this.#tx.length > 0) return this.#next();
        this.#sending = false;
        this.de.write(0);
      });
      return;
    }
    this.#sending = true;
    this.de.write(1);
    this.counters.toBus++;
    this.#medium?.transmit(this, byte, this.#baud, ms);
    this.#scheduler.after(ms, () => this.#next());
  }
}

/** A converter's TCP server on `bus`. Listening when the promise resolves; `close` stops it. */
export class BusConverter implements RealIo {
  readonly node: ConverterNode;
  readonly #runner: RealTimeRunner;
  readonly #server: Server;
  #client: Socket | undefined;

  constructor(runner: RealTimeRunner, bus: Rs485Bus, prng: Prng, options: { name?: string; baud?: number } = {}) {
    this.#runner = runner;
    this.node = new ConverterNode(runner.scheduler, prng.fork(options.name ?? "converter"), options.name ?? `${bus.name}.converter`, options.baud ?? CONVERTER_BAUD);
    bus.attach({ uart: this.node, de: this.node.de });
    this.node.sink = (bytes) => this.#client?.write(bytes);
    this.#server = createServer((socket) => this.#accept(socket));
    runner.watch(this);
  }

  /** A client is connected: virtual time is paced to real time. */
  get busy(): boolean {
    return this.#client !== undefined;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  close(): void {
    this.#client?.destroy();
    this.#server.close();
  }

  #accept(socket: Socket): void {
    if (this.#client) return void socket.destroy();
    this.#client = socket;
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => {
      const bytes = new Uint8Array(data);
      this.#runner.deliver(() => this.node.send(bytes));
    });
    const gone = () => {
      if (this.#client === socket) this.#client = undefined;
    };
    socket.on("close", gone);
    socket.on("error", gone);
  }
}

/**
 * Connects `bus` (the board's local segment) to a converter at `host:port`: characters the board
 * sends go to the converter, what the converter's line carries is sent onto the segment at `baud`.
 * Resolves once connected.
 */
export function tunnelBus(runner: RealTimeRunner, bus: Rs485Bus, prng: Prng, host: string, port: number, options: { baud?: number } = {}): Promise<BusTunnel> {
  const node = new ConverterNode(runner.scheduler, prng.fork(`tunnel-${host}-${port}`), `${bus.name}.tunnel`, options.baud ?? CONVERTER_BAUD);
  bus.attach({ uart: node, de: node.de });
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port }, () => {
      socket.off("error", reject);
      const tunnel = new BusTunnel(socket);
      runner.watch(tunnel);
      node.sink = (bytes) => socket.write(bytes);
      socket.on("data", (data: Buffer) => {
        const bytes = new Uint8Array(data);
        runner.deliver(() => node.send(bytes));
      });
      resolve(tunnel);
    });
    socket.setNoDelay(true);
    socket.once("error", reject);
  });
}

export class BusTunnel implements RealIo {
  readonly #socket: Socket;
  #open = true;
  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("close", () => (this.#open = false));
    socket.on("error", () => (this.#open = false));
  }
  get busy(): boolean {
    return this.#open;
  }
  get connected(): boolean {
    return this.#open;
  }
  close(): void {
    this.#socket.destroy();
  }
}
