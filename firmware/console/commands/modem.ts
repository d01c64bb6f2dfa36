/**
 * The GPRS modem: modem (registration, operator, signal, PDP, sockets, SMS queue) and at COMMAND, an
 * engineer's AT command passed through between the modem's own (Modem.passThrough).
 */
import { ChangeResult, ChangeSource } from "../../store/audit.js";
import { frozen } from "../../model/frozen.js";
import type { Command } from "../console.js";

/** Time the modem has to answer a passed-through command once it is sent, ms. */
const AT_TIMEOUT_MS = 10_000;
/** How long `at` waits in all (behind the modem's own commands, then for the answer), ms. */
const AT_WAIT_MS = 60_000;

export const MODEM_COMMANDS: readonly Command[] = frozen([
  {
    name: "modem",
    usage: "modem",
    help: "registration, operator, signal, packet service, sockets, SMS queue, recovery counters",
    maxArgs: 0,
    run(ctx, unit) {
      const modem = unit.modem;
      if (!modem) return ctx.print("no modem (the uplink is not provisioned)");
      const s = modem.status;
      const c = modem.counters;
      const q = modem.sms.queued;
      ctx.print(`${s.family}: ${s.state}${s.lastFailure ? `, last failure ${s.lastFailure} (${s.failures} since ready)` : ""}`);
      ctx.print(`registration: ${s.registration ?? "unknown"} (circuit), ${s.packetRegistration ?? "unknown"} (packet)`);
      ctx.print(`signal: ${s.rssi === undefined ? "unknown" : `rssi ${s.rssi} (${s.rssiDbm} dBm)`}${s.ber === undefined ? "" : `, ber ${s.ber}`}`);
      ctx.print(`PDP: ${s.state === "ready" ? "active" : "inactive"}; sockets open ${modem.tcp.active}; mqtt ${unit.uplink?.mqtt.state ?? "-"}`);
      ctx.print(`SMS: ${s.smsReady ? "ready" : "not ready"}, ${q.waiting} waiting, ${q.tracked} awaiting reports; ${modem.sms.counters.sent} sent, ${modem.sms.counters.received} received`);
      ctx.print(`recovery: ${c.softResets} soft resets, ${c.powerCycles} power cycles, ${c.pdpLosses} PDP losses, ${c.registrationLosses} registration losses, ${c.unexpectedBoots} unexpected boots`);
      ctx.print(`AT: ${modem.at.commands} commands, ${modem.at.timeouts} timeouts, ${modem.at.urcs} URCs, ${modem.at.overruns} UART overruns`);
      ctx.later(AT_WAIT_MS);
      modem.queryOperator((name) => {
        if (!ctx.active) return;
        ctx.print(`operator: ${name ?? "unknown"}`);
        ctx.end();
      });
    },
  },
  {
    name: "at",
    usage: "at COMMAND",
    help: "passes one AT command to the modem between its own and prints the answer (time-limited)",
    privileged: true,
    run(ctx, unit) {
      const modem = unit.modem;
      if (!modem) return ctx.fail("no modem (the uplink is not provisioned)");
      if (ctx.rest.length === 0) return ctx.fail("usage: at COMMAND (e.g. at AT+CSQ)");
      const text = /^at/i.test(ctx.rest) ? ctx.rest : `AT${ctx.rest}`;
      ctx.later(AT_WAIT_MS);
      const refused = modem.passThrough(text, AT_TIMEOUT_MS, (r) => {
        if (!ctx.active) return;
        for (const line of r.lines) ctx.print(line);
        if (r.ok) {
          ctx.print(r.final);
          ctx.end();
        } else ctx.fail(r.failure.code === "timeout" ? `no final result within ${AT_TIMEOUT_MS / 1000} s` : r.failure.line ?? r.failure.code);
      });
      if (refused) ctx.fail(`${text}: ${refused}`);
      else unit.config.record("console.at", "", text, ChangeSource.console, ChangeResult.applied, ctx.engineer);
    },
  },
]);
