/**
 * xDLMS APDUs with logical name referencing (IEC 62056-5-3 §9): InitiateRequest/Response, GET (normal,
 * next data block, with-list), SET (normal), ACTION (normal), their responses, the exception response,
 * and the confirmed service error an AARE may carry. Encoding is A-XDR (axdr/codec.ts).
 */
import { ByteCursor, ByteSink, DecodeError, decodeData, encodeData } from "../axdr/codec.js";
import type { Data } from "../axdr/data.js";
import type { LogicalName } from "../cosem/obis.js";
import { frozen } from "../../model/frozen.js";

/** APDU tags (IEC 62056-5-3 §9.5, the xDLMS-APDU CHOICE). */
export const ApduTag = frozen({
  initiateRequest: 0x01,
  initiateResponse: 0x08,
  confirmedServiceError: 0x0e,
  gloInitiateRequest: 0x21,
  gloInitiateResponse: 0x28,
  getRequest: 0xc0,
  setRequest: 0xc1,
  actionRequest: 0xc3,
  getResponse: 0xc4,
  setResponse: 0xc5,
  actionResponse: 0xc7,
  gloGetRequest: 0xc8,
  gloSetRequest: 0xc9,
  gloActionRequest: 0xcb,
  gloGetResponse: 0xcc,
  gloSetResponse: 0xcd,
  gloActionResponse: 0xcf,
  exceptionResponse: 0xd8,
} as const);

/**
 * Conformance block bits (IEC 62056-5-3 §9.4.6.1), numbered from the most significant bit of the
 * 24-bit string: bit 0 is 1 << 23 here.
 */
export const Conformance = {
  generalProtection: 1 << 22,
  generalBlockTransfer: 1 << 21,
  attribute0WithSet: 1 << 15,
  priorityManagement: 1 << 14,
  attribute0WithGet: 1 << 13,
  blockTransferWithGet: 1 << 12,
  blockTransferWithSet: 1 << 11,
  blockTransferWithAction: 1 << 10,
  multipleReferences: 1 << 9,
  get: 1 << 4,
  set: 1 << 3,
  selectiveAccess: 1 << 2,
  eventNotification: 1 << 1,
  action: 1 << 0,
} as const;

/** What this client proposes: GET/SET/ACTION, selective access, multiple references, block transfer with GET. */
export const CLIENT_CONFORMANCE =
  Conformance.get | Conformance.set | Conformance.action | Conformance.selectiveAccess | Conformance.multipleReferences | Conformance.blockTransferWithGet;

/** DataAccessResult (IEC 62056-5-3 §9.5): why an attribute could not be read or written. */
export const DataAccessResult = {
  success: 0,
  hardwareFault: 1,
  temporaryFailure: 2,
  readWriteDenied: 3,
  objectUndefined: 4,
  objectClassInconsistent: 9,
  objectUnavailable: 11,
  typeUnmatched: 12,
  scopeOfAccessViolated: 13,
  dataBlockUnavailable: 14,
  longGetAborted: 15,
  noLongGetInProgress: 16,
  dataBlockNumberInvalid: 19,
  otherReason: 250,
} as const;

export interface InitiateRequest {
  dedicatedKey?: Uint8Array;
  conformance: number;
  maxReceivePduSize: number;
}

export interface InitiateResponse {
  conformance: number;
  maxReceivePduSize: number;
  /** The VAA name: 0x0007 for logical name referencing. */
  vaaName: number;
}

const DLMS_VERSION = 6;

function putConformance(out: ByteSink, bits: number): void {
  // [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)): tag 0x5F1F, length 4, no unused bits.
  out.u8(0x5f).u8(0x1f).u8(0x04).u8(0x00).uint(bits, 3);
}

function readConformance(c: ByteCursor): number {
  const at = c.pos;
  if (c.u8() !== 0x5f || c.u8() !== 0x1f || c.u8() !== 0x04) throw new DecodeError("tag", at);
  c.u8(); // unused bits
  return c.uint(3);
}

