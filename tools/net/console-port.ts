/**
 * The simulated concentrator's service port, reachable from this machine while the simulation runs:
 *
 * - `tcp:HOST:PORT` — a TCP server; a client's bytes are typed on a terminal wired to the board's
 *   console UART (hal/sim/terminal.ts: at the port's bit rate, through the board's 128-byte FIFO), and
 *   what the console writes goes back to the client. One client at a time, like a serial port: a second
 *   connection is told so and closed.
 * - `pty[:PATH]` — a pseudo-terminal for picocom, screen or minicom: Debian's socat links a PTY to the
 *   TCP server above (on a free loopback port) and is started again whenever the terminal program
 *   closes the PTY. PATH (default /tmp/mcID-console) is a symbolic link to the PTY.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { SimBoard } from "../../hal/sim/board.js";
import type { Prng } from "../../hal/sim/prng.js";
import { SimTerminal } from "../../hal/sim/terminal.js";
import type { RealIo, RealTimeRunner } from "./realtime-runner.js";

export type ConsoleSpec = { kind: "tcp"; host: string; port: number } | { kind: "pty"; path: string | undefined };

/** Parses `--console tcp:HOST:PORT | pty[:PATH]`; undefined when it is neither. */
export function parseConsoleSpec(text: string): ConsoleSpec | undefined {
  const tcp = /^tcp:(.+):(\d{1,5})$/.exec(text);
  if (tcp && Number(tcp[2]) <= 65535) return { kind: "tcp", host: tcp[1]!, port: Number(tcp[2]) };
  if (text === "pty") return { kind: "pty", path: undefined };
  if (text.startsWith("pty:") && text.length > 4) return { kind: "pty", path: text.slice(4) };
  return undefined;
}

export class ConsoleServer implements RealIo {
  readonly terminal: SimTerminal;
  readonly #runner: RealTimeRunner;
  readonly #server: Server;
  #client: Socket | undefined;
  #socat: ChildProcess | undefined;
  #closed = false;

  constructor(runner: RealTimeRunner, board: SimBoard, prng: Prng) {
    this.#runner = runner;
    this.terminal = new SimTerminal(runner.scheduler, prng.fork("console-port"), board.consoleUart);
    this.terminal.onText((text) => this.#client?.write(Buffer.from(text, "latin1")));
    this.#server = createServer((socket) => this.#accept(socket));
    runner.watch(this);
  }

  /** A client is connected: the simulation keeps real time. */
  get busy(): boolean {
    return this.#client !== undefined;
  }

  /** Opens the port as `spec` says; returns where an engineer connects. */
  async open(spec: ConsoleSpec, unitId: number | undefined): Promise<string> {
    const address = await this.#listen(spec.kind === "tcp" ? spec.host : "127.0.0.1", spec.kind === "tcp" ? spec.port : 0);
    if (spec.kind === "tcp") return `tcp ${address.address}:${address.port} (npm run console -- --tcp ${address.address}:${address.port})`;
    const path = spec.path ?? `/tmp/mc${unitId ?? ""}-console`;
    this.#startSocat(path, address.port);
    return `pty ${path} (picocom ${path})`;
  }

  close(): void {
    this.#closed = true;
    this.#socat?.kill();
    this.#client?.destroy();
    this.#server.close();
  }

  #listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  #startSocat(path: string, port: number): void {
    // rawer: no echo, no line discipline (the console echoes); wait-slave: connect once a program opens the PTY.
    const socat = spawn("socat", [`PTY,link=${path},rawer,wait-slave`, `TCP:127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "inherit"] });
    this.#socat = socat;
    socat.on("error", (e) => console.error(`console: cannot start socat (${e.message}); install Debian's socat`));
    socat.on("exit", () => {
      if (!this.#closed) setTimeout(() => !this.#closed && this.#startSocat(path, port), 200);
    });
  }

  #accept(socket: Socket): void {
    if (this.#client) {
      socket.end("the console port is in use\r\n");
      return;
    }
    this.#client = socket;
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => {
      const text = data.toString("latin1");
      this.#runner.deliver(() => this.terminal.type(text));
    });
    const gone = () => {
      if (this.#client === socket) this.#client = undefined;
    };
    socket.on("close", gone);
    socket.on("error", gone);
  }
}
