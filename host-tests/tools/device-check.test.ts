import assert from "node:assert/strict";
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkReadOnly, checkStrip, checkWorkers, importsOf, stringLiterals, workersOf } from "../../tools/device-check/checks.js";
import { builtins, imageFigures, linkerSummary } from "../../tools/device-check/image.js";
import { pinNotes } from "../../tools/device-check/pins.js";
import { checkPlatform, creationOf, errorLines, type PlatformReport } from "../../tools/device-check/platform.js";
import { missingBuildPrerequisites, prerequisitesMessage, vendoredSdk, type SdkTools } from "../../tools/device-check/sdk.js";
import { manifestVariant, type ManifestJson } from "../../tools/device-check/variant.js";
import { countWarnings, parseWarnings } from "../../tools/device-check/warnings.js";
import { board } from "../../manifests/board.js";

// check-standalone: fixture paths (manifest variants are written to temporary folders).

describe("device check: reading what the tools wrote", () => {
  it("parses the XS linker's warnings and counts them by origin", () => {
    const log = [
      "### warning: device: start() Concentrator() StateLayout: not frozen",
      "### warning: cbor-x: decode() position: no const",
      "### warning: cbor-x: encode() encoder: not frozen",
      "### warning: globalThis.Host: not frozen",
      "# xsl modules",
    ].join("\n");
    const w = parseWarnings(log);
    assert.deepEqual(w[0], { module: "device", path: "start() Concentrator() StateLayout", kind: "not frozen" });
    assert.deepEqual(w[3], { module: "", path: "globalThis.Host", kind: "not frozen" });
    const c = countWarnings(w, new Set(["device"]), new Set(["cbor-x", "tweetnacl"]));
    assert.deepEqual(c.own, { "no const": 0, "not frozen": 1 });
    assert.deepEqual(c.dependencies["cbor-x"], { "no const": 1, "not frozen": 1 });
    assert.deepEqual(c.dependencies.tweetnacl, { "no const": 0, "not frozen": 0 });
    assert.deepEqual(c.sdk, { "no const": 0, "not frozen": 1 });
    assert.deepEqual(c.ownPaths, ["device: start() Concentrator() StateLayout: not frozen"]);
  });

  it("reads the creation xsl was given, and xsl's summary", () => {
    assert.deepEqual(creationOf("X = 1\nCREATION = -c 78848,0,4928,0,512,32,32,53,3,1024,17,0,main,0\n"), {
      chunkBytes: 78_848,
      heapSlots: 4_928,
      heapBytes: 78_848 + 4_928 * 16,
      stackSlots: 512,
      staticBytes: 0,
      incrementalChunkBytes: 0,
      incrementalHeapSlots: 0,
    });
    assert.equal(creationOf("no creation here"), undefined);
    assert.deepEqual(linkerSummary("# xsl modules\n### 3482 instances, 3784 keys, 67 colors, 0 holes\n"), { instances: 3482, keys: 3784 });
  });

  it("keeps a failed step's reasons and drops its progress lines", () => {
    const log = "# xsc main.xsb\n### warning: device: x: no const\nmake: Entering directory '/x'\nTypeError: cannot coerce undefined to object\n at registerTypedArray ()\n";
    assert.deepEqual(errorLines(log), ["TypeError: cannot coerce undefined to object", " at registerTypedArray ()"]);
  });

  it("finds imports and started workers in a module's text", () => {
    const text = 'import Worker from "worker";\nimport { a } from "./a";\nexport { b } from "b";\nimport "side";\nconst w = new Worker("crypto-worker", { static: 1 });\nconst m = import("lazy");\n';
    assert.deepEqual(importsOf(text), ["worker", "./a", "b", "side", "lazy"]);
    assert.deepEqual(workersOf(text), ["crypto-worker"]);
  });

  it("finds string literals with their lines, not regular expressions or comments", () => {
    const lits = stringLiterals('const a = "one";\n// "comment"\nconst r = /"not"/;\nconst t = `two`;\nconst u = `x${a}y`;\nf(\'three\');\n');
    assert.deepEqual(lits, [
      { value: "one", line: 1 },
      { value: "two", line: 4 },
      { value: "three", line: 6 },
    ]);
  });
});

