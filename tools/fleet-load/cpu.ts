/**
 * CPU time of processes from /proc (Linux): what the fleet generator reports per part of a run
 * (generator, workers, PostgreSQL), to tell where a machine's cores went.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux for every architecture Node runs on). */
const TICKS_PER_S = 100;

/** [ppid, user + system ticks] of a process, or undefined (gone, or no /proc). */
function stat(pid: number): [number, number] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // after "pid (comm) ": state is f[0]
    return [Number(f[1]), Number(f[11]) + Number(f[12])];
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process and its living children have used so far; 0 without /proc. */
export function cpuSecondsOfTree(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ticks = stat(pid)?.[1] ?? 0;
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const e of entries) {
    const s = stat(Number(e));
    if (s && s[0] === pid) ticks += s[1];
  }
  return ticks / TICKS_PER_S;
}
