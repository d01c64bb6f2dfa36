/** The modem emulator and the networks behind it: pure ECMAScript, runs under Node and inside XS. */
import type { SimBoard } from "../board.js";
import type { LineNoiseRates } from "../line-noise.js";
import type { Prng } from "../prng.js";
import { SerialLink } from "../serial-link.js";
import type { Trace } from "../trace.js";
import type { SimModem } from "./sim-modem.js";

export { SimModem, parseCall, type Coverage, type SimCardState, type SimModemFamily, type SimModemOptions, type SimModemCounters } from "./sim-modem.js";
export { SimInternet, echoServer, type AirCounters, type RadioLinkOptions, type SimInternetOptions, type SimPeer } from "./sim-internet.js";
export { SimSmsc, SimPhone, type SimSmscOptions, type SmsTerminal, type SubmitResult } from "./sim-smsc.js";
export { decodeSubmit, encodeDeliver, encodeStatusReport, gsm7Septets, type SimIe, type SimSms } from "./sms-tpdu.js";
export type { NetCloseReason, NetConnection, NetHandlers, PacketNetwork } from "./packet-network.js";

/** Wires a modem to a board: the board's modem UART to the module's over a serial link, the board's
 * PWRKEY output to the module, and the module's supply to the board's. Returns the link (noise, trace). */
export function connectModem(board: SimBoard, modem: SimModem, prng: Prng, options: { noise?: LineNoiseRates; trace?: Trace } = {}): SerialLink {
  modem.attachPowerKey(board.modemPowerKey);
  modem.powerFrom(board.domain);
  return new SerialLink(board.scheduler, prng, board.modemUart, modem.uart, { name: `${board.name}<->${modem.name}`, ...options });
}
