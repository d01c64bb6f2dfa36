/**
 * ByteStreams (firmware/net/byte-stream.ts) over the modem emulator's network (a PacketNetwork such
 * as SimInternet), so that servers and clients written for streams — the simulated broker, the
 * head-end's MQTT client — live on the same internet the concentrator's modem reaches:
 *
 * - `serversOn(internet)`: where a server (SimBroker) listens;
 * - `connectorOver(network, domain)`: a client's connector; a power cut of `domain` (a head-end
 *   that crashes) drops its connections, and nothing of the old process runs again.
 *
 * Pure ECMAScript (XS too).
 */
import type { ByteStream, ByteStreamCloseReason, ByteStreamHandlers, StreamConnector } from "../../firmware/net/byte-stream.js";
import type { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import type { NetCloseReason, PacketNetwork, SimInternet } from "../../hal/sim/modem/index.js";

/** A server's side of stream connections. */
export type Accept = (stream: ByteStream) => ByteStreamHandlers;

/** Where servers listen (a SimNetwork, or the modem's internet through `serversOn`). */
export interface ServerHost {
  readonly scheduler: Scheduler;
  listen(host: string, port: number, accept: Accept): void;
  unlisten(host: string, port: number): void;
}

export function serversOn(internet: SimInternet): ServerHost {
  const s = internet.scheduler;
  return {
    scheduler: s,
    unlisten: (host, port) => internet.unlisten(host, port),
    listen: (host, port, accept) =>
      internet.listen(host, port, (peer) => {
        let open = true;
        const end = (reason: ByteStreamCloseReason) => {
          if (!open) return;
          open = false;
          s.after(0, () => handlers.onClose(reason));
        };
        const handlers = accept({
          write: (bytes) => {
            if (open) peer.send(bytes);
            return open;
          },
          close: () => {
            if (open) peer.close();
            end("closed");
          },
        });
        peer.onData = (bytes) => open && handlers.onData(bytes);
        peer.onClose = () => end("closed");
        s.after(0, () => open && handlers.onConnect());
      }),
  };
}

const REASONS: Record<NetCloseReason, ByteStreamCloseReason> = { closed: "closed", reset: "reset", refused: "refused", unreachable: "network", timeout: "timeout" };

export function connectorOver(network: PacketNetwork, domain: PowerDomain): StreamConnector {
  const open = new Set<() => void>();
  domain.onPowerOff(() => {
    for (const drop of [...open]) drop();
  });
  return {
    connect(host: string, port: number, handlers: ByteStreamHandlers): ByteStream {
      let ended = false;
      const end = (reason: ByteStreamCloseReason) => {
        if (ended) return;
        ended = true;
        open.delete(drop);
        domain.after(0, () => handlers.onClose(reason));
      };
      const live = <A extends unknown[]>(fn: (...a: A) => void) => domain.guard((...a: A) => !ended && fn(...a));
      const conn = network.connect(host, port, {
        onOpen: live(() => handlers.onConnect()),
        onData: live((bytes: Uint8Array) => handlers.onData(bytes)),
        onClose: live((reason: NetCloseReason) => end(REASONS[reason])),
      });
      // The process is gone: the connection drops without a goodbye, and no callback follows.
      const drop = () => {
        ended = true;
        open.delete(drop);
        conn.close();
      };
      open.add(drop);
      return {
        write: (bytes) => {
          if (ended) return false;
          conn.send(bytes);
          return true;
        },
        close: () => {
          if (ended) return;
          conn.close();
          end("closed");
        },
      };
    },
  };
}
