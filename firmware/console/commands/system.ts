/**
 * The unit as a whole: help, version, status, time, ota, reboot, selftest, and the engineer's login.
 */
import { FIRMWARE_VERSION } from "../../app/version.js";
import { CONCENTRATOR, EventType } from "../../model/records.js";
import { ChangeResult, ChangeSource } from "../../store/audit.js";
import { RecordClass } from "../../store/record-codec.js";
import { frozen } from "../../model/frozen.js";
import type { Command } from "../console.js";
import { className, duration, wallTime } from "../format.js";
import type { ConsoleUnit } from "../unit.js";
import { printLines } from "./listing.js";
import type { SlotState } from "../../../hal/firmware-slots.js";

/**
 * A slot's state as an engineer reads it. "none" means no boot record names the slot: the running
 * image was flashed by cable and runs as valid; the other slot holds nothing bootable.
 */
function slotState(state: SlotState, running: boolean): string {
  if (state !== "none") return state;
  return running ? "valid (flashed, no boot record)" : "empty";
}

/** How long `reboot` waits for its last line to leave the UART (5,000 characters at 115200 Bd), ms. */
const REBOOT_DRAIN_MS = 500;
/** Time the modem has to answer the self-test's AT, ms. */
const SELFTEST_AT_MS = 2_000;

