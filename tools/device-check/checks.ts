/**
 * What the device build relies on and the host engine (xsnap) never exercises, checked on what the
 * real tools produced for one platform:
 *  - preload: the modules the manifest preloads are preloaded (xsl ran their bodies at build time and
 *    stopped on any throw, so reaching the image at all means their top level ran without error);
 *  - worker: a module started with `new Worker(...)` runs in its own XS machine, so it is compiled into
 *    the image but neither preloaded nor imported by anything preloaded;
 *  - warnings: no "no const" and no "not frozen" from this project's modules;
 *  - strip: the linker dead-strips the built-ins no module names; a call that reaches one aborts the
 *    XS machine. Only a name computed at run time can reach one, so a module that holds the name of a
 *    stripped built-in as a string is reported with the place.
 */
import ts from "typescript";
import type { Builtin, ImageFigures } from "./image.js";
import type { WarningsByOrigin } from "./warnings.js";

export interface Check {
  name: "preload" | "worker" | "warnings" | "strip";
  ok: boolean;
  /** What was found, one line per fact. */
  details: string[];
}

/** A JavaScript module of the image: its specifier and source text. */
export interface ModuleSource {
  name: string;
  text: string;
}

export function checkPreload(preload: readonly string[], image: ImageFigures): Check {
  const details: string[] = [];
  for (const name of preload) {
    const s = image.scripts.find((x) => x.name === name);
    if (!s) details.push(`"${name}" is in the manifest's preload list but not in the image`);
    else if (!s.preloaded) details.push(`"${name}" is in the manifest's preload list but the image loads it at run time`);
  }
  return { name: "preload", ok: details.length === 0, details: details.length ? details : [`${preload.length} modules preloaded: ${preload.join(", ")}`] };
}

/** Specifiers imported by `text` (static `import ... from "x"`, `export ... from "x"` and `import("x")` with a literal). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** Specifiers `new Worker("...")` starts in `text`. */
export function workersOf(text: string): string[] {
  return [...text.matchAll(/\bnew\s+Worker\(\s*["']([^"']+)["']/g)].map((m) => m[1]!);
}

export function checkWorkers(own: readonly ModuleSource[], all: readonly ModuleSource[], manifestModules: Record<string, string>, preload: readonly string[], image: ImageFigures): Check {
  const details: string[] = [];
  const problems: string[] = [];
  const workers = [...new Set(own.flatMap((m) => workersOf(m.text)))];
  for (const w of workers) {
    const s = image.scripts.find((x) => x.name === w);
    const importers = all.filter((m) => m.name !== w && importsOf(m.text).includes(w)).map((m) => m.name);
    if (!(w in manifestModules)) problems.push(`new Worker("${w}"): "${w}" is not a module of the manifest`);
    if (!s) problems.push(`new Worker("${w}"): "${w}" is not in the image`);
    else if (s.preloaded || preload.includes(w)) problems.push(`new Worker("${w}"): "${w}" is preloaded, so its top level runs in the main machine at build time instead of in the worker's machine`);
    if (importers.length) problems.push(`new Worker("${w}"): imported by ${importers.join(", ")}, so its top level also runs in the importer's machine`);
    if (s && !s.preloaded && !importers.length) details.push(`"${w}" is started as a worker in its own machine: ${s.codeBytes} bytes of bytecode in the image, loaded when the worker starts; it imports ${importsOf(all.find((m) => m.name === w)?.text ?? "").join(", ") || "nothing"}`);
  }
  if (!workers.length) details.push("no module starts a worker");
  return { name: "worker", ok: problems.length === 0, details: [...problems, ...details] };
}

export function checkWarnings(w: WarningsByOrigin): Check {
  const own = w.own["no const"] + w.own["not frozen"];
  const deps = Object.entries(w.dependencies).map(([d, c]) => `${d} ${c["no const"]} "no const", ${c["not frozen"]} "not frozen"`);
  return {
    name: "warnings",
    ok: own === 0,
    details: [`this project's modules: ${w.own["no const"]} "no const", ${w.own["not frozen"]} "not frozen"`, `dependencies: ${deps.join("; ") || "none"}`, `SDK modules and globals: ${w.sdk["no const"]} "no const", ${w.sdk["not frozen"]} "not frozen"`],
  };
}

/** String literals in `text` (JavaScript), with their line numbers. */
export function stringLiterals(text: string): Array<{ value: string; line: number }> {
  const file = ts.createSourceFile("module.js", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const out: Array<{ value: string; line: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push({ value: node.text, line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1 });
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** A string in a module that names a stripped built-in, looked at and found harmless. */
export interface ReviewedString {
  module: string;
  value: string;
  why: string;
}

/**
 * The strings reviewed so far. Each says why no member access computed from it can reach the stripped
 * built-in it names.
 */
export const REVIEWED_STRINGS: readonly ReviewedString[] = [
  {
    module: "cbor-x",
    value: "__proto__",
    why: "cbor-x compares decoded map keys with it to rename them, never reads obj.__proto__; and our messages have no maps (firmware/uplink/cbor-subset.ts rejects them before cbor-x decodes)",
  },
];

/**
 * Strings in the image's modules that could reach a stripped built-in through a computed member access
 * (`x[name]`): the name of a stripped built-in whose owner is reachable (the global object, or an
 * object or constructor that keeps another built-in) and that no kept built-in shares, or the name of
 * a global the linker stripped entirely (reachable as `globalThis[name]`). Strings in REVIEWED_STRINGS
 * are reported as reviewed.
 */
export function checkStrip(all: readonly Builtin[], modules: readonly ModuleSource[], reviewed: readonly ReviewedString[] = REVIEWED_STRINGS): Check {
  const root = (b: Builtin) => b.path.split(".")[0]!;
  const keptNames = new Set(all.filter((b) => !b.stripped).map((b) => b.name));
  const liveRoots = new Set(all.filter((b) => !b.stripped).map(root));
  const dead = new Map<string, string[]>();
  const add = (name: string, path: string) => dead.set(name, [...(dead.get(name) ?? []), path]);
  for (const b of all.filter((x) => x.stripped)) {
    const r = root(b);
    if (r === b.path || !liveRoots.has(r)) add(r, r); // a global, or an owner with nothing kept: reachable only by its own name
    else if (!keptNames.has(b.name)) add(b.name, b.path);
  }
  const problems: string[] = [];
  const accepted: string[] = [];
  for (const m of modules)
    for (const lit of stringLiterals(m.text)) {
      const paths = dead.get(lit.value);
      if (!paths) continue;
      const at = `${m.name}:${lit.line}: the string "${lit.value}" names ${[...new Set(paths)].join(", ")}, stripped`;
      const ok = reviewed.find((r) => r.module === m.name && r.value === lit.value);
      if (ok) accepted.push(`${at} (reviewed: ${ok.why})`);
      else problems.push(`${at}: a call through it would abort the XS machine`);
    }
  const stripped = all.filter((b) => b.stripped).length;
  const summary = !stripped
    ? "nothing stripped (the manifest turns the SDK's strip off)"
    : `${stripped} of ${all.length} built-in functions stripped; ${problems.length ? `${problems.length} string(s) in the modules name one` : "no string in the modules reaches one"}`;
  return { name: "strip", ok: problems.length === 0, details: [summary, ...problems, ...accepted] };
}