export function encodeInitiateRequest(r: InitiateRequest): Uint8Array {
  const out = new ByteSink().u8(ApduTag.initiateRequest);
  if (r.dedicatedKey) out.u8(1).len(r.dedicatedKey.length).bytes(r.dedicatedKey);
  else out.u8(0);
  // response-allowed (DEFAULT TRUE: left to the default) and proposed-quality-of-service (absent).
  out.u8(0).u8(0).u8(DLMS_VERSION);
  putConformance(out, r.conformance);
  return out.uint(r.maxReceivePduSize, 2).done();
}

export type InitiateAnswer = { ok: true; response: InitiateResponse } | { ok: false; error: ServiceError };

/** An InitiateResponse, or the confirmed service error a refusal carries. */
export function decodeInitiateAnswer(bytes: Uint8Array): InitiateAnswer {
  const c = new ByteCursor(bytes);
  const tag = c.u8();
  if (tag === ApduTag.confirmedServiceError) return { ok: false, error: readServiceError(c) };
  if (tag !== ApduTag.initiateResponse) throw new DecodeError("tag", 0);
  if (c.u8() !== 0) c.u8(); // negotiated-quality-of-service
  if (c.u8() !== DLMS_VERSION) return { ok: false, error: { service: "initiate", code: 1 } };
  const conformance = readConformance(c);
  const maxReceivePduSize = c.uint(2);
  const vaaName = c.uint(2);
  return { ok: true, response: { conformance, maxReceivePduSize, vaaName } };
}

export interface ServiceError {
  /** The ServiceError CHOICE: "initiate", "access", "service", … */
  readonly service: string;
  readonly code: number;
}

const SERVICE_ERRORS = frozen(["application-reference", "hardware-resource", "vde-state-error", "service", "definition", "access", "initiate", "load-data-set", "change-scope", "task", "other"]);

/** ConfirmedServiceError after its tag: the service that failed, then ServiceError (a CHOICE of enums). */
function readServiceError(c: ByteCursor): ServiceError {
  c.u8(); // which confirmed service (1 = initiateError)
  const choice = c.u8();
  return { service: SERVICE_ERRORS[choice] ?? `error-${choice}`, code: c.u8() };
}

// ---- requests ----

/** An attribute or method of an object: class id, logical name, index. */
export interface CosemRef {
  readonly classId: number;
  readonly ln: LogicalName;
  readonly index: number;
}

/** Selective access: a selector (1 by range, 2 by entry for profiles) and its parameters. */
export interface AccessSelection {
  readonly selector: number;
  readonly parameters: Data;
}

export interface AttributeRequest extends CosemRef {
  readonly access?: AccessSelection;
}

/** Invoke-id-and-priority: high priority, confirmed, the invoke id in the low nibble. */
function invokeByte(invokeId: number): number {
  return 0xc0 | (invokeId & 0x0f);
}

function putRef(out: ByteSink, r: CosemRef): void {
  out.uint(r.classId, 2).bytes(r.ln.subarray(0, 6)).u8(r.index & 0xff);
}

function putAccess(out: ByteSink, access: AccessSelection | undefined): void {
  if (!access) return void out.u8(0);
  out.u8(1).u8(access.selector);
  encodeData(access.parameters, out);
}

export function encodeGetNormal(invokeId: number, r: AttributeRequest): Uint8Array {
  const out = new ByteSink().u8(ApduTag.getRequest).u8(1).u8(invokeByte(invokeId));
  putRef(out, r);
  putAccess(out, r.access);
  return out.done();
}

export function encodeGetNext(invokeId: number, block: number): Uint8Array {
  return new ByteSink().u8(ApduTag.getRequest).u8(2).u8(invokeByte(invokeId)).uint(block, 4).done();
}

export function encodeGetWithList(invokeId: number, refs: readonly AttributeRequest[]): Uint8Array {
  const out = new ByteSink().u8(ApduTag.getRequest).u8(3).u8(invokeByte(invokeId)).len(refs.length);
  for (const r of refs) {
    putRef(out, r);
    putAccess(out, r.access);
  }
  return out.done();
}