/** A small image: the global object with DataView (one kept and one stripped method) and a stripped WeakMap. */
const MC_XS_C = [
  "static const xsHostBuilder gxBuilders[3] = {",
  "\t{ fx_DataView_prototype_getUint16, 1, xsID_getUint16 },",
  "\t{ fxDeadStrip, 1, xsID_getInt16 },",
  "\t{ fxDeadStrip, 1, xsID_get },",
  "};",
  "static const txSlot gxHeap[mxHeapCount] = {",
  "/* 0000 */\t{ NULL, {.ID = XS_NO_ID, .flag = XS_NO_FLAG, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[20] } },",
  "/* 0001 */\t{ (txSlot*)&gxHeap[2], {.ID = XS_NO_ID, .flag = 0xc0, .kind = XS_INSTANCE_KIND}, .value = { .instance = { NULL, NULL } } },",
  "/* 0002 */\t{ (txSlot*)&gxHeap[3], {.ID = xsID_Math, .flag = 0x84, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[10] } },",
  "/* 0003 */\t{ (txSlot*)&gxHeap[4], {.ID = xsID_DataView, .flag = 0x84, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[5] } },",
  "/* 0004 */\t{ NULL, {.ID = xsID_WeakMap, .flag = 0x84, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[12] } },",
  "/* 0005 */\t{ (txSlot*)&gxHeap[6], {.ID = XS_NO_ID, .flag = 0x90, .kind = XS_INSTANCE_KIND}, .value = { .instance = { NULL, NULL } } },",
  "/* 0006 */\t{ (txSlot*)&gxHeap[7], {.ID = xsID_DataView, .flag = 0x8b, .kind = XS_CALLBACK_X_KIND}, .value = { .callback = { fx_DataView, NULL } }},",
  "/* 0007 */\t{ NULL, {.ID = xsID_prototype, .flag = 0x86, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[8] } },",
  "/* 0008 */\t{ (txSlot*)&gxHeap[9], {.ID = XS_NO_ID, .flag = 0x90, .kind = XS_INSTANCE_KIND}, .value = { .instance = { NULL, NULL } } },",
  "/* 0009 */\t{ (txSlot*)&gxHeap[11], {.ID = xsID_getUint16, .flag = 0x8e, .kind = XS_HOST_FUNCTION_KIND}, .value = { .hostFunction = { &gxBuilders[0], 3 } }},",
  "/* 0010 */\t{ NULL, {.ID = XS_NO_ID, .flag = 0x90, .kind = XS_INSTANCE_KIND}, .value = { .instance = { NULL, NULL } } },",
  "/* 0011 */\t{ NULL, {.ID = xsID_getInt16, .flag = 0x8e, .kind = XS_HOST_FUNCTION_KIND}, .value = { .hostFunction = { &gxBuilders[1], 4 } }},",
  "/* 0012 */\t{ (txSlot*)&gxHeap[13], {.ID = XS_NO_ID, .flag = 0x90, .kind = XS_INSTANCE_KIND}, .value = { .instance = { NULL, NULL } } },",
  "/* 0013 */\t{ (txSlot*)&gxHeap[14], {.ID = xsID_WeakMap, .flag = 0x8b, .kind = XS_CALLBACK_X_KIND}, .value = { .callback = { fxDeadStrip, NULL } }},",
  "/* 0014 */\t{ NULL, {.ID = xsID_get, .flag = 0x8e, .kind = XS_HOST_FUNCTION_KIND}, .value = { .hostFunction = { &gxBuilders[2], 5 } }},",
  "};",
].join("\n");

