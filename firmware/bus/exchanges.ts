/**
 * The exchange that carries a module transaction: a mode D readout or a mode C programming session.
 * The bus master runs them on its line; the bridge transport (firmware/bridge) runs the same ones
 * through a bridge.
 */
import type { Exchange, ExchangePort } from "./exchange.js";
import { ReadoutExchange } from "./readout-exchange.js";
import { SessionExchange } from "./session-exchange.js";
import type { Transaction } from "./types.js";

/** `lockoutText`: the error text with which modules refuse passwords while locked out (docs/d0.md). */
export function createExchange(port: ExchangePort, tx: Transaction, lockoutText: string): Exchange {
  return tx.kind === "readout" ? new ReadoutExchange(port, tx.address) : new SessionExchange(port, tx.address, tx.password, tx.commands, lockoutText);
}
