/**
 * Reads what the XS linker wrote: `mc.xs.c` (the preloaded image as C: heap, keys, module table,
 * built-in function table) and xsl's own summary line. Only the facts the device check reports or
 * checks are read; the format is xsl's (xs/tools/xsl.c and xslSlot.c of the SDK).
 */

export interface ImageScript {
  /** Module specifier. */
  name: string;
  /** Preloaded: xsl ran its body at build time, its objects are in the image (no bytecode kept). */
  preloaded: boolean;
  /** Bytes of bytecode kept for a module that is loaded at run time (0 when preloaded). */
  codeBytes: number;
  /** Has native (C) functions. */
  native: boolean;
}

export interface ImageFigures {
  /** Slots of the preloaded heap (mxHeapCount), in flash. */
  heapSlots: number;
  /** Aliasable closures and objects (mxAliasCount): one RAM pointer each in every XS machine. */
  aliases: number;
  /** Property keys (mxKeysCount). */
  keys: number;
  scripts: ImageScript[];
}

/** A built-in function of the image. A stripped one aborts the XS machine when it is called. */
export interface Builtin {
  /** Where it lives, e.g. "DataView.prototype.getInt16" ("?" for an owner the heap does not name). */
  path: string;
  /** Its property name, e.g. "getInt16". */
  name: string;
  /** Dead-stripped by the linker: its code is `fxDeadStrip`. */
  stripped: boolean;
}

function define(text: string, name: string): number {
  const m = new RegExp(`^#define ${name} (\\d+)$`, "m").exec(text);
  if (!m) throw new Error(`mc.xs.c: no #define ${name}`);
  return Number(m[1]);
}

export function imageFigures(mcXsC: string): ImageFigures {
  const scripts: ImageScript[] = [];
  const table = /static const txScript gxScripts\[mxScriptsCount\] = \{\n([\s\S]*?)\n\};/.exec(mcXsC);
  if (!table) throw new Error("mc.xs.c: no module table (gxScripts)");
  for (const m of table[1]!.matchAll(/\{ (xsHostModule\d+|NULL), NULL, 0, (?:\(txS1\*\)gxCode\d+|NULL), (\d+), NULL, 0, "([^"]*)"/g)) {
    const codeBytes = Number(m[2]);
    scripts.push({ name: m[3]!, preloaded: codeBytes === 0, codeBytes, native: m[1] !== "NULL" });
  }
  return { heapSlots: define(mcXsC, "mxHeapCount"), aliases: define(mcXsC, "mxAliasCount"), keys: define(mcXsC, "mxKeysCount"), scripts };
}

export interface LinkerSummary {
  instances: number;
  keys: number;
}

/** xsl's summary line: "### 3482 instances, 3784 keys, 67 colors, 0 holes". */
export function linkerSummary(log: string): LinkerSummary | undefined {
  const m = /^### (\d+) instances, (\d+) keys/m.exec(log);
  return m ? { instances: Number(m[1]), keys: Number(m[2]) } : undefined;
}

interface HeapSlot {
  next: number;
  id: string;
  kind: string;
  /** For a reference: the instance it points to; for an accessor: its getter and setter. */
  refs: number[];
  /** For a closure (a variable of a module or function scope): the slot holding its value. */
  closure?: number;
  builder?: number;
  callback?: string;
}

const SLOT = /^\/\* (\d+) \*\/\t\{ (?:NULL|\(txSlot\*\)&gxHeap\[(\d+)\]), \{\.ID = ([^,]+), \.flag = [^,]+, \.kind = (XS_\w+)\}, \.value = \{ (.*) \} ?\},?$/;

