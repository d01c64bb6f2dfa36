/**
 * IEC 62056-21 protocol modes, baud-rate characters and timing (STD §6.1, §6.3.14 items 12-13,
 * §6.4, Annex A/E; facts in IEC 62056-21 §6.3, §6.4).
 *
 * The identification tells the sign-on mode: Z in A-I is mode B, Z in 0-9 is mode C (mode E when an
 * enhanced identification `\2` follows), any other printable Z is mode A. Mode D is told by the
 * framing that follows the identification (an empty line and data without STX), not by Z.
 */

export type ProtocolMode = "A" | "B" | "C" | "D" | "E";

/** Every mode but D signs on at 300 Bd (§6.3.14 item 13). */
export const INITIAL_BAUD = 300;
/** Mode D runs at a fixed 2400 Bd (§6.4.4). */
export const MODE_D_BAUD = 2400;

/** tr, the reaction time of a tariff device, lower limit (§6.4.1.5 etc.): 200 ms... */
export const TR_MIN_MS = 200;
/** ...or 20 ms when the 3rd manufacturer letter is lower case (§6.3.14 item 12). */
export const TR_MIN_FAST_MS = 20;
/** tr upper limit (§6.4.1.5). */
export const TR_MAX_MS = 1500;
/** ta: the longest gap allowed between two characters of one message, all modes (§6.4.1.5). */
export const TA_MAX_MS = 1500;
/** tt: how long a mode C meter waits for the ACK/option select before it falls back to a 300 Bd readout (§6.4.3.6): 1500 ms < tt ≤ 2200 ms. */
export const TT_MIN_MS = 1500;
export const TT_MAX_MS = 2200;
/** "If the tariff device does not respond within 1 500 ms of a command, there has been an error" (Annex A note 4). */
export const COMMAND_TIMEOUT_MS = 1500;
/** A meter returns to its initial state after 60-120 s without a valid message (Annex A note 1). */
export const INACTIVITY_MIN_MS = 60_000;
export const INACTIVITY_MAX_MS = 120_000;

/** Mode B baud characters A-F (§6.3.14 item 13); G, H, I are reserved. */
const MODE_B_BAUD: Record<string, number> = Object.freeze({ A: 600, B: 1200, C: 2400, D: 4800, E: 9600, F: 19200 });
/** Mode C and E baud characters 0-6 (§6.3.14 item 13); 7, 8, 9 are reserved. */
const MODE_C_BAUD = Object.freeze([300, 600, 1200, 2400, 4800, 9600, 19200] as const);

/** The sign-on mode a baud character (and enhanced identification) designates. */
export function signOnMode(baudChar: string, enhanced: string): "A" | "B" | "C" | "E" {
  if (baudChar >= "A" && baudChar <= "I") return "B";
  if (baudChar >= "0" && baudChar <= "9") return enhanced.includes("2") ? "E" : "C";
  return "A";
}

/** The baud rate a baud character proposes in `mode`, or undefined when the character is reserved. */
export function baudOf(mode: "A" | "B" | "C" | "E", baudChar: string): number | undefined {
  if (mode === "A") return INITIAL_BAUD;
  if (mode === "B") return MODE_B_BAUD[baudChar];
  const i = baudChar.charCodeAt(0) - 0x30;
  return i >= 0 && i < MODE_C_BAUD.length ? MODE_C_BAUD[i] : undefined;
}

/** The mode C/E baud character of `baud` ("0".."6"), or undefined when it has none. */
export function modeCBaudChar(baud: number): string | undefined {
  const i = MODE_C_BAUD.indexOf(baud as (typeof MODE_C_BAUD)[number]);
  return i < 0 ? undefined : String.fromCharCode(0x30 + i);
}

/** tr lower limit for a manufacturer: 20 ms when its 3rd letter is lower case, else 200 ms (§6.3.14 item 12). */
export function reactionTimeMs(manufacturer: string): number {
  const c = manufacturer.charCodeAt(2);
  return c >= 0x61 && c <= 0x7a ? TR_MIN_FAST_MS : TR_MIN_MS;
}

/**
 * The mode C baud switch (§6.4.3): the meter changes to the rate of its identification's Z only when
 * the ACK/option select repeats that Z; with Z = "0", or any other Z in the ACK, both stay at 300 Bd.
 * Given the meter's Z and the highest rate the master can use, returns the Z to send and the rate
 * both sides use afterwards.
 */
export function negotiateModeC(meterBaudChar: string, maxBaud: number): { ackBaudChar: string; baud: number } {
  const proposed = baudOf("C", meterBaudChar);
  if (proposed !== undefined && proposed <= maxBaud) return { ackBaudChar: meterBaudChar, baud: proposed };
  return { ackBaudChar: "0", baud: INITIAL_BAUD };
}
