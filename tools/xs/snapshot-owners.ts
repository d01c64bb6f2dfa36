#!/usr/bin/env node
/**
 * Who holds the Arrays of an XS machine, read from its snapshot (the format: snapshot-chunks.ts): every
 * Array's chunk (its elements, 16 B each on the device) is put under its holder, named by the path
 * that reaches it, e.g. `Array <- SlotTable <- LatchStore <- Object.persistence.#table.#free`: an
 * Array in the private field `#free` of a SlotTable, itself in `#table` of a LatchStore, in the
 * property `persistence` of a plain object; or `Array <- variable bytes of function next` for one a
 * closure keeps. Comparing a machine with its copy that freed the firmware (site-xs-run
 * `--snapshots DIR`) tells whose Arrays the firmware's chunk figure is made of.
 *
 *   node dist/tools/xs/snapshot-owners.js MACHINE.snap COPY.snap [--top N]
 *
 * How a holder is found, in the snapshot's slots (HEAP: a slot's `next` and references are slot
 * indexes, 1-based): an Array is an instance whose first property is the ARRAY slot that owns the
 * chunk; the first reference to that instance found is its holder: a property (the chain it is in
 * leads back to the instance that has it; a private field's chain starts at the PRIVATE slot of its
 * instance), an element of another Array, or a closure's variable (a CLOSURE slot of a function's
 * environment points at it; the function is the one whose CODE slot has that environment). A class is
 * named by its prototype's `constructor`'s `name`; a property by its key (KEYS: the key IDs' strings).
 * With several holders, the first reference in the heap's order names it: the same Array may be
 * named by another holder in another snapshot, so compare totals of a class and field, not one path.
 * Only the host's 64-bit layout (32-byte slots, 32-bit IDs) is read: what xsnap makes here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { atomOf, SnapshotFormatError, snapshotAtoms } from "./snapshot-chunks.js";

/** XS kinds (xsAll.h). */
const KIND = Object.freeze({ string: 5, reference: 10, closure: 11, instance: 13, array: 16, code: 19, private: 46 });
/** On the 32-bit device: an Array's chunk is a header and 16 B an element (snapshot-chunks.ts). */
const DEVICE = Object.freeze({ header: 8, slot: 16 });
const SLOT = 32, POINTER = 8;

export interface OwnerFigures {
  arrays: number;
  elements: number;
  /** Device layout. */
  deviceBytes: number;
}

