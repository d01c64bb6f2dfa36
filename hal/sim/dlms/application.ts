/**
 * The application layer of a simulated DLMS meter (IEC 62056-5-3 server side): associations for the
 * public client (no security, read-only: it reads everything, writes and acts on nothing), and the management client with LLS (password) or HLS-GMAC
 * with security suite 0 (AES-GCM-128, the meter's own system title and invocation counter, the
 * client's counter checked against the last one it used); GET (normal, with-list, answers longer than
 * the client's PDU in data blocks), SET and ACTION on the object model; and the faults a test sets.
 *
 * A ciphered request that does not authenticate, or whose invocation counter is not above the last one
 * accepted, is discarded without an answer (the client sees a time-out). A wrong password or key in the
 * AARQ gets an AARE "rejected, authentication failure" and a failed-login event.
 */
import { aesGcmOpenSync, aesGcmSealSync } from "../aes-gcm.js";
import type { Prng } from "../prng.js";
import { AxdrReader, ber, berTlvs, axdrEncode, x, type X } from "./codec.js";
import { DAR, MeterEvent, readAccess, type MeterObjects } from "./cosem.js";

export type Mechanism = "none" | "lls" | "hls";

export interface ClientPolicy {
  sap: number;
  mechanism: Mechanism;
  /** LLS password. */
  password?: string;
}

export interface MeterKeys {
  encryptionKey: Uint8Array;
  authenticationKey: Uint8Array;
}

/** Faults a test injects; each is taken once unless said otherwise. */
export interface ApplicationFaults {
  /** Drop the association (the link answers DM) after this many data blocks of one answer. */
  dropAfterBlocks?: number;
  /** Answer with an invocation counter already used (stays until cleared). */
  replayCounter?: boolean;
}

const OID = [0x60, 0x85, 0x74, 0x05, 0x08];
/** Conformance this meter supports: GET, SET, ACTION, selective access, multiple references, block transfer with GET. */
const CONFORMANCE = 0x00101f | (1 << 12) | (1 << 9);
const TAG = 12;

interface Association {
  sap: number;
  mechanism: Mechanism;
  /** HLS pass 4 done (or no HLS). */
  ready: boolean;
  clientTitle: Uint8Array;
  ctos: Uint8Array;
  stoc: Uint8Array;
  pdu: number;
  /** A long answer being sent in blocks. */
  blocks: { invoke: number; raw: number[]; next: number; size: number } | undefined;
}

export interface ApplicationOptions {
  objects: MeterObjects;
  clients: ClientPolicy[];
  systemTitle: Uint8Array;
  keys?: MeterKeys;
  prng: Prng;
  /** Largest APDU this meter builds. Default 1024. */
  maxPdu?: number;
}

export class DlmsServerApplication {
  readonly o: ApplicationOptions;
  faults: ApplicationFaults = {};
  /** The meter's own invocation counter (flash). */
  serverIc = 1000;
  /** The last invocation counter accepted from the management client (flash; 0.0.43.1.0.255). */
  lastClientIc = 0;
  #a: Association | undefined;
  readonly counters = { associations: 0, refused: 0, discarded: 0, requests: 0, blocks: 0 };

  constructor(o: ApplicationOptions) {
    this.o = o;
  }

  get associated(): boolean {
    return this.#a !== undefined;
  }

  release(): void {
    this.#a = undefined;
  }

  policy(sap: number): ClientPolicy | undefined {
    return this.o.clients.find((c) => c.sap === sap);
  }

