/** The corpus of real readouts the tests use (host-tests/corpus: sources and licences in its README and MANIFEST.tsv). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const CORPUS = "host-tests/corpus";

export function corpusFile(path: string): Uint8Array {
  return Uint8Array.from(readFileSync(join(CORPUS, path)));
}

/** Every readout file under d0/ and dsmr/ (recursively), as paths relative to the corpus. */
export function corpusFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(CORPUS, dir)).sort()) {
      const rel = `${dir}/${name}`;
      if (statSync(join(CORPUS, rel)).isDirectory()) walk(rel);
      else if (/\.(txt|bin)$/.test(name)) out.push(rel);
    }
  };
  walk("d0");
  walk("dsmr");
  return out;
}
