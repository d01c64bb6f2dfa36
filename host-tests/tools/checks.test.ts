import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { violations } from "../../tools/check-imports.js";
import { checkPartitions, parsePartitions } from "../../tools/check-manifest.js";
import { conflictMarkers, outsideReferences } from "../../tools/check-standalone.js";

// check-standalone: fixture paths (the projects below are written to temporary folders).

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "boundary-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("import boundary check", () => {
  it("accepts firmware importing firmware, hal interfaces and allowed pure packages", () => {
    const root = project({
      "firmware/a/x.ts": 'import { y } from "../b/y.js";\nimport type { Hal } from "../../hal/index.js";\nimport nacl from "tweetnacl";\n',
      "hal/sim/s.ts": 'import type { FlashPartition } from "../flash.js";\nimport { t } from "./t.js";\n',
    });
    assert.deepEqual(violations(root), []);
  });

  it("reports firmware importing hal/sim, hal/moddable, tools, host-tests, Node built-ins and SDK modules", () => {
    const root = project({
      "firmware/a/x.ts": [
        'import { SimBoard } from "../../hal/sim/board.js";',
        'import { ModdableClock } from "../../hal/moddable/clock.js";',
        'export { f } from "../../tools/f.js";',
        'const t = await import("../../host-tests/t.js");',
        'import fs from "node:fs";',
        'import Timer from "timer";',
        'import mqtt from "mqtt";',
      ].join("\n"),
    });
    const v = violations(root);
    assert.equal(v.length, 7, v.join("\n"));
    assert.match(v[0]!, /firmware\/a\/x\.ts:1: .*hal\/sim/);
    assert.match(v[4]!, /"node:fs"/);
  });

  it("reports hal/sim importing hal/moddable or firmware", () => {
    const root = project({ "hal/sim/s.ts": 'import "../moddable/serial.js";\nimport "../../firmware/x.js";\n' });
    assert.equal(violations(root).length, 2);
  });

  it("reports the tools importing host-tests (the tests use the tools, not the other way round)", () => {
    const root = project({ "tools/bench/b.ts": 'import "../../host-tests/scenarios/s.js";\nimport "node:fs";\nimport "../sim/rig.js";\n' });
    const v = violations(root);
    assert.equal(v.length, 1, v.join("\n"));
    assert.match(v[0]!, /tools\/bench\/b\.ts:1: .*host-tests/);
  });

  it("keeps the simulated site and servers pure: no Node, no host-tests, only the head-end's core", () => {
    const root = project({
      "tools/site/w.ts": 'import "../../firmware/x.js";\nimport "../../hal/sim/board.js";\nimport "../sim/b.js";\nimport "../headend/core.js";\n',
      "tools/sim/b.ts": 'import "../../host-tests/lib/x.js";\nimport "../headend/service.js";\nimport "node:net";\nimport "../net/servers.js";\n',
    });
    const v = violations(root);
    assert.equal(v.length, 4, v.join("\n"));
    assert.ok(v.every((x) => x.startsWith("tools/sim/b.ts")));
  });
});

describe("partition table check", () => {
  const ok = "nvs,data,nvs,0x9000,0x6000\nota_0,app,ota_0,0x10000,0x100000\nlog,data,0x80,0x110000,1M\n";

  it("accepts a well-formed table that fits the flash", () => {
    assert.deepEqual(checkPartitions(parsePartitions(ok), 4 << 20), []);
    assert.equal(parsePartitions(ok)[2]!.size, 1 << 20);
  });

  it("reports overlap, misalignment and overflow", () => {
    const bad = "nvs,data,nvs,0x9000,0x6000\nota_0,app,ota_0,0xe000,0x100000\nlog,data,0x80,0x100000,0x400000\n";
    const p = checkPartitions(parsePartitions(bad), 4 << 20);
    assert.ok(p.some((m) => /ota_0: offset 0xe000 not aligned/.test(m)), p.join("\n"));
    assert.ok(p.some((m) => /overlap/.test(m)));
    assert.ok(p.some((m) => /log: ends beyond/.test(m)));
  });
});

describe("standalone check", () => {
  it("accepts paths that land inside the repository, from the file, the root or the file's place under dist/", () => {
    const root = project({
      "docs/a.md": "See [storage](storage.md), `../firmware/store/log.ts` and `host-tests/corpus/d0/x.bin`.\n",
      "docs/storage.md": "x\n",
      "firmware/store/log.ts": "// x\n",
      "host-tests/corpus/d0/x.bin": "x",
      "tools/bench/b.ts": 'readFileSync(join(dirname(url), "../../../tools/bench/entry.ts"));\n',
      "tools/bench/entry.ts": "x\n",
    });
    mkdirSync(join(root, "dist/tools/bench"), { recursive: true });
    assert.deepEqual(outsideReferences(root), []);
  });

  it("reports paths above the repository and into a folder it does not have, and absolute workspace paths", () => {
    const root = project({
      "README.md": "- `../beside/DESIGN.md`: the design\n",
      "docs/d0.md": "Facts: `../beside/reference/domain.md` §1.\n",
      "host-tests/d0/c.test.ts": 'readFileSync("../beside/corpus/expected/bcc.json");\n',
      "tools/x.ts": 'const dir = "/work/beside/moddable";\n',
    });
    const found = outsideReferences(root).map((r) => `${r.file}:${r.line}: ${r.text}`);
    assert.deepEqual(found, [
      "README.md:1: ../beside/DESIGN.md",
      "docs/d0.md:1: ../beside/reference/domain.md",
      "host-tests/d0/c.test.ts:1: ../beside/corpus/expected/bcc.json",
      "tools/x.ts:1: /work/beside",
    ]);
  });

  it("finds nothing outside in this repository", () => {
    assert.deepEqual(outsideReferences(process.cwd()), []);
  });

  it("reports the lines a merge left unresolved, not a Markdown underline of equals signs", () => {
    const [open, close] = ["<".repeat(7), ">".repeat(7)];
    const root = project({
      "README.md": `# Title\n\nHeading\n=======\n${open} HEAD\nours\n=======\ntheirs\n${close} branch\n`,
      "docs/a.md": "nothing to see\n",
    });
    assert.deepEqual(conflictMarkers(root).map((r) => `${r.file}:${r.line}`), ["README.md:5", "README.md:9"]);
  });

  it("finds no unresolved merge in this repository", () => {
    assert.deepEqual(conflictMarkers(process.cwd()), []);
  });
});
