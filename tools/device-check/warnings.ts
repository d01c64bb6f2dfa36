/**
 * The XS linker's warnings about preloaded modules (SDK documentation/xs/XS linker warnings.md):
 * "no const", a mutable closure (a module-level `let` or `var`), and "not frozen", an object that is
 * not frozen. Each costs one RAM pointer in every XS machine, whether or not it is ever written.
 *
 *   ### warning: device: start() Concentrator() StateLayout: not frozen
 *   ### warning: globalThis.g: not frozen
 */

export type WarningKind = "no const" | "not frozen";

export interface LinkerWarning {
  /** The module whose exports reach the closure or object ("" for a global). */
  module: string;
  /** The way there, as xsl prints it. */
  path: string;
  kind: WarningKind;
}

export function parseWarnings(log: string): LinkerWarning[] {
  const out: LinkerWarning[] = [];
  for (const m of log.matchAll(/^### warning: (.*): (no const|not frozen)$/gm)) {
    const where = m[1]!;
    const global = where.startsWith("globalThis.");
    const colon = where.indexOf(": ");
    out.push({ module: global || colon < 0 ? "" : where.slice(0, colon), path: global || colon < 0 ? where : where.slice(colon + 2), kind: m[2] as WarningKind });
  }
  return out;
}

export interface WarningCounts {
  "no const": number;
  "not frozen": number;
}

export interface WarningsByOrigin {
  /** This project's modules (everything the manifest names that is not a dependency). */
  own: WarningCounts;
  /** Per npm dependency module. */
  dependencies: Record<string, WarningCounts>;
  /** Modules of the Moddable SDK, and globals. */
  sdk: WarningCounts;
  /** Where each of this project's warnings is, as xsl prints it: what to make `const` or freeze. */
  ownPaths: string[];
}

const zero = (): WarningCounts => ({ "no const": 0, "not frozen": 0 });

/** Counts `warnings` by origin: `own` and `dependencies` are module names. */
export function countWarnings(warnings: LinkerWarning[], own: Set<string>, dependencies: Set<string>): WarningsByOrigin {
  const out: WarningsByOrigin = { own: zero(), dependencies: Object.fromEntries([...dependencies].map((d) => [d, zero()])), sdk: zero(), ownPaths: [] };
  for (const w of warnings) {
    const counts = own.has(w.module) ? out.own : dependencies.has(w.module) ? out.dependencies[w.module]! : out.sdk;
    counts[w.kind]++;
    if (own.has(w.module)) out.ownPaths.push(`${w.module}: ${w.path}: ${w.kind}`);
  }
  return out;
}
