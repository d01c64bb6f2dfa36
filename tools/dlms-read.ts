#!/usr/bin/env node
/**
 * Reads a DLMS/COSEM meter with this project's client (firmware/dlms, the code the concentrator runs)
 * through an RS485-to-Ethernet converter (HDLC over TCP: a real meter, or `npm run meter`), and prints
 * what it read.
 *
 *   npm run --silent dlms-read -- --tcp HOST:PORT [--client N --server N --password P | --keys FILE]
 *                                 [--obis CODE...] [--profile OBIS --from ISO --to ISO] [--json]
 *
 * Without --obis it reads the clock (0.0.1.0.0.255), the active import energy (1.0.1.8.0.255) and the
 * first load profile (1.0.99.1.0.255) over the last day. A code may name its class: "4:1.0.1.6.0.255"
 * (3 register, 4 extended, 5 demand register, 1 data, 8 clock, 70 disconnect control); without it the
 * class follows from the code. --server is the meter's physical HDLC address (default 17; --logical
 * for the upper address, default 1). Security: none (public client 16) by default; --password for
 * LLS (client 1); --keys FILE for HLS-GMAC (client 1): {"encryptionKey": hex, "authenticationKey":
 * hex, "systemTitle"?: hex}; the client's invocation counter then starts above the meter's frame
 * counter (0.0.43.1.0.255, read first with the public client).
 *
 * Exit status: 0 when every read succeeded, 1 when one failed, 2 for a usage error.
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { BusMaster } from "../firmware/bus/bus-master.js";
import type { FrameResult } from "../firmware/bus/types.js";
import { integerOf, itemsOf, Tag, textOf, type Data } from "../firmware/dlms/axdr/data.js";
import { ReadScript, SequenceScript, type MeterRead } from "../firmware/dlms/client/scripts.js";
import { DlmsSession } from "../firmware/dlms/client/session.js";
import { newSessionCounters, type Endpoint, type Request, type Result, type Script, type Security } from "../firmware/dlms/client/types.js";
import { Attr, ClassId, dateTimeOf, scaledValue, scalerUnitOf } from "../firmware/dlms/cosem/classes.js";
import { formatLogicalName, Obis, parseLogicalName, type LogicalName } from "../firmware/dlms/cosem/obis.js";
import { serverAddress } from "../firmware/dlms/hdlc/address.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { parseEndpoint } from "./meter.js";
import { ConverterDirection, nodeCrypto, NodeTimers, nodeRandom, TcpSerialProvider } from "./net/node-hal.js";

const DAY_S = 86_400;
const DEFAULT_OBIS = ["0.0.1.0.0.255", "1.0.1.8.0.255"];
const DEFAULT_PROFILE = "1.0.99.1.0.255";

interface ObjectSpec {
  text: string;
  classId: number;
  ln: LogicalName;
}

/** "CLASS:OBIS" or an OBIS code whose class follows from it. */
export function objectSpec(text: string): ObjectSpec | undefined {
  const m = /^(?:([0-9]{1,3}):)?(.+)$/.exec(text);
  const ln = m && parseLogicalName(m[2]!);
  if (!m || !ln) return undefined;
  const [a, , c, d] = ln;
  const guess = c === 1 && d === 0 && a === 0 ? ClassId.clock : c === 96 && d === 3 ? ClassId.disconnectControl : c === 99 || c === 98 ? ClassId.profileGeneric : a === 0 ? ClassId.data : ClassId.register;
  return { text, classId: m[1] ? Number(m[1]) : guess, ln };
}

/** The attributes read of each class: value (and scaler_unit, capture time) or the disconnect control's three. */
function refsOf(o: ObjectSpec) {
  const ref = (index: number) => ({ classId: o.classId, ln: o.ln, index });
  switch (o.classId) {
    case ClassId.register:
      return [ref(Attr.value), ref(Attr.scalerUnit)];
    case ClassId.extendedRegister:
      return [ref(Attr.value), ref(Attr.scalerUnit), ref(Attr.extendedCaptureTime)];
    case ClassId.demandRegister:
      return [ref(Attr.demandLastAverage), ref(Attr.demandScalerUnit), ref(Attr.demandCaptureTime)];
    case ClassId.disconnectControl:
      return [ref(Attr.outputState), ref(Attr.controlState), ref(Attr.controlMode)];
    default:
      return [ref(Attr.value)];
  }
}

