/**
 * A concentrator board with a modem emulator on its modem UART, a simulated internet (an echo server
 * at echo.test:7) and an SMS centre with the head-end's SMS gateway, and the firmware's Modem started
 * at every boot. Shared by the mocha tests, the XS scenarios and the benchmarks: pure ECMAScript.
 */
import type { Timers } from "../../hal/clock.js";
import type { ModemPort } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import type { SerialLink } from "../../hal/sim/serial-link.js";
import type { LineNoiseRates } from "../../hal/sim/line-noise.js";
import { connectModem, echoServer, SimInternet, SimModem, SimSmsc, type PacketNetwork, type SimModemFamily, type SimModemOptions, type SimPhone, type SimSms } from "../../hal/sim/modem/index.js";
import { confirmIfAsked } from "./sim-headend.js";
import { Modem, type ModemOptions, type ModemStatus } from "../../firmware/modem/modem.js";
import type { ByteStreamCloseReason } from "../../firmware/net/byte-stream.js";
import type { IncomingSms, SmsState } from "../../firmware/modem/sms/channel.js";

export const APN = "m2m.test";
export const ECHO_HOST = "echo.test";
export const ECHO_PORT = 7;
/** The head-end's SMS gateway (whitelisted) and a number that is not. */
export const HEADEND_NUMBER = "+40700000900";
export const STRANGER_NUMBER = "+40799999999";
export const CONCENTRATOR_NUMBER = "+40700000001";

export interface RigOptions {
  family: SimModemFamily;
  seed: string;
  /** Emulator settings over the defaults. */
  modem?: Partial<Omit<SimModemOptions, "family" | "network" | "smsc">>;
  /** Firmware settings over the defaults (port, timers, clock and random come from the board). */
  firmware?: Partial<Omit<ModemOptions, "port" | "timers" | "clock" | "random" | "family">>;
  /** Noise on the UART link. */
  noise?: LineNoiseRates;
  /** Replaces the simulated internet (the Node runner passes real sockets here). */
  network?: PacketNetwork;
  /** Switch the module on before the board boots (default: the firmware must press the key). */
  modemOn?: boolean;
  /** Whether the board wires the modem's RTS/CTS (default true, as our PCB). */
  flowControl?: boolean;
  /**
   * Every modem `onReadable` reaches the firmware this many ms late, as when each one waits behind a
   * long turn of the event loop (the FIFO fills meanwhile). Default 0.
   */
  lateReadMs?: number;
  scheduler?: Scheduler;
}

export interface Rig {
  readonly scheduler: Scheduler;
  readonly board: SimBoard;
  readonly modem: SimModem;
  readonly internet: SimInternet;
  readonly smsc: SimSmsc;
  readonly headend: SimPhone;
  readonly link: SerialLink;
  /** The firmware's modem of the current boot. */
  readonly fw: Modem;
  readonly statuses: ModemStatus[];
  /** Every state change of an outgoing SMS, in order. */
  readonly smsStates: Array<{ id: number; state: SmsState }>;
  /** Messages handed to the application (each is confirmed at once, as a processing owner would). */
  readonly incoming: IncomingSms[];
  /** Runs the simulation until `done()` holds (checked before every turn) or `limitMs` pass; true if it held. */
  until(done: () => boolean, limitMs: number): boolean;
}

/** `port` whose `onReadable` callbacks each run `lateMs` late (one pending at a time, as the device posts them). */
function lateReader(port: ModemPort, timers: Timers, lateMs: number): ModemPort {
  return {
    ...port,
    serial: {
      open(options) {
        const onReadable = options.onReadable;
        if (!onReadable) return port.serial.open(options);
        let posted = false;
        return port.serial.open({
          ...options,
          onReadable: (count) => {
            if (posted) return;
            posted = true;
            timers.set(() => {
              posted = false;
              onReadable(count);
            }, lateMs);
          },
        });
      },
    },
  };
}

