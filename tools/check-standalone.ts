#!/usr/bin/env node
/**
 * The repository stands alone: a clone with nothing beside it must build, test and read completely.
 * This check lists every place in the repository's text files (sources, docs, scripts, manifests,
 * data) that names a path outside it: a relative path that climbs ("..") and, read from the file's
 * own folder, from the root (where the tests and tools run) or from the file's place under dist/
 * (where the built tools run), never lands in a folder of the repository; or an absolute path into a
 * developer's workspace. It also lists the lines a merge left unresolved (a conflict's opening or
 * closing marker at the start of a line): such a file was committed half-merged.
 * A file whose text says `check-standalone: fixture paths` (tests that write a project into a temporary
 * folder) holds paths of that project, not of this one, and is not searched.
 *
 *   node dist/tools/check-standalone.js     exits 1 and lists every such reference
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** Folders that are not the project's own text: installed, generated or git's own. */
const SKIP = new Set([".git", "node_modules", "dist", ".cache"]);
/** Files read as text; anything else (captures, images, archives) is data and is not searched. */
const TEXT = /\.(ts|mts|js|mjs|cjs|json|md|txt|tsv|csv|c|h|sh|yml|yaml|html|css|defaults)$|^(run|Makefile|LICENSE[^/]*|README[^/]*)$/;
/** A path-like token that climbs out of its folder. */
const CLIMB = /(?:\.\.\/)+[A-Za-z0-9_.$-][^\s"'`)<>\]*,;]*/g;
/** Absolute paths into a workspace that only one machine has. */
const FOREIGN_ABSOLUTE = /(?:^|[\s"'`(=])(\/work\/[A-Za-z0-9_.-]+|\/home\/[A-Za-z0-9_.-]+\/|\/Users\/[A-Za-z0-9_.-]+\/)/g;

const FIXTURE_MARK = ["check-standalone", "fixture paths"].join(": ");
/** A merge conflict's opening or closing marker, as git writes it. */
const CONFLICT_MARKER = /^(?:<{7}|>{7})(?: |$)/;

export interface OutsideReference {
  file: string;
  line: number;
  text: string;
}

function walk(root: string, dir: string, out: string[]): void {
  for (const name of readdirSync(join(root, dir)).sort()) {
    if (SKIP.has(name)) continue;
    const rel = dir ? `${dir}/${name}` : name;
    const st = statSync(join(root, rel));
    if (st.isDirectory()) walk(root, rel, out);
    else if (TEXT.test(name) && st.size < 4_000_000) out.push(rel);
  }
}

/** True when `target`, read from `from`, lands in an existing folder of the repository. */
function landsInside(root: string, from: string, target: string): boolean {
  const abs = resolve(root, from, target);
  const r = relative(root, abs);
  return !(r === ".." || r.startsWith(`..${sep}`)) && existsSync(dirname(abs));
}

/** The repository's text files, relative to `root`. */
function textFiles(root: string): string[] {
  const files: string[] = [];
  walk(root, "", files);
  return files;
}

/** Every line of the files under `root` that a merge left unresolved (its conflict markers). */
export function conflictMarkers(root: string): OutsideReference[] {
  const found: OutsideReference[] = [];
  for (const file of textFiles(root)) {
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (CONFLICT_MARKER.test(line)) found.push({ file, line: i + 1, text: line });
      });
  }
  return found;
}

/** Every reference to a path outside `root` in the files under it. */
export function outsideReferences(root: string): OutsideReference[] {
  const files = textFiles(root);
  const found: OutsideReference[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    const fixtures = text.includes(FIXTURE_MARK);
    text.split("\n").forEach((line, i) => {
      for (const m of fixtures ? [] : line.matchAll(CLIMB)) {
        const target = m[0].replace(/[.:]+$/, "");
        const bases = [dirname(file), ".", join("dist", dirname(file))];
        if (!bases.some((b) => landsInside(root, b, target))) found.push({ file, line: i + 1, text: target });
      }
      for (const m of fixtures ? [] : line.matchAll(FOREIGN_ABSOLUTE)) found.push({ file, line: i + 1, text: m[1]! });
    });
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = outsideReferences(process.cwd());
  for (const f of found) console.error(`${f.file}:${f.line}: refers to ${f.text}, outside the repository`);
  if (found.length > 0) console.error(`check-standalone: ${found.length} reference(s) to paths outside the repository; bring what they need inside.`);
  const unmerged = conflictMarkers(process.cwd());
  for (const f of unmerged) console.error(`${f.file}:${f.line}: a merge conflict's marker, left unresolved: ${f.text}`);
  if (unmerged.length > 0) console.error(`check-standalone: ${unmerged.length} unresolved merge marker(s).`);
  if (found.length > 0 || unmerged.length > 0) process.exit(1);
}
