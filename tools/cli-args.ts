/**
 * Command-line options for the tools: `--name value` pairs and `--flag` booleans, checked against a
 * declared set so a typo is an error, not a silently ignored option. A "strings" option may be given
 * more than once; its values are collected in order.
 */
export type OptionSpec = Record<string, "string" | "strings" | "number" | "boolean">;
export type ParsedOptions<S extends OptionSpec> = {
  [K in keyof S]?: S[K] extends "number" ? number : S[K] extends "boolean" ? boolean : S[K] extends "strings" ? string[] : string;
} & { _: string[] };

export function parseOptions<S extends OptionSpec>(argv: string[], spec: S): ParsedOptions<S> {
  const out: Record<string, unknown> = { _: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || a === "-") {
      (out._ as string[]).push(a);
      continue;
    }
    const name = a.slice(2);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === "boolean") {
      out[name] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === "number") {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`--${name}: "${v}" is not a number`);
      out[name] = n;
    } else if (kind === "strings") out[name] = [...((out[name] as string[] | undefined) ?? []), v];
    else out[name] = v;
  }
  return out as ParsedOptions<S>;
}

export class UsageError extends Error {
  override name = "UsageError";
}
