#!/usr/bin/env node
/**
 * Checks what can be checked of the device build without the ESP-IDF toolchain (which cannot be
 * installed here): the manifest's modules exist in dist/, the device bundle imports only SDK modules
 * that the included manifests provide, the partition table is well formed and fits the flash, the
 * board's pin map is consistent, and the XS heap stays within the plain-ESP32 budget.
 *
 *   node dist/tools/check-manifest.js      (after npm run build) exits 1 and lists every problem
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { board } from "../manifests/board.js";

/** SDK module specifiers and the SDK manifest that provides each (reference/moddable.md §2-§3). */
const SDK_PROVIDERS: Record<string, string | "device"> = {
  "embedded:io/serial": "$(MODULES)/io/serial/manifest.json",
  "embedded:io/digital": "$(MODULES)/io/digital/manifest.json",
  flash: "$(MODULES)/files/flash/manifest.json",
  // Preloaded by the ESP32 device manifest (build/devices/esp32/manifest.json).
  timer: "device",
  time: "device",
};

/** XS heap budget on a plain ESP32: 78,848 B of chunks + 4,928 slots × 16 B (reference/moddable.md §1.3). */
const HEAP_BUDGET_BYTES = 78_848 + 4_928 * 16;
const FLASH_SIZES: Record<string, number> = { "4MB": 4 << 20, "8MB": 8 << 20, "16MB": 16 << 20 };

export interface Partition {
  name: string;
  type: string;
  subtype: string;
  offset: number;
  size: number;
}

export function parsePartitions(csv: string): Partition[] {
  return csv
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [name, type, subtype, offset, size] = l.split(",").map((f) => f.trim());
      return { name: name!, type: type!, subtype: subtype!, offset: Number(offset), size: parseSize(size!) };
    });
}

function parseSize(s: string): number {
  const m = /^(0x[0-9a-f]+|\d+)([KM]?)$/i.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * (m[2]?.toUpperCase() === "K" ? 1024 : m[2]?.toUpperCase() === "M" ? 1 << 20 : 1);
}

export function checkPartitions(parts: Partition[], flashBytes: number): string[] {
  const problems: string[] = [];
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (const p of sorted) {
    if (!Number.isFinite(p.offset) || !Number.isFinite(p.size)) problems.push(`partition ${p.name}: unreadable offset or size`);
    // ESP-IDF: app partitions at 64 KiB boundaries, data partitions at 4 KiB (partition-tables.rst).
    const align = p.type === "app" ? 0x10000 : 0x1000;
    if (p.offset % align) problems.push(`partition ${p.name}: offset 0x${p.offset.toString(16)} not aligned to 0x${align.toString(16)}`);
    if (p.size % 0x1000) problems.push(`partition ${p.name}: size not a multiple of the 4 KiB sector`);
    if (p.offset + p.size > flashBytes) problems.push(`partition ${p.name}: ends beyond the ${flashBytes} B flash`);
  }
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!, b = sorted[i]!;
    if (a.offset + a.size > b.offset) problems.push(`partitions ${a.name} and ${b.name} overlap`);
  }
  if (sorted[0] && sorted[0].offset < 0x9000) problems.push("partitions start before 0x9000 (bootloader and partition table)");
  return problems;
}

export function checkDevice(root: string): string[] {
  const problems: string[] = [];
  const manifest = JSON.parse(readFileSync(join(root, "manifests/manifest.json"), "utf8"));
  for (const [spec, path] of Object.entries(manifest.modules as Record<string, string>)) {
    if (!existsSync(join(root, "manifests", `${path}.js`))) problems.push(`manifest module "${spec}": ${path}.js does not exist (run npm run build)`);
  }
  for (const p of manifest.preload as string[]) if (!(p in manifest.modules)) problems.push(`preload "${p}" is not a module of the manifest`);
  const includes = new Set(manifest.include as string[]);
  for (const file of ["dist/device/device.js", "dist/manifests/main.js"]) {
    if (!existsSync(join(root, file))) continue;
    const text = readFileSync(join(root, file), "utf8");
    for (const m of text.matchAll(/^\s*import\s[^"']*["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (spec in manifest.modules) continue;
      const provider = SDK_PROVIDERS[spec];
      if (!provider) problems.push(`${file} imports "${spec}", which no known SDK manifest provides`);
      else if (provider !== "device" && !includes.has(provider)) problems.push(`${file} imports "${spec}" but the manifest does not include ${provider}`);
    }
  }
  const c = manifest.creation;
  const heap = c.chunk.initial + c.heap.initial * 16;
  if (heap > HEAP_BUDGET_BYTES) problems.push(`creation: ${heap} B of XS heap exceeds the ${HEAP_BUDGET_BYTES} B budget`);
  if (c.static !== 0 || c.chunk.incremental !== 0 || c.heap.incremental !== 0) problems.push("creation: use static 0 and fixed (non-incremental) heaps on ESP32");

  const sdkconfig = readFileSync(join(root, "manifests/sdkconfig/sdkconfig.defaults"), "utf8");
  const size = /CONFIG_ESPTOOLPY_FLASHSIZE_(\d+MB)=y/.exec(sdkconfig)?.[1];
  const flashBytes = size ? FLASH_SIZES[size] : undefined;
  if (!flashBytes) problems.push("sdkconfig: no CONFIG_ESPTOOLPY_FLASHSIZE_*=y");
  const parts = parsePartitions(readFileSync(join(root, "manifests/partitions.csv"), "utf8"));
  problems.push(...checkPartitions(parts, flashBytes ?? 0));
  for (const name of Object.values(board.partitions)) {
    const p = parts.find((q) => q.name === name);
    if (!p || p.type !== "data") problems.push(`board partition "${name}" is not a data partition in partitions.csv`);
  }
  for (const slot of ["ota_0", "ota_1", "otadata"]) if (!parts.some((p) => p.name === slot)) problems.push(`partitions.csv lacks ${slot}`);

  const uarts = [...board.rs485.map((b) => b.uart), board.modem.uart];
  const ports = uarts.map((u) => u.port);
  if (new Set(ports).size !== ports.length) problems.push("board: a UART port is used twice");
  if (ports.some((p) => p < 0 || p > 2)) problems.push("board: UART port outside 0..2");
  const pins = [...uarts.flatMap((u) => [u.transmit, u.receive]), ...board.rs485.map((b) => b.driverEnable), board.modem.powerKey, board.inputs.door, board.inputs.tamper];
  if (new Set(pins).size !== pins.length) problems.push("board: a GPIO is assigned twice");
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkDevice(process.cwd());
  for (const p of problems) console.error(p);
  console.log(problems.length ? `device build check: ${problems.length} problem(s)` : "device build check: ok");
  process.exitCode = problems.length ? 1 : 0;
}
