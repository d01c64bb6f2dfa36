/**
 * Decodes a whole capture (a file of bytes seen on a line, possibly both directions) into frames: what
 * the d0-decode tool prints and what the corpus tests check. A readout frame joins an identification,
 * the ACK/option select that may follow it and the data block after them; every other message is a
 * frame of its own. The errors of a frame are those found while it was open or since the previous frame
 * ended; errors after the last message form a final "garbage" frame.
 */
import type { DataSet } from "./data-set.js";
import { D0Decoder, type BccStatus, type BlockEnd } from "./decoder.js";
import type { D0Error } from "./errors.js";
import type { ProtocolMode } from "./modes.js";

export type FrameKind = "readout" | "data" | "command" | "break" | "error-message" | "request" | "option-select" | "ack" | "nak" | "garbage";

export interface CaptureFrame {
  message: FrameKind;
  /** The identification text (after "/"), or null. */
  identification: string | null;
  mode: ProtocolMode | null;
  bcc: BccStatus;
  dataSets: DataSet[];
  errors: D0Error[];
  offset: number;
  /** How the data block ended (readout, data, command frames). */
  end?: BlockEnd;
  /** Request address; command ("W1"); ACK/option select ("050"); error-message text. */
  address?: string;
  command?: string;
  optionSelect?: string;
  text?: string;
}

export interface CaptureOptions {
  /** The bytes are 7E1 characters whose bit 7 marks a parity error (see hal/serial-7e1.ts decode7E1InPlace). Default false: 8-bit bytes are bad characters. */
  parityMarked?: boolean;
}

export function decodeCapture(bytes: Uint8Array, options: CaptureOptions = {}): CaptureFrame[] {
  const frames: CaptureFrame[] = [];
  let pendingErrors: D0Error[] = [];
  let pendingDataSets: DataSet[] = [];
  let open: CaptureFrame | undefined;

  const add = (message: FrameKind, offset: number, extra: Partial<CaptureFrame> = {}): CaptureFrame => {
    const f: CaptureFrame = { message, identification: null, mode: null, bcc: "absent", dataSets: [], errors: pendingErrors, offset, ...extra };
    pendingErrors = [];
    frames.push(f);
    return f;
  };

  const decoder = new D0Decoder({
    parityMarked: options.parityMarked ?? false,
    optionSelect: true,
    bareBlocks: true,
    onError: (e) => (open ? open.errors : pendingErrors).push(e),
    onDataSet: (d) => pendingDataSets.push(d),
    onMessage: (m) => {
      switch (m.type) {
        case "identification":
          open = add("readout", m.offset, { identification: m.identification.text, mode: m.identification.mode });
          return;
        case "option-select":
          if (open) open.optionSelect = m.protocol + m.baudChar + m.modeChar;
          else add("option-select", m.offset, { optionSelect: m.protocol + m.baudChar + m.modeChar });
          return;
        case "request":
          open = undefined;
          add("request", m.offset, { address: m.address });
          return;
        case "ack":
        case "nak":
          add(m.type, m.offset);
          return;
        case "error-message":
          open = undefined;
          pendingDataSets = [];
          add("error-message", m.offset, { text: m.text, bcc: m.bcc });
          return;
        case "block": {
          const dataSets = pendingDataSets;
          pendingDataSets = [];
          let f = open;
          open = undefined;
          if (f && m.command === undefined) {
            if (m.start === "mode-d") f.mode = "D";
          } else {
            const kind: FrameKind = m.command ? (m.command[0] === "B" ? "break" : "command") : m.readout ? "readout" : "data";
            f = add(kind, m.offset, m.command ? { command: m.command } : {});
          }
          f.bcc = m.bcc;
          f.dataSets = dataSets;
          f.end = m.end;
        }
      }
    },
  });
  decoder.push(bytes);
  decoder.end();
  if (pendingErrors.length) add("garbage", pendingErrors[0]!.offset);
  return frames;
}
