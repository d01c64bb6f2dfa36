// tools/xs/bundle.ts: the bundle with every class of its modules reachable, which the live-heap
// measurement (tools/bench/site-xs-entry.ts) needs to free the firmware in XS (docs/memory.md).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import { bundleForXsWithClasses } from "../../tools/xs/bundle.js";

const parser = fileURLToPath(new URL("../../../firmware/uplink/mqtt/parser.ts", import.meta.url));

describe("XS bundle with its classes", () => {
  it("lists every repository module of the bundle, and each exports the classes it keeps to itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xs-bundle-"));
    const entry = join(dir, "entry.ts");
    writeFileSync(entry, `import { namespaces } from "generated:classes";\nimport { MqttParser } from ${JSON.stringify(parser)};\n(globalThis as any).found = { parser: typeof MqttParser, names: namespaces.map((n) => Object.keys(n)) };\n`);
    const context: { found?: { parser: string; names: string[][] } } = {};
    runInNewContext(await bundleForXsWithClasses(entry), context);
    const found = context.found!;
    assert.equal(found.parser, "function");
    // firmware/uplink/mqtt/parser.ts declares `class Reader` and `class Malformed` without exporting them.
    const module = found.names.find((n) => n.includes("MqttParser"));
    assert.ok(module, JSON.stringify(found.names));
    assert.ok(module.includes("localClass_Reader") && module.includes("localClass_Malformed"), module.join(","));
    // The modules the parser imports are listed too.
    assert.ok(found.names.length > 1);
  });
});
