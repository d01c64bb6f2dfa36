/**
 * The head-end's schema migrations: numbered SQL files in tools/headend/migrations, applied in order
 * at start-up, each once, each in its own transaction with its number recorded in `schema_migration`.
 *
 *   NNN-name.sql            the same SQL for SQLite and PostgreSQL
 *   NNN-name.sqlite.sql     this number for SQLite only, where the dialects differ ...
 *   NNN-name.postgres.sql   ... and its PostgreSQL counterpart (both must exist)
 */
import { readdirSync, readFileSync } from "node:fs";

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where the build puts the SQL files (copied beside this module's output). */
export const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** The table that records what was applied (the same SQL in both dialects). */
export const MIGRATION_TABLE = "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";

const FILE = /^(\d{3})-([a-z0-9-]+?)(?:\.(sqlite|postgres))?\.sql$/;

/** The migrations of a dialect in order; throws when the numbers have a hole or a dialect lacks one. */
export function migrationsFor(dialect: Dialect, dir: URL = MIGRATIONS_DIR): Migration[] {
  const byVersion = new Map<number, { common?: string; own?: string; name: string }>();
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    const entry = byVersion.get(version) ?? { name: m[2]! };
    if (m[3] === undefined) entry.common = file;
    else if (m[3] === dialect) entry.own = file;
    byVersion.set(version, entry);
  }
  const out: Migration[] = [];
  for (let version = 1; version <= byVersion.size; version++) {
    const entry = byVersion.get(version);
    if (!entry) throw new Error(`migrations: no file numbered ${String(version).padStart(3, "0")} in ${dir.pathname}`);
    const file = entry.own ?? entry.common;
    if (!file) throw new Error(`migrations: ${String(version).padStart(3, "0")} has no file for ${dialect}`);
    out.push({ version, name: entry.name, sql: readFileSync(new URL(file, dir), "utf8") });
  }
  return out;
}
