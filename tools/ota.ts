#!/usr/bin/env node
/**
 * OTA packages and campaigns (docs/ota.md "Tools"):
 *
 *   ota keygen   --dir DIR [--count 3] [--threshold 2]        release keys (outside the repository, mode 0600)
 *   ota build    --image FILE --version X.Y.Z --hardware ID --sequence N --security-counter N
 *                --expires YYYY-MM-DD --sign FILE,FILE [--units 17,18] [--no-compress] --out FILE
 *   ota rotate   --next DIR/release-keys.json --hardware ID --expires YYYY-MM-DD --sign FILE,FILE --out FILE
 *   ota inspect  FILE [--keys DIR/release-keys.json] [--json]
 *   ota campaign --keys DIR --db FILE [--broker URL | --port N] --package FILE --ids 17,18 [--window HH:MM-HH:MM]
 *   ota campaign --db postgres://... --package FILE --ids 17,18 [--window HH:MM-HH:MM]
 *                                   a fleet's: recorded in its database, run by its workers (headend serve)
 *   ota campaign --db FILE|postgres://... --status            the campaigns and their units, as the database has them
 *   ota sim-image --version X.Y.Z [--defect uplink|bus|hang] --out FILE
 *                                   the simulator's image of dist/device/device.js (for trying the tools)
 *
 * `campaign` starts the campaign in the head-end's database (or finds it again: a restarted command
 * resumes it), runs the head-end service with it (on PostgreSQL: the fleet's workers run it), shows a
 * progress line, and ends with a table of every unit's outcome when all are final. Exit code 1 when
 * a unit did not confirm.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { deflateRawSync, constants } from "node:zlib";
import { packageIdHex } from "../firmware/ota/format.js";
import type { SwitchWindow } from "../firmware/uplink/messages.js";
import { buildEspImage, verifyEspImage } from "../hal/sim/esp-image.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { OtaCampaigns, type CampaignProgress } from "./headend/ota-campaign.js";
import { isPostgres, PostgresHeadendStore } from "./headend/postgres-store.js";
import { HeadendService } from "./headend/service.js";
import { SqliteHeadendStore } from "./headend/sqlite-store.js";
import { inspectPackage } from "./ota/inspect.js";
import { buildImagePackage, buildKeysPackage, splitPackage } from "./ota/package.js";
import { keygen, readKeySet, readSigner } from "./ota/release-keys.js";

const SPEC = {
  dir: "string",
  count: "number",
  threshold: "number",
  image: "string",
  version: "string",
  hardware: "string",
  sequence: "number",
  "security-counter": "number",
  expires: "string",
  sign: "string",
  units: "string",
  "no-compress": "boolean",
  out: "string",
  next: "string",
  keys: "string",
  json: "boolean",
  db: "string",
  broker: "string",
  port: "number",
  package: "string",
  ids: "string",
  window: "string",
  status: "boolean",
  defect: "string",
} as const;
type Options = ReturnType<typeof parseOptions<typeof SPEC>>;

function need<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

function ids(s: string): number[] {
  return list(s).map((x) => {
    const n = Number(x);
    if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff)) throw new UsageError(`"${x}" is not a concentrator id`);
    return n;
  });
}

function expires(s: string): number {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T23:59:59Z` : s);
  if (!Number.isFinite(t)) throw new UsageError(`--expires: "${s}" is not a date (YYYY-MM-DD)`);
  return Math.floor(t / 1000);
}

function window(s: string | undefined): SwitchWindow | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(s);
  const min = (h: string, mm: string) => Number(h) * 60 + Number(mm);
  if (!m || min(m[1]!, m[2]!) >= 1440 || min(m[3]!, m[4]!) >= 1440) throw new UsageError(`--window: "${s}" is not HH:MM-HH:MM (local time of the site)`);
  return { fromMin: min(m[1]!, m[2]!), toMin: min(m[3]!, m[4]!) };
}

const deflate = (b: Uint8Array) => new Uint8Array(deflateRawSync(b, { level: constants.Z_BEST_COMPRESSION }));

function build(o: Options): void {
  const image = new Uint8Array(readFileSync(need(o.image, "image")));
  const version = need(o.version, "version");
  const info = verifyEspImage((at, n) => image.subarray(at, at + n), image.length);
  if (!info) throw new UsageError(`${o.image} is not an ESP32-S3 application image that checks (esp_image_verify)`);
  if (info.version !== version) throw new UsageError(`the image's descriptor says version ${info.version}, not ${version}`);
  const pkg = buildImagePackage({
    image,
    version,
    hardwareId: need(o.hardware, "hardware"),
    sequence: need(o.sequence, "sequence"),
    securityCounter: need(o["security-counter"], "security-counter"),
    expiresS: expires(need(o.expires, "expires")),
    units: o.units ? ids(o.units) : [],
    signers: list(need(o.sign, "sign")).map(readSigner),
    ...(o["no-compress"] ? {} : { deflate }),
  });
  writeFileSync(need(o.out, "out"), pkg);
  const r = inspectPackage(pkg);
  console.log(`${o.out}: package ${r.packageId}, ${r.version} for ${r.hardwareId}, ${r.imageBytes} image bytes in ${r.chunks} chunks (${r.deflatedChunks} compressed), ${r.packageBytes} bytes, ${r.signatures.length} signatures`);
}

function rotate(o: Options): void {
  const next = readKeySet(need(o.next, "next"));
  const pkg = buildKeysPackage({ next, hardwareId: need(o.hardware, "hardware"), securityCounter: o["security-counter"] ?? 0, expiresS: expires(need(o.expires, "expires")), signers: list(need(o.sign, "sign")).map(readSigner) });
  writeFileSync(need(o.out, "out"), pkg);
  console.log(`${o.out}: key set ${next.version} (${next.threshold} of ${next.keys.length}), package ${packageIdHex(splitPackage(pkg).digest)}`);
}

function inspect(o: Options): void {
  const file = o._[1];
  if (!file) throw new UsageError("inspect FILE");
  const r = inspectPackage(new Uint8Array(readFileSync(file)), o.keys ? readKeySet(o.keys) : undefined);
  if (o.json) console.log(JSON.stringify(r));
  else {
    console.log(`package ${r.packageId}: ${r.kind}${r.kind === "image" ? ` ${r.version}` : ` key set ${r.keySet?.version ?? "?"}`} for ${r.hardwareId}, sequence ${r.sequence}, security counter ${r.securityCounter}, expires ${r.expires}`);
    if (r.kind === "image") console.log(`  image ${r.imageBytes} bytes in ${r.chunks} chunks of ${r.chunkBytes} (${r.deflatedChunks} compressed); table ${r.tableBytes} bytes, payload ${r.payloadBytes}; package ${r.packageBytes} bytes; units ${r.units.length ? r.units.join(",") : "all"}`);
    for (const s of r.signatures) console.log(`  signature by key ${s.keyId}: ${s.valid === true ? "valid" : s.valid === false ? (o.keys ? "INVALID" : "not checked (no --keys)") : s.valid}`);
    if (r.threshold) console.log(`  ${r.threshold.valid} of ${r.threshold.needed} signatures needed`);
    console.log(r.problems.length ? r.problems.map((p) => `  PROBLEM: ${p}`).join("\n") : "  sound");
  }
  process.exitCode = r.problems.length ? 1 : 0;
}

/** The table of a campaign's units: what the operator reads at the end. */
function table(p: CampaignProgress): string {
  const rows = [["unit", "outcome", "before", "after", "attempts", "bytes"]];
  for (const u of p.units) rows.push([String(u.concentrator), u.reason && u.state !== "confirmed" ? `${u.state}: ${u.reason}` : u.state, u.versionBefore || "?", u.versionAfter || "-", String(u.attempts), String(u.bytes)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [`campaign ${p.campaign.id} (${p.campaign.name}, package ${p.campaign.packageId}): ${p.finished} of ${p.units.length} units final`, line(rows[0]!), ...rows.slice(1).map(line)].join("\n");
}

function progressLine(p: CampaignProgress): string {
  const counts = new Map<string, number>();
  for (const u of p.units) counts.set(u.state, (counts.get(u.state) ?? 0) + 1);
  const total = p.units.length;
  const width = 30;
  const filled = Math.round((width * p.finished) / Math.max(1, total));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.finished}/${total} final: ${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")}`;
}

/** The campaigns of a database: the SQLite head-end's, or a fleet's PostgreSQL. */
interface ProgressHost {
  progress(): Promise<CampaignProgress[]>;
  close(): Promise<void>;
}

/** The campaigns of a database, and starting one. */
interface CampaignHost extends ProgressHost {
  start(pkg: Uint8Array, units: number[], window: SwitchWindow | undefined): Promise<number>;
}

/**
 * On PostgreSQL a campaign is recorded in the fleet's database and the running workers
 * (`headend serve --workers N`) make the offers and follow the units, while this command follows the database.
 */
async function postgresHost(db: string): Promise<CampaignHost> {
  const store = await PostgresHeadendStore.open(db, { connections: 1 });
  const ota = new OtaCampaigns({ store, now: Date.now });
  return {
    progress: () => store.campaignUnit(() => ota.progress()),
    start: (pkg, units, window) => store.createCampaign(ota, pkg, units, window ? { window } : {}),
    close: () => store.close(),
  };
}

/** `--status`: the campaigns as the database has them (on SQLite, read beside a running head-end). */
async function progressHost(db: string): Promise<ProgressHost> {
  if (isPostgres(db)) return postgresHost(db);
  const store = new SqliteHeadendStore(db);
  const ota = new OtaCampaigns({ store, now: Date.now });
  return { progress: async () => ota.progress(), close: async () => store.close() };
}

/** On SQLite the campaign runs in the head-end service this command starts. */
async function campaignHost(o: Options, db: string): Promise<CampaignHost> {
  if (isPostgres(db)) return postgresHost(db);
  const service = await HeadendService.start({ keys: need(o.keys, "keys"), db, ...(o.broker ? { broker: o.broker } : { port: o.port ?? 1883 }), campaignTickMs: 10_000, onError: (e) => console.error(`head-end: ${e.message}`) });
  return {
    progress: async () => service.ota.progress(),
    start: async (pkg, units, window) => service.startCampaign(pkg, units, window ? { window } : {}),
    close: () => service.close(),
  };
}

async function campaign(o: Options): Promise<void> {
  const db = need(o.db, "db");
  if (o.status) {
    const host = await progressHost(db);
    try {
      for (const p of await host.progress()) console.log(table(p));
    } finally {
      await host.close();
    }
    return;
  }
  const host = await campaignHost(o, db);
  try {
    const pkg = new Uint8Array(readFileSync(need(o.package, "package")));
    const units = ids(need(o.ids, "ids"));
    const id = packageIdHex(splitPackage(pkg).digest);
    const existing = (await host.progress()).find((p) => p.campaign.packageId === id && !p.done && units.every((u) => p.units.some((x) => x.concentrator === u)));
    const cid = existing ? existing.campaign.id : await host.start(pkg, units, window(o.window));
    console.log(existing ? `resuming campaign ${cid}` : `campaign ${cid} started: package ${id} to ${units.join(", ")}`);
    const tty = process.stdout.isTTY;
    for (;;) {
      const p = (await host.progress()).find((x) => x.campaign.id === cid)!;
      if (tty) process.stdout.write(`\r${progressLine(p)}   `);
      if (p.done) {
        if (tty) process.stdout.write("\n");
        console.log(table(p));
        process.exitCode = p.units.every((u) => u.state === "confirmed") ? 0 : 1;
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await host.close();
  }
}

function simImage(o: Options): void {
  const defect = o.defect;
  if (defect !== undefined && defect !== "uplink" && defect !== "bus" && defect !== "hang") throw new UsageError("--defect: uplink | bus | hang");
  const bundle = new Uint8Array(readFileSync(new URL("./../device/device.js", import.meta.url)));
  const image = buildEspImage({ version: need(o.version, "version"), securityVersion: o["security-counter"] ?? 1, bundle, note: defect ? { defect } : {} });
  writeFileSync(need(o.out, "out"), image);
  console.log(`${o.out}: the simulator's image of version ${o.version}, ${image.length} bytes`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), SPEC);
  switch (o._[0]) {
    case "keygen":
      for (const f of keygen(need(o.dir, "dir"), o.count ?? 3, o.threshold ?? 2)) console.log(`wrote ${f}`);
      return;
    case "build":
      return build(o);
    case "rotate":
      return rotate(o);
    case "inspect":
      return inspect(o);
    case "campaign":
      return campaign(o);
    case "sim-image":
      return simImage(o);
    default:
      throw new UsageError("keygen | build | rotate | inspect | campaign | sim-image (docs/ota.md)");
  }
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UsageError || e instanceof RangeError || e instanceof TypeError)) throw e;
  console.error(`ota: ${e.message}`);
  process.exitCode = 2;
}