/** JSON of a Data value: numbers, strings for 64-bit integers and octet strings (hex), arrays for lists. */
function json(d: Data | undefined): unknown {
  if (!d) return null;
  const items = itemsOf(d);
  if (items) return items.map(json);
  if (d.tag === Tag.visibleString) return textOf(d);
  if ("bytes" in d) return Array.from(d.bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  if ("value" in d) return typeof d.value === "bigint" ? d.value.toString() : d.value;
  return null;
}

/** What one object read gives, in JSON. */
function valueOf(o: ObjectSpec, results: readonly Result[] | undefined, at: number): Record<string, unknown> {
  const got = results?.[0];
  const r = got?.kind === "get" ? got.results.slice(at, at + refsOf(o).length) : [];
  const failed = r.find((x) => !x.ok);
  if (r.length === 0 || failed) return { obis: formatLogicalName(o.ln), class: o.classId, ok: false, error: failed && !failed.ok ? `data-access-result ${failed.result}` : "no answer" };
  const data = r.map((x) => (x.ok ? x.data : undefined));
  const base = { obis: formatLogicalName(o.ln), class: o.classId, ok: true };
  if (o.classId === ClassId.clock) return { ...base, time: isoOf(dateTimeOf(data[0])?.epochS), raw: json(data[0]) };
  if (o.classId === ClassId.register || o.classId === ClassId.extendedRegister || o.classId === ClassId.demandRegister) {
    const v = scaledValue(data[0], scalerUnitOf(data[1]));
    const captured = data[2] ? { captured: isoOf(dateTimeOf(data[2])?.epochS) } : {};
    return { ...base, value: v?.text ?? json(data[0]), unit: v?.unit ?? null, ...captured };
  }
  if (o.classId === ClassId.disconnectControl) return { ...base, outputState: json(data[0]), controlState: json(data[1]), controlMode: json(data[2]) };
  return { ...base, value: json(data[0]) };
}

function isoOf(s: number | undefined): string | null {
  return s === undefined ? null : new Date(s * 1000).toISOString();
}

/** The --obis values: every argument after it up to the next option, and repeated --obis too. */
function takeObis(argv: string[]): { obis: string[]; rest: string[] } {
  const obis: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "--obis") {
      rest.push(argv[i]!);
      continue;
    }
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) obis.push(argv[++i]!);
  }
  return { obis, rest };
}

function readKeys(file: string): { encryptionKey: Uint8Array; authenticationKey: Uint8Array; systemTitle: Uint8Array; client?: number } {
  const k = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const bytes = (v: unknown, n: number, name: string) => {
    if (typeof v !== "string" || !new RegExp(`^[0-9a-fA-F]{${2 * n}}$`).test(v)) throw new UsageError(`--keys: "${name}" must be ${n} bytes of hex`);
    return Uint8Array.from(v.match(/../g)!, (h) => parseInt(h, 16));
  };
  return {
    encryptionKey: bytes(k.encryptionKey, 16, "encryptionKey"),
    authenticationKey: bytes(k.authenticationKey, 16, "authenticationKey"),
    systemTitle: k.systemTitle === undefined ? Uint8Array.of(0x4e, 0x52, 0x47, 0x74, 0x6f, 0x6f, 0x6c, 0x31) : bytes(k.systemTitle, 8, "systemTitle"),
    ...(typeof k.client === "number" ? { client: k.client } : {}),
  };
}

