#!/usr/bin/env node
/**
 * The dependency rule of docs/design.md, enforced: firmware/ never imports hal/sim, hal/moddable, tools/,
 * host-tests/ or manifests/; hal/sim imports only hal interfaces and itself; tools/ never imports
 * host-tests/ (tests use tools, not the other way round); the simulated site and its
 * servers (tools/site, tools/sim), which run inside XS too, import only firmware, hal, each other,
 * the head-end's pure core and OTA campaigns and the OTA package builder; none of them imports anything
 * that is not pure ECMAScript (Node
 * built-ins, Moddable SDK modules, packages not on the allow list).
 * Type-checking without Node types (tsconfig.device.json) catches Node globals; this catches imports.
 *
 *   node dist/tools/check-imports.js     exits 1 and lists every violation
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";

/**
 * npm packages that are pure ECMAScript: cbor-x and tweetnacl fit the device (docs/design.md names
 * them), and @noble/ciphers (AES-GCM) and fflate only stand in, in hal/sim, for the device's native
 * AES and inflater.
 */
const PURE_PACKAGES = new Set(["cbor-x", "tweetnacl", "@noble/ciphers", "fflate"]);

interface Rule {
  root: string;
  /** Folders (relative to the project) a relative import may reach. */
  allowed: (target: string) => boolean;
  /** Host code: packages and Node built-ins are fine (default: pure ECMAScript only). */
  host?: boolean;
}

const RULES: Rule[] = [
  {
    root: "firmware",
    allowed: (t) => t.startsWith("firmware/") || (t.startsWith("hal/") && !t.startsWith("hal/sim/") && !t.startsWith("hal/moddable/")),
  },
  {
    root: "hal/sim",
    allowed: (t) => t.startsWith("hal/sim/") || (t.startsWith("hal/") && !t.startsWith("hal/moddable/") && dirname(t) === "hal"),
  },
  { root: "tools", allowed: (t) => !t.startsWith("host-tests/"), host: true },
  ...["tools/site", "tools/sim"].map((root) => ({
    root,
    allowed: (t: string) =>
      t.startsWith("firmware/") ||
      (t.startsWith("hal/") && !t.startsWith("hal/moddable/")) ||
      t.startsWith("tools/site/") ||
      t.startsWith("tools/sim/") ||
      t === "tools/headend/core.js" ||
      t === "tools/headend/memory-store.js" ||
      t === "tools/headend/ota-campaign.js" ||
      t === "tools/ota/package.js",
  })),
];

function files(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports or re-exports, with its line. */
export function specifiers(path: string, text: string): Array<{ spec: string; line: number }> {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const out: Array<{ spec: string; line: number }> = [];
  const visit = (node: ts.Node) => {
    let lit: ts.Expression | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) lit = node.moduleSpecifier;
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require"))) lit = node.arguments[0];
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) lit = node.argument.literal as ts.Expression;
    if (lit) {
      const spec = ts.isStringLiteralLike(lit) ? lit.text : "<dynamic>";
      out.push({ spec, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The rule of the innermost folder holding `rel`. */
function ruleOf(rel: string): Rule | undefined {
  let best: Rule | undefined;
  for (const r of RULES) if (rel.startsWith(`${r.root}/`) && (!best || r.root.length > best.root.length)) best = r;
  return best;
}

export function violations(projectRoot: string): string[] {
  const problems: string[] = [];
  for (const rule of RULES) {
    for (const file of files(join(projectRoot, rule.root))) {
      const rel = relative(projectRoot, file).replace(/\\/g, "/");
      if (ruleOf(rel) !== rule) continue; // judged by a rule for a folder inside this one
      for (const { spec, line } of specifiers(file, readFileSync(file, "utf8"))) {
        const where = `${rel}:${line}`;
        if (spec.startsWith(".")) {
          const target = normalize(join(dirname(rel), spec)).replace(/\\/g, "/");
          if (!rule.allowed(target)) problems.push(`${where}: imports ${spec} (${target}), outside what ${rule.root}/ may use`);
        } else if (!rule.host) {
          const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
          if (!PURE_PACKAGES.has(pkg)) problems.push(`${where}: imports "${spec}", which is not pure ECMAScript on the allow list`);
        }
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = violations(process.cwd());
  for (const p of problems) console.error(p);
  console.log(problems.length ? `import boundary: ${problems.length} violation(s)` : "import boundary: ok");
  process.exitCode = problems.length ? 1 : 0;
}