export const SYSTEM_COMMANDS: readonly Command[] = frozen([
  {
    name: "help",
    usage: "help [COMMAND]",
    help: "lists the commands, or tells what one does",
    run(ctx, unit) {
      const commands = [...unit.console.commands];
      if (ctx.args.length > 1) return ctx.fail("takes at most one command name");
      if (ctx.args.length === 1) {
        const c = commands.find((x) => x.name === ctx.args[0]!.toLowerCase());
        if (!c) return ctx.fail(`no command "${ctx.args[0]}"`);
        ctx.print(`${c.usage}${c.privileged ? "  (needs a login)" : ""}`);
        ctx.print(`  ${c.help}`);
        return;
      }
      printLines(ctx, [...commands.map((c) => `${(c.usage + (c.privileged ? " *" : "")).padEnd(30)} ${c.help}`), "* needs a login: login NAME, then auth SIGNATURE (npm run console does it from a key file)"]);
    },
  },
  {
    name: "version",
    usage: "version",
    help: "firmware version, image slots and their state, security counter",
    maxArgs: 0,
    run(ctx, unit) {
      const running = unit.hal.firmware.running();
      const inactive = unit.hal.firmware.inactive();
      ctx.print(`firmware ${FIRMWARE_VERSION}`);
      ctx.print(`running slot ${running.label}: ${slotState(running.state, true)}${running.version ? `, version ${running.version}` : ""}`);
      ctx.print(`other slot ${inactive.label}: ${slotState(inactive.state, false)}${inactive.version ? `, version ${inactive.version}` : ""}`);
      const ota = unit.ota?.status() as { securityCounter?: unknown } | undefined;
      ctx.print(`security counter: ${ota && ota.securityCounter !== undefined ? String(ota.securityCounter) : "no OTA module"}`);
    },
  },
  {
    name: "status",
    usage: "status",
    help: "uptime, boot reason, power, storage, oldest unacknowledged record, uplink, modem, backlog, alarms",
    maxArgs: 0,
    run(ctx, unit) {
      const power = unit.powerMonitor;
      const usage = unit.log.usage();
      const live = usage.live.reduce((a, b) => a + b, 0);
      const unacked = usage.unacknowledged;
      const backlog = unacked.reduce((a, b) => a + b, 0);
      const m = unit.modem?.status;
      const lines = [
        `unit ${unit.site.concentratorId}, up ${duration(unit.hal.clock.now())}, boot reason ${unit.hal.system.resetReason}, state ${unit.state}`,
        `power: ${power.mainsPresent() ? "mains" : "ON BATTERY"}, battery ${power.batteryMillivolts()} mV (shutdown below ${unit.config.get("power.lowBatteryMv")} mV)`,
        `storage: ${live} of ${usage.sectors} log sectors in use (${((100 * live) / usage.sectors).toFixed(1)} %), ${usage.bad} bad; ${unit.log.stats.corruptRecords} corrupt records this boot`,
        `unacknowledged: ${unacked[RecordClass.alarm]} alarm, ${unacked[RecordClass.event]} event, ${unacked[RecordClass.billing]} billing, ${unacked[RecordClass.profile]} profile records`,
        unit.uplink ? `uplink: ${unit.uplink.connected ? "connected" : "not connected"} (mqtt ${unit.uplink.mqtt.state}), backlog ${backlog} records` : "uplink: not provisioned",
        m ? `modem: ${m.family} ${m.state}, ${m.registration ?? "registration unknown"}, signal ${m.rssiDbm === undefined ? "unknown" : `${m.rssiDbm} dBm`}` : "modem: none",
        `alarms: ${unit.events.counters.alarms} raised this boot, ${unacked[RecordClass.alarm]} not yet acknowledged by the head-end`,
        `modules: ${unit.topology.size} known, ${[...unit.topology.modules].filter((x) => x.state === "missing").length} missing; internal errors ${unit.counters.internalErrors}`,
        unit.console.session.engineer !== undefined ? `session: ${unit.console.session.engineer}, ends after ${Math.ceil(unit.console.session.idleLeftMs / 1000)} s idle` : "session: not logged in",
      ];
      // The oldest unacknowledged record: one class per turn (each reads a sector of the log).
      const classes = [RecordClass.alarm, RecordClass.event, RecordClass.billing, RecordClass.profile];
      let oldest: { seq: number; cls: number } | undefined;
      let k = 0;
      let printed = 0;
      ctx.slices(() => {
        if (printed < lines.length) {
          ctx.print(lines[printed++]!);
          return false;
        }
        if (k < classes.length) {
          const r = unit.log.cursor([classes[k++]!]).next(1)[0];
          if (r && (!oldest || r.seq < oldest.seq)) oldest = { seq: r.seq, cls: r.cls };
          return false;
        }
        ctx.print(oldest ? `oldest unacknowledged: #${oldest.seq} (${className(oldest.cls)})` : "oldest unacknowledged: none");
        return true;
      });
    },
  },
  {
    name: "time",
    usage: "time",
    help: "the wall clock and where it was set from",
    maxArgs: 0,
    run(ctx, unit) {
      const w = unit.hal.wallClock;
      ctx.print(`wall clock ${wallTime(Math.floor(w.now() / 1000))}${w.valid ? "" : " (NOT SET: running from an unknown origin)"}, UTC offset ${unit.config.get("site.utcOffsetMin")} min`);
      const set = unit.config.history().filter((e) => e.name === "clock.concentrator" && e.result === ChangeResult.applied).pop();
      const by = set ? (set.source === ChangeSource.headEnd ? "the head-end" : set.source === ChangeSource.console ? `the console (${set.actor ?? "?"})` : "the firmware") : undefined;
      ctx.print(set ? `source: set by ${by} at ${wallTime(set.time)}, moved ${Number(set.newValue) - Number(set.oldValue)} s` : `source: the board's RTC${w.valid ? "" : " (never set)"}`);
    },
  },
  {
    name: "ota",
    usage: "ota",
    help: "the firmware update's state",
    maxArgs: 0,
    run(ctx, unit) {
      const status = unit.ota?.status();
      if (!status) return ctx.print("no OTA module");
      printLines(ctx, Object.entries(status).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`));
    },
  },
  {
    name: "reboot",
    usage: "reboot",
    help: "restarts the unit (audited); everything acknowledged is already on flash",
    privileged: true,
    maxArgs: 0,
    run(ctx, unit) {
      unit.config.record("console.reboot", "", "restart", ChangeSource.console, ChangeResult.applied, ctx.engineer);
      ctx.print("rebooting");
      // The line reaches the terminal first (the UART's FIFO is lost at the reset); nothing after restart() runs.
      ctx.later(2 * REBOOT_DRAIN_MS);
      unit.hal.timers.set(() => unit.hal.system.restart(), REBOOT_DRAIN_MS);
    },
  },
  {
    name: "selftest",
    usage: "selftest",
    help: "checks storage, clock, power, buses, modem and the running image; fails if any check fails",
    maxArgs: 0,
    run(ctx, unit) {
      const checks: Array<[string, boolean, string]> = [];
      const usage = unit.log.usage();
      checks.push(["storage", usage.bad === 0 && unit.log.stats.corruptRecords === 0, `${usage.bad} bad sectors, ${unit.log.stats.corruptRecords} corrupt records`]);
      checks.push(["wall clock", unit.hal.wallClock.valid, unit.hal.wallClock.valid ? "set" : "not set"]);
      const mv = unit.powerMonitor.batteryMillivolts();
      checks.push(["battery", mv > Number(unit.config.get("power.lowBatteryMv")), `${mv} mV`]);
      unit.buses.forEach((_, i) => {
        const on = [...unit.topology.modules].filter((x) => x.path === `bus${i}`);
        const missing = on.filter((x) => x.state === "missing").length;
        checks.push([`bus${i}`, missing === 0, `${on.length - missing} modules answering, ${missing} missing`]);
      });
      const running = unit.hal.firmware.running();
      checks.push(["image", running.state === "valid" || running.state === "pending-verify" || running.state === "none", `slot ${running.label} ${slotState(running.state, true)}`]);
      checks.push(["firmware", unit.counters.internalErrors === 0, `${unit.counters.internalErrors} internal errors`]);
      const report = (modem?: [string, boolean, string]) => {
        if (modem) checks.push(modem);
        const failed = checks.filter((c) => !c[1]);
        let i = 0;
        ctx.slices(() => {
          if (i < checks.length) {
            const [name, ok, detail] = checks[i++]!;
            ctx.print(`${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
            return false;
          }
          if (failed.length > 0) ctx.fail(`${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c[0]).join(", ")}`);
          else ctx.print(`all ${checks.length} checks passed`);
          return true;
        });
      };
      const modem = unit.modem;
      if (!modem) return report();
      ctx.later(SELFTEST_AT_MS + 30_000);
      const refused = modem.passThrough("AT", SELFTEST_AT_MS, (r) => ctx.active && report(["modem", r.ok, r.ok ? "answers AT" : `no answer to AT (${r.failure.code})`]));
      if (refused) report(["modem", false, refused]);
    },
  },
  {
    name: "login",
    usage: "login NAME",
    help: "starts an engineer's login: shows the challenge to sign",
    run(ctx, unit) {
      if (ctx.args.length !== 1) return ctx.fail("usage: login NAME");
      const c = unit.console.session.challenge(ctx.args[0]!);
      if ("error" in c) return ctx.fail(c.error);
      ctx.print(`challenge ${c.nonceHex}`);
      ctx.print(`sign "mc-console-login:${unit.site.concentratorId}:${ctx.args[0]}:${c.nonceHex}" with your engineer key, then: auth SIGNATURE`);
    },
  },
  {
    name: "auth",
    usage: "auth SIGNATURE",
    help: "answers the login challenge with the Ed25519 signature (128 hex digits)",
    run(ctx, unit) {
      if (ctx.args.length !== 1) return ctx.fail("usage: auth SIGNATURE");
      ctx.later(30_000);
      unit.console.session.answer(ctx.args[0]!, (error) => {
        if (!ctx.active) return;
        if (error) return ctx.fail(error);
        ctx.print(`logged in as ${unit.console.session.engineer}`);
        ctx.end();
      });
    },
  },
  {
    name: "logout",
    usage: "logout",
    help: "ends the engineer's session",
    maxArgs: 0,
    run(ctx, unit) {
      const who = unit.console.session.logout();
      ctx.print(who ? `${who} logged out` : "not logged in");
    },
  },
]);

/** Raised when logins lock out: the password-guessing alarm at the concentrator. */
export function passwordGuessing(unit: ConsoleUnit, failures: number): void {
  unit.events.pulse(EventType.passwordGuessing, CONCENTRATOR, failures);
}
