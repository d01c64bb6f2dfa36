/**
 * The live chunk bytes of an XS machine, read from its snapshot (xsnap's `makeSnapshotStream`):
 * xsnap's meter counts slots, not chunks, but a snapshot holds exactly the machine's live chunks.
 *
 * The format (Moddable's xs/sources/xsSnapshot.c, fxWriteSnapshot): an "XS_M" atom whose payload is
 * a sequence of atoms, each a 4-byte big-endian size (the 8-byte header included) and a 4-byte tag
 * (XS_M's own size leaves out CREA's last 8 bytes, its profile ID and tag: the atoms are read to the
 * snapshot's end):
 * VERS (major, minor, patch, then sizeof(txSlot) as a signed byte, negative on a big-endian host),
 * SIGN, CREA, BLOC, HEAP, STAC, KEYS, NAME, SYMB. Written after a garbage collection, BLOC is every
 * live chunk once, back to back, each its txChunk header (size in the first 4 bytes, little-endian
 * here, then a pointer) and its payload: its size is the machine's chunk bytes, which the reading
 * side takes as `currentChunksSize`. HEAP and STAC are the slots (sizeof(txSlot) each); a slot's kind
 * is the signed byte after its `next` pointer and its value starts at the next 8-byte boundary; a
 * slot that owns a chunk holds, in place of the chunk's address, the offset of the chunk's payload in
 * BLOC (fxProjectChunk).
 *
 * The device is 32-bit: what the host's 64-bit layout makes larger is corrected in `deviceBytes`:
 * - every chunk's header: 16 B on the host, 8 B on the device;
 * - Arrays (and arguments, generator stacks): their elements are slots stored in the chunk, 32 B each
 *   on the host, 16 B on the device (found by the slots of those kinds, in HEAP, STAC and inside the
 *   arrays' own chunks);
 * - Map, Set and global tables: pointers, 8 B on the host, 4 B on the device;
 * - byte code: xsnap runs the bundle as a script, and XS copies a function's byte code into a chunk of
 *   its own for every function (closure, method) it creates from a script (xsRun.c, XS_CODE_CODE_*);
 *   the device's firmware is preloaded, and its functions point at their byte code in flash
 *   (XS_CODE_CODE_ARCHIVE_*, XS_CODE_X_KIND): no chunk. Code chunks (found by the XS_CODE_KIND slots)
 *   are left out of `deviceBytes` and counted apart (`codeBytes`, the host's);
 * - every other chunk (strings, ArrayBuffers' bytes, BigInts, regexps, host data) is bytes, the same
 *   on both, but the host rounds a chunk to 8 B where the device rounds to 4 B: kept as the host's.
 * So `deviceBytes` is an upper bound: by at most 4 B per byte chunk, and by the string literals the
 *   firmware keeps (a copy in a chunk here, like byte code; in flash on the device, XS_STRING_X_KIND),
 *   which a snapshot cannot tell from strings made at run time.
 */

/** XS kinds (xsAll.h) whose value owns a chunk of slots. */
const ARRAY_KINDS: ReadonlySet<number> = new Set([14, 15, 16, 47]); // XS_ARGUMENTS_SLOPPY_KIND, XS_ARGUMENTS_STRICT_KIND, XS_ARRAY_KIND, XS_STACK_KIND
/** XS kinds whose value owns a chunk of slot pointers. */
const TABLE_KINDS: ReadonlySet<number> = new Set([25, 27, 33]); // XS_GLOBAL_KIND, XS_MAP_KIND, XS_SET_KIND
/** XS_CODE_KIND (xsAll.h): a function's byte code, in a chunk. */
const CODE_KIND = 19;
/** XS kinds whose value's first field is a chunk of bytes, by what the breakdown calls them: XS_STRING_KIND and XS_KEY_KIND, XS_ARRAY_BUFFER_KIND. */
export const BYTES_KINDS: ReadonlyMap<number, "strings" | "arrayBuffers"> = new Map([[5, "strings"], [43, "strings"], [17, "arrayBuffers"]]);
/** On the 32-bit device: a chunk's header, a slot, a pointer (bytes). */
const DEVICE = Object.freeze({ header: 8, slot: 16, pointer: 4 });

export interface ChunkFigures {
  /** BLOC's size: the machine's live chunk bytes on this host. */
  hostBytes: number;
  /** The same chunks laid out on the 32-bit device, but the byte code (an upper bound, see the module's comment). */
  deviceBytes: number;
  /** Of `hostBytes`, the byte code's chunks (in flash on the device). */
  codeBytes: number;
  /** `deviceBytes` by what the chunks hold: Arrays' elements, Map/Set tables, strings (and keys), ArrayBuffers' bytes, the rest (BigInts, regexps, host data). */
  deviceByKind: Record<ChunkKind, number>;
  /** Live chunks. */
  chunks: number;
  /** sizeof(txSlot) on this host. */
  slotSize: number;
}

export type ChunkKind = "arrays" | "tables" | "strings" | "arrayBuffers" | "other";