async function main(): Promise<number> {
  const { obis, rest } = takeObis(process.argv.slice(2));
  const o = parseOptions(rest, { tcp: "string", client: "number", server: "number", logical: "number", password: "string", keys: "string", profile: "string", from: "string", to: "string", json: "boolean" });
  const { host, port } = parseEndpoint(o.tcp, "--tcp");
  if (o.password !== undefined && o.keys !== undefined) throw new UsageError("--password or --keys, not both");
  const objects = (obis.length ? obis : DEFAULT_OBIS).map((t) => objectSpec(t) ?? badObis(t));
  const profileText = o.profile ?? (obis.length ? undefined : DEFAULT_PROFILE);
  const profile = profileText === undefined ? undefined : (parseLogicalName(profileText) ?? badObis(profileText));
  const nowS = Math.floor(Date.now() / 1000);
  const toS = o.to ? isoSeconds(o.to, "--to") : nowS;
  const fromS = o.from ? isoSeconds(o.from, "--from") : toS - DAY_S;
  const keys = o.keys ? readKeys(o.keys) : undefined;
  const security: Security = keys ? { level: "hls", keys, clientSystemTitle: keys.systemTitle } : o.password !== undefined ? { level: "lls", password: Uint8Array.from(o.password, (c) => c.charCodeAt(0) & 0xff) } : { level: "none" };
  const endpoint: Endpoint = { server: serverAddress(o.logical ?? 1, o.server ?? 17), clientSap: o.client ?? keys?.client ?? (security.level === "none" ? 16 : 1), baud: 9600, security };

  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const timers = new NodeTimers();
  const bus = new BusMaster({ port: { serial: new TcpSerialProvider(socket), direction: new ConverterDirection() }, clock: timers, timers });
  const stats = newSessionCounters();
  const counters = { client: 1, server: 0, next: () => counters.client++, acceptServer: (ic: number) => (ic > counters.server ? ((counters.server = ic), true) : false) };
  const session = <T>(e: Endpoint, script: () => Script<T>) =>
    new Promise<FrameResult<T>>((resolve) =>
      bus.enqueueExchange<T>({ kind: "exchange", address: "meter", timing: { firstCharTimeoutMs: 3000, interCharTimeoutMs: 500, retries: 1 }, create: (p) => new DlmsSession(p, e, { crypto: nodeCrypto, random: nodeRandom, counters, stats }, script), onDone: resolve }),
    );

  const out: Record<string, unknown> = { meter: `${host}:${port}`, server: { logical: endpoint.server.logical, physical: endpoint.server.physical }, client: endpoint.clientSap, security: security.level };
  let ok = true;
  if (security.level === "hls") {
    // The meter's frame counter first (public client): our counter continues above it.
    const fc = await session({ ...endpoint, clientSap: 16, security: { level: "none" } }, () => new SequenceScript([{ kind: "get", refs: [{ classId: ClassId.data, ln: Obis.invocationCounter, index: Attr.value }] }]));
    const got = fc.ok ? fc.value[0] : undefined;
    const seen = got?.kind === "get" && got.results[0]?.ok ? integerOf(got.results[0].data) : undefined;
    if (seen !== undefined) counters.client = seen + 1;
    out.frameCounter = seen ?? null;
  }
  const list: Request = { kind: "get", refs: objects.flatMap(refsOf) };
  const reads = await session(endpoint, () => new SequenceScript([list]));
  let at = 0;
  out.objects = objects.map((x) => {
    const v = valueOf(x, reads.ok ? reads.value : undefined, at);
    at += refsOf(x).length;
    if (!v.ok) ok = false;
    return v;
  });
  if (!reads.ok) {
    ok = false;
    out.error = `${reads.failure.code}${reads.failure.detail ? `: ${reads.failure.detail}` : ""}`;
  }
  if (profile && reads.ok) {
    const p = await session(endpoint, () => new ReadScript({ identity: false, registers: [], ranges: [{ ln: profile, fromS, toS, deviation: 0 }] }));
    out.profile = profileJson(profile, fromS, toS, p);
    if (!p.ok || p.value.profiles.length === 0) ok = false;
  }
  out.bytes = { sent: stats.bytesSent, received: stats.bytesReceived };
  out.ok = ok;
  socket.destroy();
  bus.close();
  console.log(o.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
  return ok ? 0 : 1;
}

function profileJson(ln: LogicalName, fromS: number, toS: number, p: FrameResult<MeterRead>): Record<string, unknown> {
  const base = { obis: formatLogicalName(ln), from: isoOf(fromS), to: isoOf(toS) };
  if (!p.ok) return { ...base, ok: false, error: `${p.failure.code}${p.failure.detail ? `: ${p.failure.detail}` : ""}` };
  const r = p.value.profiles[0];
  if (!r) return { ...base, ok: false, error: `refused (${[...p.value.refused.values()].join(", ")})` };
  const columns = r.columns.map((c) => `${c.classId}:${formatLogicalName(c.ln)}:${c.attribute}`);
  const rows = r.rows.map((row) => ({
    time: isoOf(row.timeS),
    values: row.values.map((v, i) => {
      if (r.columns[i]!.classId === ClassId.clock) return isoOf(dateTimeOf(v)?.epochS) ?? json(v);
      const s = scaledValue(v, r.scalers[i]);
      return s ? `${s.text}${s.unit ? ` ${s.unit}` : ""}` : json(v);
    }),
  }));
  return { ...base, ok: true, columns, entries: rows.length, rows };
}

function isoSeconds(text: string, what: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${what}: an ISO 8601 time`);
  return Math.floor(ms / 1000);
}

function badObis(text: string): never {
  throw new UsageError(`"${text}" is not an OBIS code (A.B.C.D.E.F, optionally CLASS:)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(`dlms-read: ${(e as Error).message}`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    },
  );
}