/** Device bytes of every Array's chunk by the path of its holder (`depth` holders up). */
export function arrayOwners(snapshot: Uint8Array, depth = 3): Map<string, OwnerFigures> {
  const atoms = snapshotAtoms(snapshot);
  const atom = (name: string) => atomOf(atoms, name);
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  if (view.getInt8(atom("VERS").offset + 3) !== SLOT) throw new SnapshotFormatError("holders are read from a 64-bit host's snapshot only");
  const heap = atom("HEAP"), bloc = atom("BLOC"), keys = atom("KEYS");
  const n = heap.length / SLOT;
  const next = new Uint32Array(n + 1), kind = new Int8Array(n + 1), id = new Int32Array(n + 1), v0 = new Uint32Array(n + 1), v1 = new Uint32Array(n + 1);
  for (let k = 1; k <= n; k++) {
    const o = heap.offset + (k - 1) * SLOT;
    next[k] = view.getUint32(o, true);
    kind[k] = view.getInt8(o + POINTER);
    id[k] = view.getInt32(o + POINTER + 4, true);
    v0[k] = view.getUint32(o + 2 * POINTER, true);
    v1[k] = view.getUint32(o + 3 * POINTER, true);
  }
  const prev = new Uint32Array(n + 1);
  for (let k = 1; k <= n; k++) {
    const t = next[k]!;
    if (t && t <= n) prev[t] = k;
  }
  const cString = (payload: number) => {
    const from = bloc.offset + payload;
    let to = from;
    while (to < bloc.offset + bloc.length && snapshot[to]) to++;
    return new TextDecoder().decode(snapshot.subarray(from, to));
  };
  const keyCount = keys.length / POINTER;
  const keyName = (i: number) => {
    const k = i > 0 && i < keyCount ? view.getUint32(keys.offset + i * POINTER, true) : 0;
    return k && k <= n && v0[k] ? cString(v0[k]!) : `#${i}`;
  };
  let constructorId = -1, nameId = -1;
  for (let i = 1; i < keyCount && (constructorId < 0 || nameId < 0); i++) {
    const name = keyName(i);
    if (name === "constructor") constructorId = i;
    else if (name === "name") nameId = i;
  }
  // A private field chain's first slot → its instance's PRIVATE slot; a closure's variable → its CLOSURE slot; an environment → its function's CODE slot.
  const privateOf = new Map<number, number>(), closureOf = new Map<number, number>(), codeOf = new Map<number, number>();
  for (let k = 1; k <= n; k++) {
    if (kind[k] === KIND.private && v1[k]) privateOf.set(v1[k]!, k);
    else if (kind[k] === KIND.closure && v0[k] && !closureOf.has(v0[k]!)) closureOf.set(v0[k]!, k);
    else if (kind[k] === KIND.code && v1[k] && !codeOf.has(v1[k]!)) codeOf.set(v1[k]!, k);
  }
  /** The instance whose property chain holds slot `k` (or the chain's first slot when it is no instance's). */
  const chainHead = (k: number) => {
    for (let steps = 0; steps < n; ) {
      while (prev[k] && steps++ < n) k = prev[k]!;
      const owner = privateOf.get(k);
      if (!owner) return k;
      k = owner;
    }
    return k;
  };
  const property = (instance: number, key: number, ofKind: number) => {
    for (let p = next[instance]!, steps = 0; p && steps < n; p = next[p]!, steps++) if (id[p] === key && kind[p] === ofKind) return p;
    return 0;
  };
  const named = (fn: number) => {
    const name = property(fn, nameId, KIND.string);
    return name ? cString(v0[name]!) : undefined;
  };
  const classNames = new Map<number, string>();
  const className = (instance: number) => {
    const proto = v1[instance]!;
    if (!proto) return "(no prototype)";
    let name = classNames.get(proto);
    if (name === undefined) {
      const ctor = property(proto, constructorId, KIND.reference);
      name = (ctor && named(v0[ctor]!)) || "(anonymous class)";
      classNames.set(proto, name);
    }
    return name;
  };
  const arrays: Array<{ instance: number; payload: number; elements: number }> = [];
  for (let k = 1; k <= n; k++) {
    if (kind[k] !== KIND.array || !v0[k]) continue;
    const size = view.getUint32(bloc.offset + v0[k]! - 2 * POINTER, true) & 0x7fffffff;
    arrays.push({ instance: prev[k] ? chainHead(k) : 0, payload: v0[k]!, elements: (size - 2 * POINTER) / SLOT });
  }
  // The first reference to each instance: a slot of the heap, or an element of an Array.
  const holder = new Map<number, { slot: number } | { inArrayOf: number }>();
  for (let k = 1; k <= n; k++) if (kind[k] === KIND.reference && v0[k] && !holder.has(v0[k]!)) holder.set(v0[k]!, { slot: k });
  for (const a of arrays) {
    for (let e = 0; e < a.elements; e++) {
      const o = bloc.offset + a.payload + e * SLOT;
      const target = view.getUint32(o + 2 * POINTER, true);
      if (view.getInt8(o + POINTER) === KIND.reference && !holder.has(target)) holder.set(target, { inArrayOf: a.instance });
    }
  }
  const path = (instance: number, up: number): string => {
    if (!instance || kind[instance] !== KIND.instance) return "(not an instance)";
    const cls = className(instance);
    if (up === 0) return cls;
    const h = holder.get(instance);
    if (!h) return `${cls} <- (no reference)`;
    if ("inArrayOf" in h) return `${cls} <- [] of ${path(h.inArrayOf, up - 1)}`;
    const head = chainHead(h.slot);
    if (kind[head] === KIND.instance) return `${cls} <- ${path(head, up - 1)}.${keyName(id[h.slot]!)}`;
    const closure = closureOf.get(head);
    if (closure) {
      const code = codeOf.get(chainHead(closure));
      return `${cls} <- variable ${keyName(id[closure]!)} of function ${code ? (named(chainHead(code)) ?? "(anonymous)") : "(unknown)"}`;
    }
    return `${cls} <- (slot ${keyName(id[h.slot]!)} outside an instance)`;
  };
  const owners = new Map<string, OwnerFigures>();
  for (const a of arrays) {
    const key = path(a.instance, depth);
    const f = owners.get(key) ?? { arrays: 0, elements: 0, deviceBytes: 0 };
    f.arrays++, (f.elements += a.elements), (f.deviceBytes += DEVICE.header + DEVICE.slot * a.elements);
    owners.set(key, f);
  }
  return owners;
}

export interface OwnerDifference {
  owner: string;
  /** The machine's device bytes less the copy's. */
  deviceBytes: number;
  machine: OwnerFigures;
  copy: OwnerFigures;
}

/** Per holder, the machine's Arrays less its copy's, the largest differences (either sign) first. */
export function ownersDifference(machine: Map<string, OwnerFigures>, copy: Map<string, OwnerFigures>): OwnerDifference[] {
  const none: OwnerFigures = { arrays: 0, elements: 0, deviceBytes: 0 };
  return [...new Set([...machine.keys(), ...copy.keys()])]
    .map((owner) => {
      const m = machine.get(owner) ?? none, c = copy.get(owner) ?? none;
      return { owner, deviceBytes: m.deviceBytes - c.deviceBytes, machine: m, copy: c };
    })
    .filter((d) => d.deviceBytes !== 0)
    .sort((a, b) => Math.abs(b.deviceBytes) - Math.abs(a.deviceBytes) || a.owner.localeCompare(b.owner));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [machineFile, copyFile] = process.argv.slice(2);
  const top = process.argv.includes("--top") ? Number(process.argv[process.argv.indexOf("--top") + 1]) : 40;
  if (!machineFile || !copyFile) {
    console.error("usage: snapshot-owners MACHINE.snap COPY.snap [--top N]");
    process.exit(2);
  }
  const rows = ownersDifference(arrayOwners(readFileSync(machineFile)), arrayOwners(readFileSync(copyFile)));
  console.log(`Arrays, machine less copy (device bytes): ${rows.reduce((s, r) => s + r.deviceBytes, 0)}`);
  for (const r of rows.slice(0, top)) console.log(`${String(r.deviceBytes).padStart(8)}  ${`${r.machine.arrays}/${r.machine.elements}`.padStart(10)}  ${`${r.copy.arrays}/${r.copy.elements}`.padStart(10)}  ${r.owner}`);
}