export function modemRig(o: RigOptions): Rig {
  const s = o.scheduler ?? new Scheduler();
  const prng = new Prng(o.seed);
  const board = new SimBoard(s, prng, { logBytes: 64 * 1024, stateBytes: 64 * 1024, modemFlowControl: o.flowControl ?? true });
  const internet = new SimInternet(s);
  internet.listen(ECHO_HOST, ECHO_PORT, echoServer);
  const smsc = new SimSmsc(s);
  const headend = smsc.phone(HEADEND_NUMBER);
  const modem = new SimModem(s, prng.fork("modem"), {
    family: o.family,
    network: o.network ?? internet,
    smsc,
    apn: APN,
    number: CONCENTRATOR_NUMBER,
    ...o.modem,
  });
  const link = connectModem(board, modem, prng.fork("link"), { noise: o.noise });
  const statuses: ModemStatus[] = [];
  const smsStates: Array<{ id: number; state: SmsState }> = [];
  const incoming: IncomingSms[] = [];
  let fw: Modem | undefined;
  board.onBoot((hal) => {
    fw = new Modem({
      port: o.lateReadMs ? lateReader(hal.modem, hal.timers, o.lateReadMs) : hal.modem,
      timers: hal.timers,
      clock: hal.clock,
      random: hal.random,
      family: o.family,
      apn: APN,
      sms: {
        whitelist: [HEADEND_NUMBER],
        onState: (m) => smsStates.push({ id: m.id, state: m.state }),
        onMessage: (m) => {
          incoming.push(m);
          fw!.sms.confirm(m);
        },
      },
      onStatus: (st) => statuses.push(st),
      ...o.firmware,
    });
    fw.start();
  });
  if (o.modemOn) {
    board.domain.powerOn();
    modem.switchOn();
  } else board.powerOn();
  return {
    scheduler: s,
    board,
    modem,
    internet,
    smsc,
    headend,
    link,
    get fw() {
      return fw!;
    },
    statuses,
    smsStates,
    incoming,
    until: (done, limitMs) => s.runUntilTrue(done, limitMs),
  };
}

/** A TCP client of the firmware's modem that sends `payload` to the echo server and collects the echo. */
export interface EchoClient {
  readonly received: number[];
  readonly connected: boolean;
  /** The close reason, once closed. */
  readonly closed: ByteStreamCloseReason | undefined;
  /** True when everything sent has come back. */
  readonly complete: boolean;
  close(): void;
}

export function echoClient(rig: Rig, payload: Uint8Array, to: { host?: string; port?: number; chunkBytes?: number } = {}): EchoClient {
  const chunkBytes = to.chunkBytes ?? 600;
  const received: number[] = [];
  let connected = false;
  let closed: ByteStreamCloseReason | undefined;
  let sent = 0;
  const pump = () => {
    while (sent < payload.length) {
      const n = Math.min(chunkBytes, payload.length - sent);
      if (!stream.write(payload.subarray(sent, sent + n))) return;
      sent += n;
    }
  };
  const stream = rig.fw.tcp.connect(to.host ?? ECHO_HOST, to.port ?? ECHO_PORT, {
    onConnect: () => {
      connected = true;
      pump();
    },
    onData: (bytes) => {
      for (let i = 0; i < bytes.length; i++) received.push(bytes[i]!);
    },
    onWritable: pump,
    onClose: (reason) => {
      closed = reason;
    },
  });
  return {
    received,
    get connected() {
      return connected;
    },
    get closed() {
      return closed;
    },
    get complete() {
      return received.length >= payload.length;
    },
    close: () => stream.close(),
  };
}

/** A payload whose every byte depends on its position (an echo that reorders or drops shows). */
export function pattern(length: number, salt = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + salt + (i >> 8)) & 0xff;
  return out;
}

/** The head-end's SMS gateway confirms every message that asks for it, as its application would. */
export function autoConfirm(phone: SimPhone): void {
  phone.onMessage = (sms: SimSms, p: SimPhone) => confirmIfAsked(p, sms);
}
