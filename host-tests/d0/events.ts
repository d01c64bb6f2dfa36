/** Test helper: runs the D0 decoder over bytes and records every event in order, as plain data. */
import { D0Decoder, type D0DecoderOptions, type D0Message } from "../../firmware/d0/decoder.js";
import type { D0Error } from "../../firmware/d0/errors.js";

export type Event =
  | { kind: "message"; message: D0Message }
  | { kind: "dataSet"; address: string; values: Array<{ value: string; unit?: string }>; offset: number }
  | { kind: "error"; error: D0Error };

export type DecodeOptions = Omit<D0DecoderOptions, "onMessage" | "onDataSet" | "onError">;

/** Decodes `chunks` pushed one after the other, then `end()`. */
export function decodeEvents(chunks: Uint8Array[], options: DecodeOptions = {}): Event[] {
  const events: Event[] = [];
  const d = new D0Decoder({
    ...options,
    onMessage: (message) => events.push({ kind: "message", message }),
    onDataSet: (ds) => events.push({ kind: "dataSet", address: ds.address, values: ds.values.map((v) => v.toJSON()), offset: ds.offset }),
    onError: (error) => events.push({ kind: "error", error }),
  });
  for (const c of chunks) d.push(c);
  d.end();
  return events;
}

export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

export function messages(events: Event[]): D0Message[] {
  return events.flatMap((e) => (e.kind === "message" ? [e.message] : []));
}

export function errors(events: Event[]): Array<{ code: string; offset: number }> {
  return events.flatMap((e) => (e.kind === "error" ? [{ code: e.error.code, offset: e.error.offset }] : []));
}

export function dataSets(events: Event[]) {
  return events.flatMap((e) => (e.kind === "dataSet" ? [{ address: e.address, values: e.values }] : []));
}