describe("device check: stripped built-ins", () => {
  it("names every built-in of the image by its path from the global object, and tells the stripped ones", () => {
    assert.deepEqual(builtins(MC_XS_C), [
      { path: "DataView", name: "DataView", stripped: false },
      { path: "DataView.prototype.getInt16", name: "getInt16", stripped: true },
      { path: "DataView.prototype.getUint16", name: "getUint16", stripped: false },
      { path: "WeakMap", name: "WeakMap", stripped: true },
      { path: "WeakMap.get", name: "get", stripped: true },
    ]);
  });

  it("reports a string that names a stripped built-in of a reachable owner, or a stripped global", () => {
    const all = builtins(MC_XS_C);
    const check = checkStrip(all, [{ name: "device", text: 'const m = "getInt16";\nconst n = "getUint16";\nconst g = "get";\nconst w = "WeakMap";\n' }], []);
    assert.equal(check.ok, false);
    assert.equal(check.details.length, 3, check.details.join("\n"));
    assert.match(check.details[1]!, /^device:1: the string "getInt16" names DataView\.prototype\.getInt16/);
    assert.match(check.details[2]!, /^device:4: the string "WeakMap" names WeakMap/);
  });

  it("accepts a reviewed string and says why", () => {
    const check = checkStrip(builtins(MC_XS_C), [{ name: "dep", text: 'if (k === "getInt16") k = "x";' }], [{ module: "dep", value: "getInt16", why: "only compared" }]);
    assert.equal(check.ok, true);
    assert.match(check.details[1]!, /reviewed: only compared/);
  });
});

describe("device check: preloaded instances are read-only on the device", () => {
  const T = [{ variable: "T", class: "TypedArray" as const }];

  it("reports a write after the preload, and accepts one while the module loads", () => {
    const text = "const T = new Uint8Array(4);\nT[0] = 1;\nexport function f(i) {\n  T[i]++;\n  return T.fill(0);\n}\n";
    const c = checkReadOnly(T, [{ name: "m", text }], []);
    assert.equal(c.ok, false);
    assert.deepEqual(
      c.details.filter((d) => d.startsWith("m:")).map((d) => d.split(",")[0]),
      ["m:4: T[...] is assigned", "m:5: T.fill() is called"],
    );
  });

  it("follows the scopes: a parameter or local of the same name is another variable", () => {
    const text = "const T = new Set();\nfunction g(T) { T.add(1); }\nfunction h() { const T = []; T[0] = 1; }\nexport const k = () => T.has(1);\n";
    assert.equal(checkReadOnly([{ variable: "T", class: "Set" }], [{ name: "m", text }], []).ok, true);
  });

  it("sees the scopes that run at load: a function called where it is written, esbuild's CommonJS wrapper", () => {
    const iife = "(function () {\n  var K = new Float64Array(2);\n  K[0] = 1;\n  function later() { K[1] = 3; }\n})();\n";
    const cjs = '__commonJS({ "x.js"(exports, module) {\n  var K = new Float64Array(2);\n  exports.w = function () { K.set([1]); };\n} });\n';
    const K = [{ variable: "K", class: "TypedArray" as const }];
    assert.match(checkReadOnly(K, [{ name: "a", text: iife }], []).details[1]!, /^a:4: K\[\.\.\.\] is assigned/);
    assert.match(checkReadOnly(K, [{ name: "b", text: cjs }], []).details[1]!, /^b:3: K\.set\(\) is called/);
  });

  it("accepts a reviewed write and says why", () => {
    const c = checkReadOnly(T, [{ name: "m", text: "const T = new Uint8Array(1);\nexport function f() { T[0] = 1; }\n" }], [{ module: "m", value: "T", why: "never called" }]);
    assert.equal(c.ok, true);
    assert.match(c.details[1]!, /reviewed: never called/);
  });
});