export class SnapshotFormatError extends Error {
  override name = "SnapshotFormatError";
}

/** The atoms of a snapshot, by tag: where each payload starts and its length. */
export function snapshotAtoms(snapshot: Uint8Array): Map<string, { offset: number; length: number }> {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const tag = (at: number) => String.fromCharCode(...snapshot.subarray(at + 4, at + 8));
  if (snapshot.byteLength < 8 || tag(0) !== "XS_M") throw new SnapshotFormatError("not an XS snapshot (no XS_M atom)");
  const end = snapshot.byteLength;
  const atoms = new Map<string, { offset: number; length: number }>();
  for (let at = 8; at < end; ) {
    if (end - at < 8) throw new SnapshotFormatError(`${end - at} B after the last atom`);
    const size = view.getUint32(at);
    if (size < 8 || at + size > end) throw new SnapshotFormatError(`atom at ${at}: size ${size} outside the snapshot`);
    atoms.set(tag(at), { offset: at + 8, length: size - 8 });
    at += size;
  }
  return atoms;
}

/** The atom `name` of a snapshot's atoms; a SnapshotFormatError when it has none. */
export function atomOf(atoms: ReadonlyMap<string, { offset: number; length: number }>, name: string): { offset: number; length: number } {
  const a = atoms.get(name);
  if (!a) throw new SnapshotFormatError(`no ${name} atom`);
  return a;
}

/** The machine's live chunk bytes from its snapshot, on this host and on the device. */
export function chunkFigures(snapshot: Uint8Array): ChunkFigures {
  const atoms = snapshotAtoms(snapshot);
  const atom = (name: string) => atomOf(atoms, name);
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const vers = atom("VERS");
  if (vers.length < 4) throw new SnapshotFormatError(`VERS atom of ${vers.length} B`);
  const slotSize = view.getInt8(vers.offset + 3);
  if (slotSize !== 16 && slotSize !== 32) throw new SnapshotFormatError(`slots of ${slotSize} B (a big-endian host's, or not XS's)`);
  const pointer = slotSize === 32 ? 8 : 4;
  const header = 2 * pointer;
  const bloc = atom("BLOC");
  // The chunks, back to back: payload offset (what slots hold) → the chunk's size.
  const sizes = new Map<number, number>();
  for (let at = 0; at < bloc.length; ) {
    if (bloc.length - at < header) throw new SnapshotFormatError(`${bloc.length - at} B after BLOC's last chunk`);
    const size = view.getUint32(bloc.offset + at, true) & 0x7fffffff;
    if (size < header || at + size > bloc.length) throw new SnapshotFormatError(`chunk at ${at}: size ${size} outside BLOC`);
    sizes.set(at + header, size);
    at += size;
  }
  const arrays = new Set<number>(), tables = new Set<number>(), code = new Set<number>();
  const bytesKinds = new Map<number, ChunkKind>();
  const pending: Array<{ offset: number; length: number }> = [atom("HEAP"), atom("STAC")];
  for (let region = pending.pop(); region; region = pending.pop()) {
    for (let s = region.offset; s + slotSize <= region.offset + region.length; s += slotSize) {
      const kind = view.getInt8(s + pointer);
      const bytesKind = BYTES_KINDS.get(kind);
      if (!ARRAY_KINDS.has(kind) && !TABLE_KINDS.has(kind) && kind !== CODE_KIND && !bytesKind) continue;
      const payload = view.getUint32(s + 2 * pointer, true); // the low half: BLOC is under 4 GiB
      if (!payload) continue;
      if (bytesKind) {
        if (sizes.has(payload)) bytesKinds.set(payload, bytesKind);
        continue;
      }
      const size = sizes.get(payload);
      if (size === undefined) throw new SnapshotFormatError(`a slot of kind ${kind} points at ${payload}, not a chunk of BLOC`);
      if (kind === CODE_KIND) code.add(payload);
      else if (TABLE_KINDS.has(kind)) tables.add(payload);
      else if (!arrays.has(payload)) arrays.add(payload), pending.push({ offset: bloc.offset + payload, length: size - header });
    }
  }
  let deviceBytes = 0, codeBytes = 0;
  const deviceByKind: Record<ChunkKind, number> = { arrays: 0, tables: 0, strings: 0, arrayBuffers: 0, other: 0 };
  for (const [payload, size] of sizes) {
    const bytes = size - header;
    if (code.has(payload)) {
      codeBytes += size;
      continue;
    }
    const kind: ChunkKind = arrays.has(payload) ? "arrays" : tables.has(payload) ? "tables" : (bytesKinds.get(payload) ?? "other");
    const device = DEVICE.header + (kind === "arrays" ? (bytes / slotSize) * DEVICE.slot : kind === "tables" ? (bytes / pointer) * DEVICE.pointer : bytes);
    deviceBytes += device;
    deviceByKind[kind] += device;
  }
  return { hostBytes: bloc.length, deviceBytes, codeBytes, deviceByKind, chunks: sizes.size, slotSize };
}
