/**
 * The parts of the HAL a host tool needs to run firmware code against a real device over the
 * network: Node's timers and clock, random bytes from the OS, AES-GCM in software, and a serial port
 * that is a TCP connection to an RS485-to-Ethernet converter (the converter drives the bus; its
 * direction line is its own).
 */
import { createHash, randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import nacl from "tweetnacl";
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { DigitalOutput, Level } from "../../hal/digital.js";
import type { SerialOptions, SerialPort, SerialPortProvider } from "../../hal/serial.js";
import { UART_FIFO_BYTES } from "../../hal/serial.js";
import { type CryptoService, type RandomSource, secretboxLengthsOk, SECRETBOX_TAG_BYTES } from "../../hal/system.js";
import { aesGcmOpenSync, aesGcmSealSync } from "../../hal/sim/aes-gcm.js";

export class NodeTimers implements MonotonicClock, Timers {
  readonly #start = performance.now();
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #next = 1;

  now(): number {
    return performance.now() - this.#start;
  }

  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId {
    const id = this.#next++;
    const fire = () => {
      if (repeatMs) this.#timers.set(id, setTimeout(fire, repeatMs));
      else this.#timers.delete(id);
      callback();
    };
    this.#timers.set(id, setTimeout(fire, Math.max(0, delayMs)));
    return id;
  }

  clear(id: TimerId): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }
}

export const nodeRandom: RandomSource = { fill: (bytes) => void randomFillSync(bytes) };

/** AES-GCM as hal/sim computes it, secretbox with tweetnacl; results in a later turn, as the contract says. */
export const nodeCrypto: CryptoService = {
  verifyEd25519: (m, s, k, cb) => setImmediate(() => cb(s.length === 64 && k.length === 32 && nacl.sign.detached.verify(m, s, k))),
  aesGcmSeal: (k, iv, aad, p, t, cb) => {
    const out = aesGcmSealSync(k, iv, aad, p, t);
    setImmediate(() => cb(out));
  },
  aesGcmOpen: (k, iv, aad, c, t, cb) => {
    const out = aesGcmOpenSync(k, iv, aad, c, t);
    setImmediate(() => cb(out));
  },
  secretboxSeal: (k, n, p, cb) => {
    const out = secretboxLengthsOk(k, n, p.length, 0) ? nacl.secretbox(p, n, k) : undefined;
    setImmediate(() => cb(out));
  },
  secretboxOpen: (k, n, b, cb) => {
    const out = secretboxLengthsOk(k, n, b.length, SECRETBOX_TAG_BYTES) ? (nacl.secretbox.open(b, n, k) ?? undefined) : undefined;
    setImmediate(() => cb(out));
  },
  sha256: () => {
    const h = createHash("sha256");
    return { update: (bytes) => void h.update(bytes), digest: () => new Uint8Array(h.digest()) };
  },
};

/** The direction line of a converter's bus: the converter switches it itself. */
export class ConverterDirection implements DigitalOutput {
  #level: Level = 0;
  write(value: Level): void {
    this.#level = value;
  }
  read(): Level {
    return this.#level;
  }
}

/** A serial port whose wire is a TCP connection: the baud rate is the converter's, the bytes are HDLC. */
export class TcpSerialProvider implements SerialPortProvider {
  readonly #socket: Socket;
  #port: { options: SerialOptions; rx: Uint8Array[] } | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (data) => {
      const p = this.#port;
      if (!p) return;
      p.rx.push(new Uint8Array(data));
      setImmediate(() => p.options.onReadable?.(data.length));
    });
  }

  open(options: SerialOptions): SerialPort {
    const p = { options, rx: [] as Uint8Array[] };
    this.#port = p;
    const socket = this.#socket;
    let closed = false;
    return {
      read: () => (closed ? undefined : p.rx.shift()),
      write: (bytes) => {
        if (closed) return false;
        socket.write(bytes);
        setImmediate(() => options.onWritable?.(UART_FIFO_BYTES));
        return true;
      },
      get writable() {
        return UART_FIFO_BYTES;
      },
      overruns: 0,
      close: () => {
        closed = true;
        if (this.#port === p) this.#port = undefined;
      },
    };
  }
}