describe("device check: the worker's own machine", () => {
  const image = (preloaded: boolean) => ({ heapSlots: 1, aliases: 0, keys: 1, scripts: [{ name: "w", preloaded, codeBytes: preloaded ? 0 : 100, native: false }] });
  const starter = { name: "device", text: 'new Worker("w", {});' };

  it("accepts a worker module compiled into the image, loaded at run time and imported by nothing", () => {
    assert.equal(checkWorkers([starter], [starter, { name: "w", text: 'import nacl from "tweetnacl";' }], { w: "./w" }, [], image(false)).ok, true);
  });

  it("rejects a preloaded worker module, or one another module imports", () => {
    const preloaded = checkWorkers([starter], [starter], { w: "./w" }, ["w"], image(true));
    assert.equal(preloaded.ok, false);
    assert.match(preloaded.details[0]!, /"w" is preloaded/);
    const imported = checkWorkers([starter], [starter, { name: "x", text: 'import "w";' }], { w: "./w" }, [], image(false));
    assert.match(imported.details[0]!, /imported by x/);
  });
});

describe("device check: environment", () => {
  it("names each missing prerequisite and the one apt-get line that installs them", () => {
    const missing = missingBuildPrerequisites((c) => c === "make", () => false);
    assert.deepEqual(
      missing.map((m) => m.debianPackage),
      ["gcc", "pkg-config", "libglib2.0-dev"],
    );
    assert.match(prerequisitesMessage(missing), /sudo apt-get install -y --no-install-recommends gcc pkg-config libglib2\.0-dev$/);
    assert.deepEqual(missingBuildPrerequisites(() => true, () => true), []);
  });

  it("from the command line: exit 2 with the apt-get line when the tools cannot be built here", () => {
    const r = spawnSync(process.execPath, ["dist/tools/device-check.js", "--platform", "esp32", "--cache", mkdtempSync(join(tmpdir(), "no-tools-"))], { encoding: "utf8", env: { PATH: "/nonexistent" } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /needs gcc, make, pkg-config, the GLib gio-2\.0 development files\.\n.*\n  sudo apt-get install -y --no-install-recommends gcc make pkg-config libglib2\.0-dev\n$/);
  });

  it("from the command line: exit 2 when MODDABLE names no SDK with built tools", () => {
    const empty = mkdtempSync(join(tmpdir(), "moddable-"));
    const r = spawnSync(process.execPath, ["dist/tools/device-check.js", "--platform", "esp32"], { encoding: "utf8", env: { ...process.env, MODDABLE: empty } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /MODDABLE=.*: not a Moddable SDK \(no tools\/VERSION\)/);
  });

  it("notes the S3 pin map's conflicts on a plain ESP32 and none on the S3", () => {
    assert.deepEqual(pinNotes("esp32s3"), []);
    const notes = pinNotes("esp32");
    assert.match(notes[0]!, /GPIO 6, 7, 8, 9, 10, 11, wired to the SPI flash/);
    assert.match(pinNotes("esp32", { ...board, modem: { ...board.modem, powerKey: 34 } } as unknown as typeof board).join("\n"), /drives GPIO 34, input-only/);
  });
});

/**
 * The four faults the real toolchain found (issue 12), each reintroduced in a copy of the manifest,
 * and what the check says then. Uses the SDK's tools as `npm run device-check` builds them (cached).
 */
describe("device check on manifest variants (real mcconfig, xsc and xsl)", function () {
  this.timeout(600_000);
  const root = resolve(".");
  let tools: SdkTools;
  let work: string;

  before(() => {
    tools = vendoredSdk(root, join(root, ".cache"));
    work = mkdtempSync(join(tmpdir(), "device-check-"));
  });

  const variant = (name: string, edit: (m: ManifestJson) => void): string => manifestVariant("manifests/manifest.json", join(work, name), edit);
  const check = (manifest: string, platform = "esp32/esp32s3"): PlatformReport => checkPlatform(root, tools, manifest, platform, join(work, "out", platform.replaceAll("/", "_")));
  const failed = (r: PlatformReport, name: string) => r.checks.find((c) => c.name === name && !c.ok);

  it("fault 1: without IO defined, mcconfig cannot find $(IO)/serial/$(PLATFORM)", () => {
    const r = check(variant("no-io", (m) => delete m.build.IO));
    assert.equal(r.stage, "mcconfig");
    assert.match(r.error!.join("\n"), /\$\(IO\)\/serial\/\$\(PLATFORM\)\/\*': directory not found/);
  });

  it("fault 2: cbor-x as published throws at preload under strip (TypedArray.name)", async () => {
    const out = join(work, "unpatched");
    await build({ entryPoints: { "cbor-x": "manifests/deps/cbor-x.ts" }, outdir: out, bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], logLevel: "silent" });
    const r = check(variant("unpatched-cbor-x", (m) => (m.modules["cbor-x"] = join(out, "cbor-x"))));
    assert.equal(r.stage, "xsl");
    assert.match(r.error!.join("\n"), /TypeError: cannot coerce undefined to object[\s\S]*registerTypedArray/);
  });

  it("fault 3: the crypto worker's module preloaded fails at link time on `self`", () => {
    const r = check(variant("worker-preloaded", (m) => m.preload.push("crypto-worker")));
    assert.equal(r.stage, "xsl");
    assert.match(r.error!.join("\n"), /ReferenceError: get self/);
  });

  it("fault 3, when the worker's top level would not throw: the worker check still refuses a preloaded worker", () => {
    const quiet = join(work, "quiet-worker.js");
    writeFileSync(quiet, "export default 1;\n");
    const r = check(variant("quiet-worker-preloaded", (m) => ((m.modules["crypto-worker"] = quiet.slice(0, -3)), m.preload.push("crypto-worker"))));
    assert.equal(r.stage, "ok");
    assert.match(failed(r, "worker")!.details[0]!, /"crypto-worker" is preloaded/);
  });

  it("fault 4: plain esp32 refused by a platform rule that names only subplatforms", () => {
    const r = check(variant("no-plain-esp32", (m) => delete m.platforms.esp32), "esp32");
    assert.equal(r.stage, "mcconfig");
    assert.match(r.error!.join("\n"), /incompatible platform/);
  });

  it("a module of ours with a mutable binding, an unfrozen table, a computed call to a stripped built-in and a write to a preloaded Set fails the warnings, strip and read-only checks", () => {
    const extra = join(work, "extra.js");
    writeFileSync(extra, 'export let count = 0;\nexport const table = { a: 1 };\nconst method = "getInt16";\nconst seen = new Set();\nexport function read(view) { count++; seen.add(view); return view[method](table.a); }\n');
    const r = check(variant("extra", (m) => ((m.modules.extra = extra.slice(0, -3)), m.preload.push("extra"))));
    assert.equal(r.stage, "ok");
    assert.deepEqual(r.warnings!.own, { "no const": 1, "not frozen": 1 });
    assert.ok(failed(r, "warnings"));
    assert.match(failed(r, "strip")!.details.join("\n"), /extra:3: the string "getInt16" names DataView\.prototype\.getInt16/);
    assert.match(failed(r, "read-only")!.details.join("\n"), /extra:5: seen\.add\(\) is called, but seen holds a preloaded Set/);
    // The module table of the image: preloaded modules keep no bytecode, the worker's and main's do.
    const mcXsC = readdirSync(r.outDir, { recursive: true, encoding: "utf8" }).find((f) => f.endsWith("mc.xs.c"))!;
    const image = imageFigures(readFileSync(join(r.outDir, mcXsC), "utf8"));
    assert.deepEqual(
      image.scripts.filter((s) => ["main", "device", "crypto-worker", "cbor-x", "tweetnacl", "extra"].includes(s.name)).map((s) => [s.name, s.preloaded]),
      [["main", false], ["device", true], ["crypto-worker", false], ["cbor-x", true], ["tweetnacl", true], ["extra", true]],
    );
  });
});