function parseHeap(mcXsC: string): HeapSlot[] {
  const start = mcXsC.indexOf("static const txSlot gxHeap[mxHeapCount] = {\n");
  const end = mcXsC.indexOf("\n};", start);
  if (start < 0 || end < 0) throw new Error("mc.xs.c: no heap (gxHeap)");
  const heap: HeapSlot[] = [];
  for (const line of mcXsC.slice(start, end).split("\n")) {
    const m = SLOT.exec(line);
    if (!m) continue;
    const value = m[5]!;
    const slot: HeapSlot = { next: m[2] ? Number(m[2]) : -1, id: m[3]!.replace(/^xsID_/, "").replace(/^(\d+) \/\* (.*) \*\/$/, "[$2]"), kind: m[4]!, refs: [] };
    if (slot.kind === "XS_REFERENCE_KIND" || slot.kind === "XS_ACCESSOR_KIND") for (const r of value.matchAll(/&gxHeap\[(\d+)\]/g)) slot.refs.push(Number(r[1]));
    if (slot.kind === "XS_CLOSURE_KIND") slot.closure = Number(/&gxHeap\[(\d+)\]/.exec(value)?.[1] ?? -1);
    const b = /&gxBuilders\[(\d+)\]/.exec(value);
    if (b) slot.builder = Number(b[1]);
    const c = /\.callback = \{ (\w+),/.exec(value);
    if (c) slot.callback = c[1];
    heap[Number(m[1])] = slot;
  }
  return heap;
}

/** The instance each slot belongs to: the head of its chain of properties. */
function owners(heap: HeapSlot[]): Map<number, number> {
  const owner = new Map<number, number>();
  heap.forEach((slot, i) => {
    if (slot?.kind !== "XS_INSTANCE_KIND") return;
    for (let p = slot.next; p >= 0 && !owner.has(p); p = heap[p]?.next ?? -1) owner.set(p, i);
  });
  return owner;
}

/** Built-in classes whose preloaded instances cannot be aliased: read-only on the device (XS linker warnings.md, "Exceptions"). */
export type ReadOnlyClass = "TypedArray" | "DataView" | "Map" | "Set" | "WeakMap" | "WeakSet" | "Date";
const INTERNAL: Array<[string, ReadOnlyClass]> = [
  ["XS_TYPED_ARRAY_KIND", "TypedArray"],
  ["XS_MAP_KIND", "Map"],
  ["XS_SET_KIND", "Set"],
  ["XS_WEAK_MAP_KIND", "WeakMap"],
  ["XS_WEAK_SET_KIND", "WeakSet"],
  ["XS_DATE_KIND", "Date"],
  ["XS_DATA_VIEW_KIND", "DataView"], // last: a typed array has one too
];

/** A variable that holds a preloaded instance of a read-only class. */
export interface ReadOnlyVariable {
  variable: string;
  class: ReadOnlyClass;
}

/** The variables (of any module or function scope of the image) that hold a preloaded read-only instance. */
export function readOnlyVariables(mcXsC: string): ReadOnlyVariable[] {
  const heap = parseHeap(mcXsC);
  const classOf = new Map<number, ReadOnlyClass>();
  const functions = new Set<number>(); // constructors such as Uint8Array carry a typed array's internal slot too
  owners(heap).forEach((instance, slot) => {
    const kind = heap[slot]!.kind;
    if (/^XS_(CALLBACK|CODE)(_X)?_KIND$/.test(kind)) functions.add(instance);
    const found = INTERNAL.find(([k]) => k === kind)?.[1];
    const known = classOf.get(instance);
    if (found && (!known || known === "DataView")) classOf.set(instance, found);
  });
  for (const f of functions) classOf.delete(f);
  const out = new Map<string, ReadOnlyVariable>();
  for (const slot of heap) {
    if (slot?.closure === undefined) continue;
    const value = heap[slot.closure];
    const cls = value?.kind === "XS_REFERENCE_KIND" ? classOf.get(value.refs[0]!) : undefined;
    if (cls) out.set(`${slot.id} ${cls}`, { variable: slot.id, class: cls });
  }
  return [...out.values()].sort((a, b) => a.variable.localeCompare(b.variable));
}

/**
 * Every built-in function of the image, named by the path from the global object through the image's
 * heap, and whether the linker stripped it (its entry in gxBuilders, or a built-in constructor's own
 * callback, is `fxDeadStrip`). Empty when nothing is stripped (xsl writes no builder table then).
 */
export function builtins(mcXsC: string): Builtin[] {
  const table = /static const xsHostBuilder gxBuilders\[\d+\] = \{\n([\s\S]*?)\n\};/.exec(mcXsC);
  if (!table) return [];
  const dead = table[1]!.split("\n").map((line) => line.includes("{ fxDeadStrip,"));
  const heap = parseHeap(mcXsC);
  const owner = owners(heap);
  // Names: breadth-first from the global objects (the instances that own "Math" and "Object").
  const name = new Map<number, string>();
  const queue: number[] = [];
  heap.forEach((slot, i) => {
    const o = owner.get(i);
    if (slot?.kind === "XS_REFERENCE_KIND" && (slot.id === "Math" || slot.id === "Object") && o !== undefined && !name.has(o)) {
      name.set(o, "");
      queue.push(o);
    }
  });
  while (queue.length) {
    const instance = queue.shift()!;
    for (let p = heap[instance]!.next; p >= 0 && heap[p]; p = heap[p]!.next) {
      const slot = heap[p]!;
      for (const target of slot.refs) {
        if (name.has(target) || heap[target]?.kind !== "XS_INSTANCE_KIND") continue;
        name.set(target, name.get(instance) ? `${name.get(instance)}.${slot.id}` : slot.id);
        queue.push(target);
      }
    }
  }
  const found = new Map<string, Builtin>();
  heap.forEach((slot, i) => {
    if (!slot) return;
    const o = owner.get(i);
    const where = o === undefined ? "?" : name.get(o) ?? "?";
    if (slot.builder !== undefined) {
      const path = where ? `${where}.${slot.id}` : slot.id;
      found.set(path, { path, name: slot.id, stripped: dead[slot.builder] === true });
    } else if (slot.callback && where !== "?" && where !== "" && /^XS_CALLBACK(_X)?_KIND$/.test(slot.kind)) {
      found.set(where, { path: where, name: where.slice(where.lastIndexOf(".") + 1), stripped: slot.callback === "fxDeadStrip" });
    }
  });
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}