  /** An APDU from client `sap`: the answer, nothing (discarded), or "drop" (the meter drops the association). */
  handle(sap: number, apdu: number[]): number[] | "drop" | undefined {
    try {
      if (apdu[0] === 0x60) return this.#aarq(sap, apdu);
      const a = this.#a;
      if (!a || a.sap !== sap) return [0xd8, 1, 2]; // exception: service not allowed (no association)
      if (a.mechanism !== "hls") return this.#service(a, apdu);
      const plain = this.#open(a, apdu);
      if (!plain) {
        this.counters.discarded++;
        return undefined;
      }
      if (!a.ready) return this.#hlsPass3(a, plain);
      const answer = this.#service(a, plain);
      return Array.isArray(answer) ? this.#seal(answer) : answer;
    } catch {
      return [0xd8, 1, 1]; // exception: service error (the request could not be decoded)
    }
  }

  // ---- association ----

  #aarq(sap: number, apdu: number[]): number[] {
    const policy = this.policy(sap);
    const outer = berTlvs(apdu);
    const t = berTlvs(outer.get(0x60) ?? []);
    const context = (t.get(0xa1) ?? [])[8];
    const mechanism = (t.get(0x8b) ?? [])[6] ?? 0;
    const title = Uint8Array.from((t.get(0xa6) ?? []).slice(2));
    const auth = (t.get(0xac) ?? []).slice(2);
    const info = (t.get(0xbe) ?? []).slice(2);
    this.#a = undefined;
    const reject = (diag: number) => {
      this.counters.refused++;
      if (diag === 13) this.o.objects.logEvent(MeterEvent.failedLogin);
      return this.#aare(1, diag, context ?? 1);
    };
    if (!policy) return reject(1);
    const wanted = { none: [1, 0], lls: [1, 1], hls: [3, 5] }[policy.mechanism];
    if (context !== wanted[0]) return this.#aare(1, 2, context ?? 1);
    if (mechanism !== wanted[1]) return reject(mechanism ? 11 : 12);
    if (policy.mechanism === "lls" && String.fromCharCode(...auth) !== policy.password) return reject(13);
    let initiate = info;
    if (policy.mechanism === "hls") {
      if (title.length !== 8 || auth.length < 8) return reject(13);
      const plain = this.#openWith(title, info);
      if (!plain) return reject(13);
      initiate = plain;
    }
    // InitiateRequest: tag 01, dedicated key (00 or 01 len key), response-allowed, QoS, version, conformance, PDU.
    const r = new AxdrReader(initiate);
    if (r.u8() !== 0x01) return reject(1);
    if (r.u8()) r.bytes(r.len());
    if (r.u8()) r.u8();
    if (r.u8()) r.u8();
    if (r.u8() !== 6) return this.#aareError(context ?? 1);
    r.bytes(4);
    const conformance = r.uint(3);
    const pdu = r.uint(2);
    this.counters.associations++;
    const a: Association = { sap, mechanism: policy.mechanism, ready: policy.mechanism !== "hls", clientTitle: title, ctos: Uint8Array.from(auth), stoc: new Uint8Array(16), pdu: Math.min(pdu || 0xffff, this.o.maxPdu ?? 1024), blocks: undefined };
    this.#a = a;
    const response = [0x08, 0x00, 0x06, 0x5f, 0x1f, 0x04, 0x00, ...u(CONFORMANCE & conformance, 3), ...u(this.o.maxPdu ?? 1024, 2), 0x00, 0x07];
    if (policy.mechanism !== "hls") return this.#aare(0, 0, context!, response);
    this.o.prng.fill(a.stoc);
    return this.#aare(0, 14, context!, this.#seal(response), a.stoc);
  }

  #aare(result: number, diag: number, context: number, info?: number[], stoc?: Uint8Array): number[] {
    const body = [...ber(0xa1, ber(0x06, [...OID, 1, context])), ...ber(0xa2, ber(0x02, [result])), ...ber(0xa3, ber(0xa1, ber(0x02, [diag])))];
    if (stoc) body.push(...ber(0xa4, ber(0x04, [...this.o.systemTitle])), ...ber(0x88, [0x07, 0x80]), ...ber(0x89, [...OID, 2, 5]), ...ber(0xaa, ber(0x80, [...stoc])));
    body.push(...ber(0xbe, ber(0x04, info ?? [0x0e, 0x01, 0x06, 0x01])));
    return ber(0x61, body);
  }

  /** AARE refusing a wrong DLMS version: a confirmed service error in the user information. */
  #aareError(context: number): number[] {
    this.counters.refused++;
    return this.#aare(1, 1, context, [0x0e, 0x01, 0x06, 0x01]);
  }

  /** HLS pass 3 (the client's f(StoC)) and pass 4 (our f(CtoS)). */
  #hlsPass3(a: Association, plain: number[]): number[] | undefined {
    const r = new AxdrReader(plain);
    const ok = r.u8() === 0xc3 && r.u8() === 1;
    const invoke = r.u8();
    const classId = r.uint(2);
    const name = Array.from(r.bytes(6)).join(".");
    const method = r.u8();
    const param = r.u8() ? r.data() : undefined;
    const f = param?.v instanceof Uint8Array ? param.v : undefined;
    if (!ok || classId !== 15 || name !== "0.0.40.0.0.255" || method !== 1 || !f || f.length !== 17 || f[0] !== 0x10) return this.#seal([0xc7, 0x01, invoke, DAR.readWriteDenied, 0x00]);
    const ic = (f[1]! << 24 >>> 0) + (f[2]! << 16) + (f[3]! << 8) + f[4]!;
    const expected = this.#gmac(a.clientTitle, ic, a.stoc);
    if (!expected || !same(expected, f.subarray(5))) {
      this.o.objects.logEvent(MeterEvent.failedLogin);
      this.#a = undefined;
      return this.#seal([0xc7, 0x01, invoke, DAR.readWriteDenied, 0x00]);
    }
    a.ready = true;
    const sic = this.#nextServerIc();
    const mine = this.#gmac(this.o.systemTitle, sic, a.ctos)!;
    return this.#seal([0xc7, 0x01, invoke, 0x00, 0x01, 0x00, ...axdrEncode(x.oct([0x10, ...u(sic, 4), ...mine]))]);
  }

  // ---- services ----

  #service(a: Association, apdu: number[]): number[] | "drop" | undefined {
    this.counters.requests++;
    const r = new AxdrReader(apdu);
    const tag = r.u8();
    const type = r.u8();
    const invoke = r.u8();
    if (tag === 0xc0 && type === 2) return this.#nextBlock(a, invoke, r.uint(4));
    a.blocks = undefined;
    if (tag === 0xc0 && (type === 1 || type === 3)) {
      const count = type === 1 ? 1 : r.len();
      const results: number[][] = [];
      for (let k = 0; k < count; k++) {
        const classId = r.uint(2);
        const name = r.bytes(6);
        const attr = r.u8();
        const access = readAccess(r);
        results.push(this.#getResult(classId, name, attr, access));
      }
      const body = type === 1 ? results[0]! : [...len(count), ...results.flat()];
      const whole = [0xc4, type, invoke, ...body];
      if (whole.length <= a.pdu - 30) return whole;
      // Too long for the client: data blocks of the raw answer (the Data, or the list of results).
      const raw = type === 1 ? body.slice(1) : body;
      if (type === 1 && body[0] !== 0) return whole;
      a.blocks = { invoke, raw, next: 1, size: a.pdu - 40 };
      return this.#nextBlock(a, invoke, 0);
    }
    if (tag === 0xc1 && type === 1) {
      const classId = r.uint(2);
      const name = r.bytes(6);
      const attr = r.u8();
      r.u8();
      const value = r.data();
      const result = a.sap === 16 ? DAR.readWriteDenied : this.o.objects.set(classId, name, attr, value);
      return [0xc5, 0x01, invoke, result];
    }
    if (tag === 0xc3 && type === 1) {
      const classId = r.uint(2);
      const name = r.bytes(6);
      const method = r.u8();
      if (r.u8()) r.data();
      const result = a.sap === 16 ? DAR.readWriteDenied : this.o.objects.action(classId, name, method);
      return [0xc7, 0x01, invoke, result, 0x00];
    }
    return [0xd8, 1, 2];
  }

  #getResult(classId: number, name: Uint8Array, attr: number, access: { selector: number; parameters: X } | undefined): number[] {
    const v = this.o.objects.get(classId, name, attr, access);
    return typeof v === "number" ? [0x01, v] : [0x00, ...axdrEncode(v)];
  }

  #nextBlock(a: Association, invoke: number, acknowledged: number): number[] | "drop" | undefined {
    const b = a.blocks;
    if (!b || acknowledged !== b.next - 1) return [0xc4, 0x02, invoke, 0x01, ...u(acknowledged + 1, 4), 0x01, 19];
    const drop = this.faults.dropAfterBlocks;
    if (drop !== undefined && b.next > drop) {
      this.faults.dropAfterBlocks = undefined;
      this.#a = undefined;
      return "drop";
    }
    const from = (b.next - 1) * b.size;
    const chunk = b.raw.slice(from, from + b.size);
    const last = from + b.size >= b.raw.length;
    const out = [0xc4, 0x02, invoke, last ? 1 : 0, ...u(b.next, 4), 0x00, ...len(chunk.length), ...chunk];
    b.next++;
    this.counters.blocks++;
    if (last) a.blocks = undefined;
    return out;
  }

  // ---- ciphering (suite 0) ----

  #nextServerIc(): number {
    if (this.faults.replayCounter) return this.serverIc; // the same counter again: a replay to the client
    return ++this.serverIc;
  }

  #seal(plain: number[]): number[] {
    const keys = this.o.keys!;
    const ic = this.#nextServerIc();
    const aad = Uint8Array.from([0x30, ...keys.authenticationKey]);
    const sealed = aesGcmSealSync(keys.encryptionKey, Uint8Array.from([...this.o.systemTitle, ...u(ic, 4)]), aad, Uint8Array.from(plain), TAG)!;
    const glo = { 0x08: 0x28, 0xc4: 0xcc, 0xc5: 0xcd, 0xc7: 0xcf }[plain[0]!] ?? 0xcc;
    return [glo, ...len(5 + sealed.length), 0x30, ...u(ic, 4), ...sealed];
  }

  #open(a: Association, apdu: number[]): number[] | undefined {
    return this.#openWith(a.clientTitle, apdu);
  }

  /** A ciphered request from `title`: the plain APDU when it authenticates and its counter is fresh. */
  #openWith(title: Uint8Array, apdu: number[]): number[] | undefined {
    const keys = this.o.keys;
    if (!keys || ![0x21, 0xc8, 0xc9, 0xcb].includes(apdu[0]!)) return undefined;
    const r = new AxdrReader(apdu, 1);
    const n = r.len();
    if (n !== apdu.length - r.i || n < 5 + TAG) return undefined;
    const sc = r.u8();
    const ic = r.uint(4);
    if (sc !== 0x30) return undefined;
    const plain = aesGcmOpenSync(keys.encryptionKey, Uint8Array.from([...title, ...u(ic, 4)]), Uint8Array.from([0x30, ...keys.authenticationKey]), Uint8Array.from(apdu.slice(r.i)), TAG);
    if (!plain || ic <= this.lastClientIc) return undefined;
    this.lastClientIc = ic;
    return Array.from(plain);
  }

  #gmac(title: Uint8Array, ic: number, challenge: Uint8Array): Uint8Array | undefined {
    const keys = this.o.keys!;
    return aesGcmSealSync(keys.encryptionKey, Uint8Array.from([...title, ...u(ic, 4)]), Uint8Array.from([0x10, ...keys.authenticationKey, ...challenge]), new Uint8Array(0), TAG);
  }
}

function u(v: number, n: number): number[] {
  const out: number[] = [];
  for (let k = n - 1; k >= 0; k--) out.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
  return out;
}

function len(n: number): number[] {
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
