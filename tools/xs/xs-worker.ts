/**
 * Starts an XS engine (xsnap, Moddable's XS built from source by @agoric/xsnap) and loads a bundle.
 * The xsnap driver needs @endo/init (SES lockdown of this process), so only scripts that run in their
 * own process import this module: never mocha.
 */
import "@endo/init";
import { xsnap } from "@agoric/xsnap";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";

export interface MeteredReply<T> {
  reply: T;
  /** XS computation units of the crank. */
  compute: number;
  /** Live heap slots after the crank's last garbage collection. */
  heapSlots: number;
}

export interface XsWorker {
  command<T>(message: unknown): Promise<MeteredReply<T>>;
  /** The machine's whole state now (xsnap's snapshot), to start a copy of it with `resumeXs`. */
  snapshot(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function startXs(bundle: string, name: string): Promise<XsWorker> {
  const worker = await spawnXs(name);
  await worker.evaluate(bundle);
  return wrap(worker);
}

/** A new XS machine in the state `snapshot` recorded: the copy goes its own way from there. */
export async function resumeXs(snapshot: Uint8Array, name: string): Promise<XsWorker> {
  return wrap(await spawnXs(name, snapshot));
}

async function spawnXs(name: string, snapshot?: Uint8Array) {
  return xsnap({
    ...(snapshot ? { snapshotStream: (async function* () { yield snapshot; })() } : {}),
    name,
    os: os.type(),
    spawn,
    fs: { ...fsp, createReadStream: fs.createReadStream } as never,
    stdout: "inherit",
    stderr: "inherit",
    meteringLimit: 0,
  });
}

function wrap(worker: Awaited<ReturnType<typeof xsnap>>): XsWorker {
  return {
    async command<T>(message: unknown) {
      const r = await worker.issueStringCommand(JSON.stringify(message));
      return {
        reply: JSON.parse(r.reply) as T,
        compute: Number(r.meterUsage.compute ?? 0),
        heapSlots: Number(r.meterUsage.currentHeapCount ?? 0),
      };
    },
    async snapshot() {
      const parts: Uint8Array[] = [];
      for await (const part of worker.makeSnapshotStream()) parts.push(part);
      return Buffer.concat(parts);
    },
    close: () => worker.close(),
  };
}
