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
 *    stripped built-in as a string is reported with the place;
 *  - read-only: a preloaded typed array, DataView, Map, Set, WeakMap, WeakSet or Date cannot be aliased,
 *    so writing it throws a TypeError on the device; a module that writes one held by a variable of its
 *    own is reported with the place.
 */
import ts from "typescript";
import type { Builtin, ImageFigures, ReadOnlyVariable } from "./image.js";
import type { WarningsByOrigin } from "./warnings.js";

export interface Check {
  name: "preload" | "worker" | "warnings" | "strip" | "read-only";
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
    details: [`this project's modules: ${w.own["no const"]} "no const", ${w.own["not frozen"]} "not frozen"`, ...w.ownPaths, `dependencies: ${deps.join("; ") || "none"}`, `SDK modules and globals: ${w.sdk["no const"]} "no const", ${w.sdk["not frozen"]} "not frozen"`],
  };
}

const parsed = new Map<string, ts.SourceFile>();
/** `text` parsed as a JavaScript module (the last few are kept: each check reads the same modules). */
function parse(text: string): ts.SourceFile {
  let file = parsed.get(text);
  if (!file) {
    file = ts.createSourceFile("module.js", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
    if (parsed.size >= 8) parsed.delete(parsed.keys().next().value!);
    parsed.set(text, file);
  }
  return file;
}

/** String literals in `text` (JavaScript), with their line numbers. */
export function stringLiterals(text: string): Array<{ value: string; line: number }> {
  const file = parse(text);
  const out: Array<{ value: string; line: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push({ value: node.text, line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1 });
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** A finding in a module (a string, or a variable written), looked at and found harmless, with why. */
export interface Reviewed {
  module: string;
  /** The string, or the variable. */
  value: string;
  why: string;
}

/**
 * The strings reviewed so far. Each says why no member access computed from it can reach the stripped
 * built-in it names.
 */
export const REVIEWED_STRINGS: readonly Reviewed[] = [
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
export function checkStrip(all: readonly Builtin[], modules: readonly ModuleSource[], reviewed: readonly Reviewed[] = REVIEWED_STRINGS): Check {
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

/** Methods that change their receiver, by the class of a read-only instance. */
const MUTATORS: Record<ReadOnlyVariable["class"], RegExp> = {
  TypedArray: /^(set|fill|copyWithin|sort|reverse)$/,
  DataView: /^set[A-Z]/,
  Map: /^(set|delete|clear|getOrInsert|getOrInsertComputed)$/,
  Set: /^(add|delete|clear)$/,
  WeakMap: /^(set|delete|getOrInsert|getOrInsertComputed)$/,
  WeakSet: /^(add|delete)$/,
  Date: /^set[A-Z]/,
};

/** The name a declaration binds: a variable, a parameter, a function or a class (undefined otherwise). */
function declaredName(node: ts.Node): string | undefined {
  const named = ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node);
  return named && node.name && ts.isIdentifier(node.name) ? node.name.text : undefined;
}

/** A parameter or a `var`: bound in the enclosing function, wherever it is written. */
function hoisted(node: ts.Node): boolean {
  return ts.isParameter(node) || (ts.isVariableDeclaration(node) && ts.isVariableDeclarationList(node.parent) && !(node.parent.flags & ts.NodeFlags.BlockScoped));
}

/** The block, statement or file a `let`, `const`, class, function or catch parameter is bound in. */
function lexicalScope(node: ts.Node): ts.Node {
  if (!ts.isVariableDeclaration(node) || !ts.isVariableDeclarationList(node.parent)) return node.parent; // functions, classes, catch (e)
  const list = node.parent;
  return ts.isVariableStatement(list.parent) ? list.parent.parent : list.parent; // a block or file, or a for statement
}

/** Whether `scope` (a function, block, file, for statement or catch clause) itself declares `name`. */
function declares(scope: ts.Node, name: string): boolean {
  const functionScope = ts.isFunctionLike(scope) || ts.isSourceFile(scope);
  const visit = (node: ts.Node): boolean => {
    if (declaredName(node) === name && (hoisted(node) ? functionScope : lexicalScope(node) === scope)) return true;
    if (node !== scope && (ts.isFunctionLike(node) || ts.isClassLike(node))) return false; // a scope of its own
    if (node !== scope && !functionScope && ts.isBlock(node)) return false; // a nested block's lets are its own
    return ts.forEachChild(node, visit) === true;
  };
  return visit(scope);
}

/** The scope that declares `id`'s name, nearest first (undefined: a global). */
function declaringScope(id: ts.Identifier): ts.Node | undefined {
  for (let n: ts.Node | undefined = id.parent; n; n = n.parent) {
    if ((ts.isFunctionLike(n) || ts.isBlock(n) || ts.isSourceFile(n) || ts.isForStatement(n) || ts.isCatchClause(n)) && declares(n, id.text)) return n;
  }
  return undefined;
}

/**
 * A scope whose code runs when the module loads, that is at preload: the module's top level, a function
 * called where it is written (`(function () { ... })()`), or the body esbuild wraps a CommonJS
 * dependency in (`__commonJS({ "path"(exports, module) { ... } })`), inside such scopes.
 */
function runsAtLoad(scope: ts.Node): boolean {
  if (ts.isSourceFile(scope)) return true;
  if (!ts.isFunctionLike(scope)) return scope.parent !== undefined && runsAtLoad(enclosingScope(scope.parent));
  let callee: ts.Node = scope;
  while (ts.isParenthesizedExpression(callee.parent)) callee = callee.parent;
  const iife = ts.isCallExpression(callee.parent) && callee.parent.expression === callee;
  const wrapped = ts.isMethodDeclaration(scope) && ts.isObjectLiteralExpression(scope.parent) && ts.isCallExpression(scope.parent.parent) && /^__(commonJS|esm)$/.test(scope.parent.parent.expression.getText());
  return (iife || wrapped) && runsAtLoad(enclosingScope(scope.parent));
}

function enclosingScope(node: ts.Node): ts.Node {
  let n = node;
  while (!ts.isSourceFile(n) && !ts.isFunctionLike(n)) n = n.parent;
  return n;
}

/** A write to a preloaded read-only instance, looked at and found unreachable by our firmware. */
export const REVIEWED_WRITES: readonly Reviewed[] = [
  {
    module: "cbor-x",
    value: "nestedDecodeErrors",
    why: "written only by a decode nested inside another, which only a cbor-x extension (a tag) starts; our messages have no tags (firmware/uplink/cbor-subset.ts rejects them before cbor-x decodes)",
  },
];

/**
 * Writes to the read-only preloaded instances `variables` hold: an element assignment (`v[i] = x`,
 * `v[i]++`) or a call of a method that changes its receiver (`v.fill(0)`, `set.add(x)`), in a function
 * that runs after the preload, where `v` resolves to a declaration of a scope that runs at load (the
 * one the preload ran). Not seen: a write through another name, or inside a function the instance is
 * passed to. Writes in REVIEWED_WRITES are reported as reviewed.
 */
export function checkReadOnly(variables: readonly ReadOnlyVariable[], modules: readonly ModuleSource[], reviewed: readonly Reviewed[] = REVIEWED_WRITES): Check {
  const byName = new Map(variables.map((v) => [v.variable, v]));
  const problems: string[] = [];
  const accepted: string[] = [];
  const held: string[] = [];
  for (const m of modules) {
    const file = parse(m.text);
    const names = new Set<string>();
    const visit = (node: ts.Node): void => {
      ts.forEachChild(node, visit);
      if (!ts.isIdentifier(node) || !byName.has(node.text)) return;
      const scope = declaringScope(node);
      if (!scope || !runsAtLoad(scope)) return;
      names.add(node.text);
      if (enclosingScope(node) === enclosingScope(scope)) return; // runs at load, before the preload ends
      const v = byName.get(node.text)!;
      const parent = node.parent;
      if (!(ts.isElementAccessExpression(parent) || ts.isPropertyAccessExpression(parent)) || parent.expression !== node) return;
      const outer = parent.parent;
      const assigned =
        (ts.isBinaryExpression(outer) && outer.left === parent && outer.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && outer.operatorToken.kind <= ts.SyntaxKind.LastAssignment) ||
        ((ts.isPrefixUnaryExpression(outer) || ts.isPostfixUnaryExpression(outer)) && (outer.operator === ts.SyntaxKind.PlusPlusToken || outer.operator === ts.SyntaxKind.MinusMinusToken));
      const write =
        assigned && ts.isElementAccessExpression(parent)
          ? `${node.text}[...] is assigned`
          : ts.isPropertyAccessExpression(parent) && ts.isCallExpression(outer) && outer.expression === parent && MUTATORS[v.class].test(parent.name.text)
            ? `${node.text}.${parent.name.text}() is called`
            : undefined;
      if (!write) return;
      const at = `${m.name}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}: ${write}, but ${node.text} holds a preloaded ${v.class}, read-only on the device`;
      const ok = reviewed.find((r) => r.module === m.name && r.value === node.text);
      if (ok) accepted.push(`${at} (reviewed: ${ok.why})`);
      else problems.push(`${at} (TypeError)`);
    };
    visit(file);
    for (const name of [...names].sort()) held.push(`${m.name}: ${name} (${byName.get(name)!.class})`);
  }
  const summary = `${variables.length} variables hold a preloaded ${[...new Set(variables.map((v) => v.class))].join(", ") || "read-only instance"}, read-only on the device; ${problems.length ? `${problems.length} write(s) after the preload` : "no module writes one after the preload"}`;
  return { name: "read-only", ok: problems.length === 0, details: [summary, ...problems, ...accepted, ...(held.length ? [`held by ${held.join(", ")}`] : [])] };
}