export function encodeSetNormal(invokeId: number, r: CosemRef, value: Data): Uint8Array {
  const out = new ByteSink().u8(ApduTag.setRequest).u8(1).u8(invokeByte(invokeId));
  putRef(out, r);
  out.u8(0);
  return encodeData(value, out).done();
}

export function encodeActionNormal(invokeId: number, r: CosemRef, parameter?: Data): Uint8Array {
  const out = new ByteSink().u8(ApduTag.actionRequest).u8(1).u8(invokeByte(invokeId));
  putRef(out, r);
  if (!parameter) return out.u8(0).done();
  out.u8(1);
  return encodeData(parameter, out).done();
}

// ---- responses ----

/** A Get-Data-Result: the value, or why there is none. */
export type GetResult = { readonly ok: true; readonly data: Data } | { readonly ok: false; readonly result: number };

export type Response =
  | { readonly kind: "get"; readonly invokeId: number; readonly results: GetResult[] }
  /** One block of a long answer (GET with data blocks): its raw data, or the error that ended it. */
  | { readonly kind: "get-block"; readonly invokeId: number; readonly last: boolean; readonly block: number; readonly raw: Uint8Array | undefined; readonly result: number }
  | { readonly kind: "set"; readonly invokeId: number; readonly result: number }
  | { readonly kind: "action"; readonly invokeId: number; readonly result: number; readonly data: GetResult | undefined }
  | { readonly kind: "exception"; readonly stateError: number; readonly serviceError: number };

function readGetResult(c: ByteCursor): GetResult {
  const choice = c.u8();
  if (choice === 0) return { ok: true, data: decodeData(c) };
  if (choice === 1) return { ok: false, result: c.u8() };
  throw new DecodeError("tag", c.pos - 1);
}

/** Decodes a plain (unciphered) response APDU. Throws DecodeError when malformed. */
export function decodeResponse(bytes: Uint8Array): Response {
  const c = new ByteCursor(bytes);
  const tag = c.u8();
  if (tag === ApduTag.exceptionResponse) return { kind: "exception", stateError: c.u8(), serviceError: c.u8() };
  const type = c.u8();
  const invokeId = c.u8() & 0x0f;
  let r: Response;
  if (tag === ApduTag.getResponse && type === 1) r = { kind: "get", invokeId, results: [readGetResult(c)] };
  else if (tag === ApduTag.getResponse && type === 2) {
    const last = c.u8() !== 0;
    const block = c.uint(4);
    const choice = c.u8();
    if (choice === 0) r = { kind: "get-block", invokeId, last, block, raw: c.take(c.length()), result: 0 };
    else if (choice === 1) r = { kind: "get-block", invokeId, last, block, raw: undefined, result: c.u8() };
    else throw new DecodeError("tag", c.pos - 1);
  } else if (tag === ApduTag.getResponse && type === 3) {
    const n = c.length();
    const results: GetResult[] = [];
    for (let i = 0; i < n; i++) results.push(readGetResult(c));
    r = { kind: "get", invokeId, results };
  } else if (tag === ApduTag.setResponse && type === 1) r = { kind: "set", invokeId, result: c.u8() };
  else if (tag === ApduTag.actionResponse && type === 1) {
    const result = c.u8();
    const data = c.u8() === 1 ? readGetResult(c) : undefined;
    r = { kind: "action", invokeId, result, data };
  } else throw new DecodeError("tag", 0);
  if (c.left) throw new DecodeError("trailing", c.pos);
  return r;
}

/** The Get-Data-Results of a with-list answer that came in data blocks (the blocks' raw data joined). */
export function decodeListResults(raw: Uint8Array): GetResult[] {
  const c = new ByteCursor(raw);
  const n = c.length();
  const results: GetResult[] = [];
  for (let i = 0; i < n; i++) results.push(readGetResult(c));
  if (c.left) throw new DecodeError("trailing", c.pos);
  return results;
}
