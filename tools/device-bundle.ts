/**
 * The device's JavaScript modules (manifests/manifest.json "modules"), built by tools/build.mjs into
 * dist/device after its first pass has compiled this file:
 *   device         firmware and hal/moddable in one module (manifests/device.ts), preloaded
 *   crypto-worker  the crypto worker's module (manifests/crypto-worker.ts): it runs in the worker's own
 *                  XS machine, so it is compiled into the image but never preloaded
 *   cbor-x, tweetnacl  the two npm dependencies, each a module of its own (manifests/deps/), preloaded:
 *                  one copy in flash shared by the main machine and the worker, and the XS linker's
 *                  warnings name them apart from ours
 * Moddable SDK modules and the two dependencies stay imports, resolved by the manifest.
 *
 * Two steps adapt esbuild's output to the XS linker (docs/device.md, "Adapting the bundle to the XS linker"):
 *  - esbuild turns every top-level const, let and class of a bundle into `var` (deliberate, with no
 *    option to turn it off: esbuild FAQ, "Top-level var"). A preloaded module's mutable top-level
 *    binding costs a RAM pointer in every XS machine ("no const" linker warning), so declarations that
 *    nothing reassigns are made `const` again, as the sources wrote them.
 *  - cbor-x reads `TypedArray.name` when it loads; the SDK's "strip" leaves built-in functions without
 *    `name`, so its module would throw at preload. And its half-float decoding writes into typed arrays
 *    made when the module loads, which preload makes read-only. CBOR_X_PATCHES changes those lines.
 */
import { build, type BuildOptions, type Plugin } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import ts from "typescript";

/** Module specifiers the Moddable SDK provides on the device. */
export const sdkModules = ["embedded:*", "timer", "time", "flash", "mc/*", "preference", "worker"];
/** npm dependencies that are device modules of their own (manifests/deps/<name>.ts re-exports what we use). */
export const dependencyModules = ["cbor-x", "tweetnacl"];

/** A text replacement in a dependency's source, made when it is bundled. */
export interface Patch {
  file: string;
  why: string;
  from: string;
  to: string;
}

/**
 * Exact text replacements in cbor-x 1.6.8, each with why. The build fails when one does not match
 * exactly once (a new cbor-x version must be looked at again, not patched blindly).
 */
export const CBOR_X_PATCHES: readonly Patch[] = [
  {
    file: "node_modules/cbor-x/decode.js",
    why: "stripped built-ins have no `name`: the DataView getter's name comes from a table in typedArrays' order",
    from: "let dvMethod = 'get' + TypedArray.name.slice(0, -5)",
    to: "let dvMethod = 'get' + ['Uint8', 'Uint8Clamped', 'Uint16', 'Uint32', 'BigUint64', 'Int8', 'Int16', 'Int32', 'BigInt64', 'Float32', 'Float64'][typedArrays.indexOf(TypedArray)]",
  },
  {
    file: "node_modules/cbor-x/decode.js",
    why: "a preloaded typed array is read-only on the device: the scratch buffers of half-float decoding are made at first use",
    from: "let f32Array = new Float32Array(1)\nlet u8Array = new Uint8Array(f32Array.buffer, 0, 4)\n",
    to: "let f32Array, u8Array\nfunction float32Scratch() {\n\tif (!u8Array) {\n\t\tf32Array = new Float32Array(1)\n\t\tu8Array = new Uint8Array(f32Array.buffer, 0, 4)\n\t}\n}\n",
  },
  { file: "node_modules/cbor-x/decode.js", why: "(the same scratch buffers)", from: "function getFloat16() {\n", to: "function getFloat16() {\n\tfloat32Scratch()\n" },
  { file: "node_modules/cbor-x/decode.js", why: "(the same scratch buffers)", from: "export function roundFloat32(float32Number) {\n", to: "export function roundFloat32(float32Number) {\n\tfloat32Scratch()\n" },
];

/** Applies `patches` to `text` (the contents of `file`); throws unless each matches exactly once. */
export function applyPatches(file: string, text: string, patches: readonly Patch[]): string {
  for (const p of patches.filter((q) => file.endsWith(q.file))) {
    const at = text.indexOf(p.from);
    if (at < 0 || text.indexOf(p.from, at + 1) >= 0) throw new Error(`${p.file}: the patch "${p.from}" does not match exactly once (${p.why})`);
    text = text.slice(0, at) + p.to + text.slice(at + p.from.length);
  }
  return text;
}

const patchPlugin: Plugin = {
  name: "device-patches",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]cbor-x[\\/]decode\.js$/ }, (args) => ({
      contents: applyPatches(args.path.replaceAll("\\", "/"), readFileSync(args.path, "utf8"), CBOR_X_PATCHES),
      loader: "js",
    }));
  },
};

/**
 * `source` with every top-level `var` statement whose bindings are all initialised and never
 * assigned anywhere in the file declared `const`. Any assignment to the same name counts, in any
 * scope (shadowing only keeps a `var`, never makes a reassigned binding const).
 */
export function restoreConst(source: string): string {
  const file = ts.createSourceFile("bundle.js", source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const assigned = new Set<string>();
  const target = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) assigned.add(node.text);
    else if (ts.isParenthesizedExpression(node)) target(node.expression);
    else if (ts.isArrayLiteralExpression(node)) node.elements.forEach((e) => target(ts.isSpreadElement(e) ? e.expression : e));
    else if (ts.isObjectLiteralExpression(node))
      for (const p of node.properties) {
        if (ts.isShorthandPropertyAssignment(p)) assigned.add(p.name.text);
        else if (ts.isPropertyAssignment(p)) target(p.initializer);
        else if (ts.isSpreadAssignment(p)) target(p.expression);
      }
    else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) target(node.left);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) target(node.left);
    else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)) target(node.operand);
    else if ((ts.isForInStatement(node) || ts.isForOfStatement(node)) && !ts.isVariableDeclarationList(node.initializer)) target(node.initializer);
    ts.forEachChild(node, visit);
  };
  visit(file);
  const edits: number[] = [];
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    if (list.flags & ts.NodeFlags.BlockScoped) continue;
    const constant = list.declarations.every((d) => ts.isIdentifier(d.name) && d.initializer !== undefined && !assigned.has(d.name.text));
    if (constant) edits.push(list.getStart(file));
  }
  let out = source;
  for (const at of edits.reverse()) out = `${out.slice(0, at)}const${out.slice(at + "var".length)}`;
  return out;
}

/** Builds the device modules into `outdir` (dist/device). */
export async function buildDeviceModules(outdir: string): Promise<void> {
  const common: BuildOptions = { outdir, bundle: true, format: "esm", target: "es2022", platform: "neutral", mainFields: ["module", "main"], logLevel: "warning", write: false };
  const results = await Promise.all([
    build({ ...common, entryPoints: { device: "manifests/device.ts", "crypto-worker": "manifests/crypto-worker.ts" }, external: [...sdkModules, ...dependencyModules] }),
    build({
      ...common,
      entryPoints: Object.fromEntries(dependencyModules.map((m) => [m, `manifests/deps/${m}.ts`])),
      // tweetnacl probes require("crypto") when it finds no browser crypto; the device gets an empty
      // module instead, and its random bytes come from the HAL (nacl.setPRNG).
      alias: { crypto: "./manifests/no-node-crypto.js" },
      plugins: [patchPlugin],
    }),
  ]);
  mkdirSync(outdir, { recursive: true });
  for (const f of results.flatMap((r) => r.outputFiles ?? [])) writeFileSync(f.path, restoreConst(f.text));
}
