/**
 * The command side of a bundle evaluated in xsnap: JSON in, JSON out, one command per crank (so the
 * crank's XS meter is the command's cost). A throw becomes `{ error }` instead of killing the worker.
 * Used by the scenario harness (entry.ts) and the benchmarks' XS entries.
 */
export function serveJsonCommands<C>(execute: (command: C) => unknown): void {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  (globalThis as { handleCommand?: (msg: ArrayBuffer) => ArrayBuffer }).handleCommand = (msg) => {
    let reply: unknown;
    try {
      reply = execute(JSON.parse(decoder.decode(msg)) as C) ?? null;
    } catch (e) {
      const err = e as Error;
      reply = { ok: false, error: `${err.name}: ${err.message}` };
    }
    return encoder.encode(JSON.stringify(reply)).buffer as ArrayBuffer;
  };
}
