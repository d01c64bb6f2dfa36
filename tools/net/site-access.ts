/**
 * A simulated site an engineer can reach while it runs (docs/console.md "The simulation"): its
 * console on a TCP port or a pseudo-terminal, each RS485 bus as an RS485-to-Ethernet converter's TCP
 * port, and a run in real time (or faster) that ends cleanly on SIGINT or SIGTERM.
 */
import { parseConsoleSpec, ConsoleServer } from "./console-port.js";
import type { RealTimeRunner } from "./realtime-runner.js";
import { BusConverter, tunnelBus } from "./tcp-bus.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { UsageError } from "../cli-args.js";
import type { Site } from "../site/site.js";

export interface ReachOptions {
  /** "tcp:HOST:PORT" or "pty[:PATH]". */
  console?: string;
  /** "HOST:PORT": bus i is exposed at PORT + i. */
  busTcp?: string;
  /** "tcp://HOST:PORT[,tcp://HOST:PORT]": bus i of the board polls the converter at the i-th address instead of the simulated bus. */
  bus?: string;
}

/** Checks the options' forms before anything starts (a usage error, not a half-started site). */
export function checkReachOptions(o: ReachOptions): void {
  if (o.console !== undefined && !parseConsoleSpec(o.console)) throw new UsageError("--console: tcp:HOST:PORT or pty[:PATH]");
  if (o.busTcp !== undefined && !hostPort(o.busTcp)) throw new UsageError("--bus-tcp: HOST:PORT (bus i listens on PORT + i)");
  if (o.bus !== undefined && !o.bus.split(",").every((u) => /^tcp:\/\/.+:\d{1,5}$/.test(u))) throw new UsageError("--bus: tcp://HOST:PORT[,tcp://HOST:PORT]");
}

function hostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(.+):(\d{1,5})$/.exec(text.replace(/^tcp:\/\//, ""));
  return m && Number(m[2]) <= 65535 ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** Opens what `o` asks for on `site` (built on `runner`'s scheduler); prints where; returns the closer. */
export async function reachSite(site: Site, runner: RealTimeRunner, o: ReachOptions): Promise<() => void> {
  const closers: Array<() => void> = [];
  const w = site.world;
  const id = site.concentrator?.site.concentratorId;
  if (o.console !== undefined) {
    const server = new ConsoleServer(runner, w.board, w.prng);
    console.log(`console: ${await server.open(parseConsoleSpec(o.console)!, id)}`);
    closers.push(() => server.close());
  }
  if (o.busTcp !== undefined) {
    const at = hostPort(o.busTcp)!;
    for (const [i, bus] of w.buses.entries()) {
      const converter = new BusConverter(runner, bus, w.prng, { name: `${bus.name}.converter` });
      const a = await converter.listen(at.host, at.port === 0 ? 0 : at.port + i);
      console.log(`${bus.name}: RS485-to-Ethernet converter at ${a.address}:${a.port} (raw TCP, 2400 Bd 7E1)`);
      closers.push(() => converter.close());
    }
  }
  if (o.bus !== undefined) {
    for (const [i, url] of o.bus.split(",").entries()) {
      const port = w.board.rs485[i];
      if (!port) throw new UsageError(`--bus: the board has ${w.board.rs485.length} RS485 ports`);
      // The board's port leaves the simulated bus for a segment of its own whose other node is the converter.
      const segment = new Rs485Bus(w.scheduler, w.prng.fork(`segment${i}`), { name: `bus${i}-segment` });
      segment.attach({ uart: port.uart, de: port.de, echo: true });
      const at = hostPort(url)!;
      const tunnel = await tunnelBus(runner, segment, w.prng, at.host, at.port);
      console.log(`bus${i}: polled through the converter at ${at.host}:${at.port}`);
      closers.push(() => tunnel.close());
    }
  }
  return () => closers.forEach((c) => c());
}

/** Runs until SIGINT or SIGTERM, or `limitMs` of simulated time; returns why it stopped. */
export async function runUntilStopped(runner: RealTimeRunner, limitMs: number): Promise<"signal" | "done"> {
  let stopped = false;
  const stop = () => (stopped = true);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await runner.run(() => stopped, limitMs);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return stopped ? "signal" : "done";
}
