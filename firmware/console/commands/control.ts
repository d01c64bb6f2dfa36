/**
 * What an engineer may change: latch, latch set|clear METER, config get [KEY], config set KEY=VALUE.
 * Changes need a login and are audited with the engineer's name, like the head-end's (source console).
 */
import { CONFIG_SCHEMA } from "../../app/config-schema.js";
import { ChangeResult, ChangeSource } from "../../store/audit.js";
import { frozen } from "../../model/frozen.js";
import type { Command } from "../console.js";
import { latchStateName, wholeNumber } from "../format.js";
import { lineSlices, printLines } from "./listing.js";

export const CONTROL_COMMANDS: readonly Command[] = frozen([
  {
    name: "latch",
    usage: "latch [set|clear METER]",
    help: "every consumer's disconnect control state; set disconnects a consumer, clear gives the reconnect clearance (* set/clear)",
    run(ctx, unit) {
      if (ctx.args.length === 0) {
        const meters: Array<{ meter: number; module: number; serial: string }> = [];
        for (const m of unit.topology.modules) for (const x of unit.topology.persistent(m.number)?.meters ?? []) meters.push({ meter: x.meter, module: m.number, serial: x.serial });
        let i = 0;
        ctx.print("meter module serial            state                  mode");
        ctx.slices(
          lineSlices(ctx, () => {
            if (i > meters.length) return undefined;
            const x = meters[i++];
            if (!x) return `${meters.length} consumers, ${unit.latch.latchedConsumers().length} latched`;
            return `${String(x.meter).padStart(5)} ${String(x.module).padStart(6)} ${x.serial.padEnd(17)} ${latchStateName(unit.latch.state(x.meter)).padEnd(22)} ${unit.latch.mode(x.meter)}`;
          }),
        );
        return;
      }
      const [verb, arg] = ctx.args;
      if (ctx.args.length !== 2 || (verb !== "set" && verb !== "clear")) return ctx.fail("usage: latch [set|clear METER]");
      const login = unit.console.session.refusal(ctx.engineer);
      if (login) return ctx.fail(login);
      const meter = wholeNumber(arg, "METER", 0, 0xffff);
      if (typeof meter === "string") return ctx.fail(meter);
      const before = unit.latch.state(meter);
      const outcome = unit.latchTrigger(meter, verb === "set" ? "remoteDisconnect" : "remoteReconnect", "console", ctx.engineer);
      if (outcome.code !== "ok") return ctx.fail(`refused: ${outcome.reason}`);
      ctx.print(`meter ${meter}: ${latchStateName(before)} -> ${latchStateName(outcome.state)} (audited as ${ctx.engineer})`);
    },
  },
  {
    name: "config",
    usage: "config get [KEY] | config set KEY=VALUE",
    help: "the configuration in force; set changes a parameter the console may change (* set)",
    run(ctx, unit) {
      const verb = ctx.args[0];
      if (verb === "get") {
        if (ctx.args.length > 2) return ctx.fail("usage: config get [KEY]");
        const keys = ctx.args[1] === undefined ? Object.keys(CONFIG_SCHEMA) : [ctx.args[1]];
        const lines: string[] = [];
        for (const k of keys) {
          const p = Object.prototype.hasOwnProperty.call(CONFIG_SCHEMA, k) ? CONFIG_SCHEMA[k] : undefined;
          if (!p) return ctx.fail(`no parameter "${k}" (config get lists them)`);
          const who = !p.writableBy || p.writableBy.includes(ChangeSource.console) ? "console may set" : "head-end only";
          const range = p.type === "int" ? (p.allowed ? `one of ${p.allowed.join(",")}` : `${p.min}..${p.max}`) : `text up to ${p.maxLength}`;
          lines.push(`${k} = ${unit.config.get(k)} (default ${p.default}, ${range}, ${who})`);
        }
        return printLines(ctx, lines);
      }
      if (verb !== "set" || ctx.args.length !== 2) return ctx.fail("usage: config get [KEY] | config set KEY=VALUE");
      const login = unit.console.session.refusal(ctx.engineer);
      if (login) return ctx.fail(login);
      const eq = ctx.args[1]!.indexOf("=");
      if (eq <= 0) return ctx.fail("usage: config set KEY=VALUE");
      const key = ctx.args[1]!.slice(0, eq);
      const value = ctx.args[1]!.slice(eq + 1);
      const p = Object.prototype.hasOwnProperty.call(CONFIG_SCHEMA, key) ? CONFIG_SCHEMA[key] : undefined;
      const entry = unit.config.set(key, value, ChangeSource.console, ctx.engineer);
      switch (entry.result) {
        case ChangeResult.applied:
          unit.applyConfiguration();
          return ctx.print(`${key}: ${entry.oldValue} -> ${entry.newValue} (audited as ${ctx.engineer})`);
        case ChangeResult.unknown:
          return ctx.fail(`no parameter "${key}" (config get lists them)`);
        case ChangeResult.denied:
          return ctx.fail(`${key} may only be changed by the head-end`);
        default:
          return ctx.fail(`"${value}" is not valid for ${key}${p?.type === "int" ? ` (${p.allowed ? `one of ${p.allowed.join(",")}` : `a whole number ${p.min}..${p.max}`})` : p ? ` (printable text up to ${p.maxLength} characters)` : ""}`);
      }
    },
  },
]);
