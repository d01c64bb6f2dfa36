/**
 * `chunkFigures` (snapshot-chunks.ts) in a thread of its own. A day's run reads two snapshots of
 * 30–40 MB per sample, a few hundred milliseconds each; on the runner's main thread that held up
 * the machine's next crank, which waits on that thread for its command (docs/memory.md, "Running
 * a day"). This module is both: imported, it gives `ChunkCounter`; started as a worker, it counts.
 */
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { chunkFigures, type ChunkFigures } from "./snapshot-chunks.js";

interface Request {
  id: number;
  snapshot: Uint8Array;
}
type Reply = { id: number; figures: ChunkFigures } | { id: number; error: string };

/** Counts snapshots' chunks in a worker thread, one after another in the order asked. */
export class ChunkCounter {
  readonly #worker = new Worker(new URL(import.meta.url));
  readonly #waiting = new Map<number, { resolve: (f: ChunkFigures) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor() {
    this.#worker.on("message", (r: Reply) => {
      const w = this.#waiting.get(r.id)!;
      this.#waiting.delete(r.id);
      if ("error" in r) w.reject(new Error(r.error));
      else w.resolve(r.figures);
    });
    this.#worker.on("error", (e) => {
      for (const w of this.#waiting.values()) w.reject(e);
      this.#waiting.clear();
    });
  }

  /** The chunk figures of `snapshot` (copied to the worker: the caller may go on using it). */
  figures(snapshot: Uint8Array): Promise<ChunkFigures> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, snapshot } satisfies Request);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

if (!isMainThread) {
  const port = parentPort!;
  port.on("message", ({ id, snapshot }: Request) => {
    let reply: Reply;
    try {
      reply = { id, figures: chunkFigures(snapshot) };
    } catch (e) {
      reply = { id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    port.postMessage(reply);
  });
}
