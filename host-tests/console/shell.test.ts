// The engineers' console on the whole concentrator in the simulated site, driven through the console
// UART as an engineer at the cabinet drives it: every command, bad arguments, output longer than the
// FIFO, login, lockout and its alarm at the head-end, audit entries, `at` while the modem is busy.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { EventType } from "../../firmware/model/records.js";
import { ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { ALICE, ConsoleDriver, consoleSite, engineer, errors } from "../lib/console-rig.js";
import { firmware, HOUR, MINUTE, stored } from "../lib/core-rig.js";
import type { Site } from "../../tools/site/site.js";

function settled(seed: string, modules = 4): { site: Site; d: ConsoleDriver } {
  const site = consoleSite(seed, { modules });
  site.run(HOUR);
  return { site, d: new ConsoleDriver(site) };
}

describe("console: commands through the service UART", () => {
  it("answers every read-only command, each ending with its prompt and without an error", () => {
    const { site, d } = settled("read-only");
    const c = firmware(site);
    const help = d.lines("help");
    for (const name of ["help", "version", "status", "time", "modules", "module", "read", "bus", "events", "log", "readings", "latch", "config", "modem", "at", "ota", "reboot", "selftest", "login", "auth", "logout"]) {
      assert.ok(help.some((l) => l.startsWith(`${name} `) || l === name), `help lists ${name}`);
      assert.deepEqual(errors(d.lines(`help ${name}`)), [], `help ${name}`);
    }
    const version = d.lines("version");
    assert.match(version[0]!, /^firmware \d+\.\d+\.\d+$/);
    assert.match(version[1]!, /^running slot ota_0: valid/);
    assert.equal(version[3], "security counter: no OTA module");
    const status = d.lines("status");
    assert.match(status[0]!, /^unit 17, up 01:00:\d\d, boot reason power-on, state running$/);
    assert.ok(status.some((l) => /^uplink: connected/.test(l)), "uplink state");
    assert.ok(status.some((l) => /^modem: sim800 ready, home, signal -77 dBm$/.test(l)), "modem state and signal");
    assert.match(d.lines("time")[0]!, /^wall clock 2026-01-01 01:00:\d\dZ/);
    const modules = d.lines("modules");
    assert.equal(modules.length, 1 + c.topology.size + 1);
    assert.equal(modules.at(-1), `${c.topology.size} modules`);
    const one = d.lines("module 1");
    assert.match(one[0]!, /^module 1: serial \d+, bus\d address \d+, present/);
    assert.ok(one.some((l) => / meter \d+ 1\.8\.0 = \d+/.test(l)), "its last values");
    const bus = d.lines("bus");
    assert.equal(bus.filter((l) => /^bus\d: /.test(l)).length, 2);
    const events = d.lines("events 3");
    assert.equal(events.length, 4);
    assert.equal(events.at(-1), "3 events");
    assert.match(d.lines("log 2")[0]!, /^#\d+ (profile|billing|event|alarm) /);
    const meter = [...c.topology.module(1)!.meters.values()][0]!;
    const readings = d.lines(`readings ${meter} 4`);
    assert.equal(readings.length, 5);
    assert.ok(readings.slice(0, 4).every((l) => l.includes(` meter ${meter} `)), readings.join("\n"));
    assert.equal(d.lines("latch").at(-1), `${[...c.topology.modules].reduce((n, m) => n + m.meters.size, 0)} consumers, 0 latched`);
    assert.match(d.lines("config get poll.intervalMin")[0]!, /^poll\.intervalMin = 15 \(default 15, one of .*, console may set\)$/);
    const modem = d.lines("modem");
    assert.equal(modem.at(-1), "operator: SIM NETWORK");
    assert.deepEqual(d.lines("ota"), ["no OTA module"]);
    assert.equal(d.lines("selftest").at(-1), "all 8 checks passed");
    assert.deepEqual(d.lines("logout"), ["not logged in"]);
  });

  it("reads a module on demand and prints the readout that came back", () => {
    const { site, d } = settled("read");
    const before = firmware(site).poller.counters.onDemand;
    const out = d.lines("read 2");
    assert.match(out[0]!, /^reading module 2 \(bus\d \d+\) \.\.\.$/);
    assert.match(out[1]!, /^\/[A-Z][A-Za-z]{2}\d/); // the identification line
    assert.ok(out.some((l) => /^1-\d:1\.8\.0\(\d+\.\d+\*kWh\)$/.test(l)), "the import register");
    assert.match(out.at(-1)!, /^\d+ data sets in 00:00:0\d$/);
    assert.equal(firmware(site).poller.counters.onDemand, before + 1);
  });

  it("gives a precise error for an unknown command and for bad arguments, and changes nothing", () => {
    const { site, d } = settled("bad-args");
    const cases: Array<[string, RegExp]> = [
      ["frobnicate", /^error: frobnicate: unknown command/],
      ["help nothing", /^error: help: no command "nothing"/],
      ["version now", /^error: version: takes no arguments$/],
      ["status x", /^error: status: takes no arguments$/],
      ["module", /^error: module: usage: module N$/],
      ["module x", /^error: module: N: a whole number from 1 to 65535$/],
      ["module 999", /^error: module: no module 999 \(modules lists them\)$/],
      ["read 0", /^error: read: N: a whole number from 1 to 65535$/],
      ["events 0", /^error: events: N: a whole number from 1 to 100$/],
      ["events 101", /^error: events: N: a whole number from 1 to 100$/],
      ["log 1 2", /^error: log: usage: log \[N\]$/],
      ["readings", /^error: readings: usage: readings METER \[N\]$/],
      ["readings -1", /^error: readings: METER: a whole number from 0 to 65535$/],
      ["config", /^error: config: usage: config get \[KEY\] \| config set KEY=VALUE$/],
      ["config get colour", /^error: config: no parameter "colour"/],
      ["latch open 3", /^error: latch: usage: latch \[set\|clear METER\]$/],
      ["login", /^error: login: usage: login NAME$/],
      ["login a/b", /^error: login: an engineer name is 1 to 16 of/],
      ["auth", /^error: auth: usage: auth SIGNATURE$/],
    ];
    const journal = stored(firmware(site)).audits.length;
    for (const [line, expected] of cases) {
      const out = d.lines(line);
      assert.equal(out.length, 1, `${line}: ${out.join(" | ")}`);
      assert.match(out[0]!, expected, line);
    }
    assert.equal(stored(firmware(site)).audits.length, journal, "nothing audited, nothing changed");
    assert.equal(firmware(site).console.counters.internalErrors, 0);
  });

  it("refuses every privileged command without a login, and says so", () => {
    const { site, d } = settled("no-login");
    for (const line of ["latch set 1", "latch clear 1", "config set poll.intervalMin=5", "at AT+CSQ", "reboot"]) {
      assert.deepEqual(d.lines(line), [`error: ${line.split(" ")[0]}: needs a login (login NAME, then auth SIGNATURE)`], line);
    }
    assert.equal(firmware(site).config.get("poll.intervalMin"), 15);
    assert.equal(firmware(site).latch.latchedConsumers().length, 0);
    assert.equal(site.world.board.boots, 1);
  });

  it("has no privileged command at all on a unit without engineer keys (no default password)", () => {
    const site = consoleSite("unprovisioned", { modules: 2 }, []);
    site.run(10 * MINUTE);
    const d = new ConsoleDriver(site);
    assert.deepEqual(d.lines("login alice"), ["error: login: no engineer keys are provisioned on this unit"]);
    assert.deepEqual(d.lines("reboot"), ["error: reboot: no engineer keys are provisioned on this unit"]);
  });

  it("paces output longer than the FIFO through the UART's free space: nothing lost, no overrun", () => {
    const site = consoleSite("long-output", { modules: 8 });
    site.run(4 * HOUR);
    const d = new ConsoleDriver(site);
    const c = firmware(site);
    const written = c.console.output.written;
    const out = d.run("log 100");
    const lines = out.split("\r\n").filter((l) => l);
    assert.match(lines.at(-1)!, /^100 records \(next #\d+\)$/);
    assert.equal(lines.length, 101, "every line arrived");
    const seqs = lines.slice(0, -1).map((l) => Number(/^#(\d+) (alarm|event|billing|profile) /.exec(l)?.[1]));
    assert.ok(seqs.every((n, i) => n > 0 && (i === 0 || n > seqs[i - 1]!)), "every line whole, in order");
    const bytes = c.console.output.written - written;
    assert.ok(bytes > 4 * 128, `${bytes} bytes, several FIFOs`);
    assert.equal(d.terminal.uart.rxOverruns, 0);
    assert.equal(site.world.board.consoleUart.rxOverruns, 0);
  });

  it("takes input in any line ending, edits with backspace, cancels with Ctrl-C, and drops escape sequences", () => {
    const { d } = settled("editing", 2);
    assert.deepEqual(d.lines("verss\x7fion"), ["firmware 0.1.0", ...d.lines("version").slice(1)]);
    d.terminal.take();
    d.terminal.type("version\n");
    d.site.world.scheduler.runUntilTrue(() => d.atPrompt && d.terminal.text.includes("security counter"), 10_000);
    assert.match(d.terminal.take(), /security counter/);
    d.terminal.type("version\r\n");
    d.site.world.scheduler.runUntilTrue(() => d.atPrompt && d.terminal.text.includes("security counter"), 10_000);
    assert.equal(d.terminal.take().match(/security counter/g)?.length, 1, "CR LF is one line end");
    d.terminal.type("rebo\x03ver\x1b[Asion\r");
    d.site.world.scheduler.runUntilTrue(() => d.atPrompt && d.terminal.text.includes("security counter"), 10_000);
    assert.match(d.terminal.take(), /^rebo\^C\r\nmc17> version\r\nfirmware 0\.1\.0\r\n/, "Ctrl-C cancelled 'rebo', the arrow key left nothing");
  });

  it("cancels a running listing with Ctrl-C", () => {
    const { site, d } = settled("cancel", 8);
    d.terminal.take();
    d.terminal.type("events 100\r");
    site.world.scheduler.runUntilTrue(() => d.terminal.text.includes("#"), 10_000);
    d.terminal.type("\x03");
    site.world.scheduler.runUntilTrue(() => d.atPrompt, 10_000);
    assert.match(d.terminal.take(), /\(cancelled\)\r\nmc17> $/);
    assert.equal(firmware(site).console.counters.cancelled, 1);
  });
});

describe("console: any input", () => {
  it("takes any bytes typed without harm: no exception, no privileged effect, and it still answers", () => {
    const { site, d } = settled("fuzz", 2);
    const c = firmware(site);
    const bytes = fc.uint8Array({ maxLength: 200 });
    const words = fc.array(fc.constantFrom("help", "events", "log", "module", "read", "latch", "set", "config", "auth", "login", "at", "reboot", "0", "1", "x", "=", " "), { maxLength: 6 }).map((w) => w.join(" "));
    fc.assert(
      fc.property(fc.oneof(bytes, words.map((w) => new Uint8Array(Buffer.from(w)))), (input) => {
        d.terminal.type(String.fromCharCode(...input) + "\x03\r");
        site.world.scheduler.runUntilTrue(() => d.terminal.idle && d.atPrompt, 200_000);
        site.run(site.world.scheduler.now + 500); // the prompts of the last line ends
        assert.ok(d.atPrompt, "back at the prompt");
      }),
      { numRuns: 60, seed: 14 },
    );
    assert.equal(c.console.counters.internalErrors, 0);
    assert.equal(c.counters.internalErrors, 0);
    assert.equal(c.latch.latchedConsumers().length, 0);
    assert.equal(site.world.board.boots, 1);
    assert.equal(d.lines("version")[0], "firmware 0.1.0");
  });
});

describe("console: login, lockout and audit", () => {
  it("logs an engineer in by challenge-response, audits every privileged change with the engineer's name", () => {
    const { site, d } = settled("login");
    assert.deepEqual(d.login(ALICE), ["logged in as alice"]);
    const c = firmware(site);
    const meter = [...c.topology.module(1)!.meters.values()][0]!;
    assert.deepEqual(d.lines(`latch set ${meter}`), [`meter ${meter}: connected -> disconnected (audited as alice)`]);
    assert.equal(c.latch.state(meter), ControlState.disconnected);
    assert.deepEqual(d.lines(`latch clear ${meter}`), [`meter ${meter}: disconnected -> connected (audited as alice)`]);
    assert.deepEqual(d.lines("config set poll.intervalMin=5"), ["poll.intervalMin: 15 -> 5 (audited as alice)"]);
    assert.equal(c.config.get("poll.intervalMin"), 5);
    assert.deepEqual(d.lines("config set poll.intervalMin=7"), ['error: config: "7" is not valid for poll.intervalMin (one of 1,2,3,4,5,6,10,12,15,20,30,60)']);
    assert.deepEqual(d.lines("config set site.utcOffsetMin=60"), ["error: config: site.utcOffsetMin may only be changed by the head-end"]);
    assert.deepEqual(d.lines("logout"), ["alice logged out"]);
    const trail = c.config.history().filter((e) => e.source === ChangeSource.console).map((e) => [e.name, e.oldValue, e.newValue, e.result, e.actor]);
    assert.deepEqual(trail, [
      ["console.login", "", "ok", ChangeResult.applied, "alice"],
      [`latch.${meter}.remoteDisconnect`, "1", "0", ChangeResult.applied, "alice"],
      [`latch.${meter}.remoteReconnect`, "0", "1", ChangeResult.applied, "alice"],
      ["poll.intervalMin", "15", "5", ChangeResult.applied, "alice"],
      ["poll.intervalMin", "5", "7", ChangeResult.invalid, "alice"],
      ["site.utcOffsetMin", "0", "60", ChangeResult.denied, "alice"],
      ["console.logout", "", "logout", ChangeResult.applied, "alice"],
    ]);
    // The same entries are in the log for the head-end, the engineer's name with them.
    const logged = stored(c).audits.filter((e) => e.source === ChangeSource.console);
    assert.equal(logged.length, trail.length);
    assert.ok(logged.every((e) => e.actor === "alice"));
  });

  it("refuses a signature by another key, an unknown engineer and an answer without a challenge; ends an idle session", () => {
    const { site, d } = settled("login-failures");
    const mallory = engineer("mallory");
    assert.deepEqual(d.login(ALICE, mallory.secretKey), ["error: auth: login failed"], "alice's name, another key");
    assert.deepEqual(d.login(mallory), ["error: auth: login failed"], "a name the unit does not trust gets a challenge, then fails");
    assert.deepEqual(d.lines("auth " + "00".repeat(64)), ["error: auth: no challenge (login NAME first); locked out for 900 s"], "an answer without a challenge");
    assert.equal(firmware(site).console.session.counters.failures, 3);
    site.run(site.world.scheduler.now + 15 * MINUTE + 1000);
    assert.deepEqual(d.login(ALICE), ["logged in as alice"], "after the lockout");
    site.run(site.world.scheduler.now + 5 * MINUTE + 1000);
    assert.deepEqual(d.lines("reboot"), ["error: reboot: needs a login (login NAME, then auth SIGNATURE)"], "idle 5 min: the session ended");
    assert.ok(firmware(site).config.history().some((e) => e.name === "console.logout" && e.newValue === "idle" && e.actor === "alice"));
  });

  it("locks logins out after three failures and raises the password-guessing alarm to the head-end", () => {
    const { site, d } = settled("lockout");
    const mallory = engineer("mallory");
    for (let i = 0; i < 2; i++) assert.deepEqual(d.login(ALICE, mallory.secretKey), ["error: auth: login failed"]);
    assert.deepEqual(d.login(ALICE, mallory.secretKey), ["error: auth: login failed; locked out for 900 s"]);
    assert.deepEqual(d.lines("login alice"), ["error: login: locked out for 900 s after failed logins"]);
    const c = firmware(site);
    assert.equal(stored(c).events.filter((e) => e.type === EventType.passwordGuessing && e.alarm).length, 1);
    const failures = c.config.history().filter((e) => e.name === "console.login" && e.result === ChangeResult.denied);
    assert.equal(failures.length, 3);
    assert.ok(failures.every((e) => e.actor === "alice" && e.newValue === "login failed"));
    // The alarm reaches the head-end over the uplink.
    const headend = site.world.uplink!.headend!.store;
    site.world.scheduler.runUntilTrue(() => [...headend.events.values()].some((e) => e.type === EventType.passwordGuessing), 5 * MINUTE);
    assert.ok([...headend.events.values()].some((e) => e.type === EventType.passwordGuessing && e.alarm), "the alarm at the head-end");
  });
});

describe("console: at pass-through and reboot", () => {
  it("passes an AT command through while the modem is busy bringing itself up, and the modem carries on", () => {
    const site = consoleSite("at-busy", { modules: 2 });
    const d = new ConsoleDriver(site);
    site.run(3_000);
    assert.deepEqual(d.login(ALICE), ["logged in as alice"]);
    const modem = firmware(site).modem!;
    assert.equal(modem.state, "powering-on", "the module is still starting: it answers nothing yet");
    assert.deepEqual(d.lines("at AT+CSQ"), ["error: at: no final result within 10 s"], "time-limited");
    site.world.scheduler.runUntilTrue(() => ["configuring", "sim", "registering", "connecting"].includes(modem.state), MINUTE);
    const commands = modem.at.commands;
    const csq = d.lines("at AT+CSQ");
    assert.equal(csq.length, 2);
    assert.match(csq[0]!, /^\+CSQ: \d+,\d+$/);
    assert.equal(csq[1], "OK");
    assert.deepEqual(d.lines("at I"), ["SIM800 R14.18", "OK"], "AT is put in front when left out");
    assert.ok(modem.at.commands > commands + 1, "the modem's own commands went on around it");
    assert.deepEqual(d.lines("at ATE1"), ["error: at: ATE1: changes settings the modem's owner relies on (echo, defaults)"]);
    assert.deepEqual(d.lines("at AT+CMGS=20"), ["error: at: AT+CMGS=20: waits for a payload prompt"]);
    site.world.scheduler.runUntilTrue(() => firmware(site).uplink!.connected, 10 * MINUTE);
    assert.equal(modem.state, "ready");
    assert.ok(firmware(site).config.history().some((e) => e.name === "console.at" && e.newValue === "AT+CSQ" && e.actor === "alice"));
  });

  it("reboots the unit when asked, after the last line left the UART", () => {
    const { site, d } = settled("reboot", 2);
    d.login(ALICE);
    d.terminal.take();
    d.terminal.type("reboot\r");
    site.world.scheduler.runUntilTrue(() => site.world.board.boots === 2 && d.atPrompt, 10_000);
    assert.match(d.terminal.take(), /^reboot\r\nrebooting\r\n[^]*service console; "help" lists the commands\r\nmc17> $/);
    assert.equal(site.world.board.system.resetReason, "software");
    assert.ok(firmware(site).config.history().some((e) => e.name === "console.reboot" && e.actor === "alice"));
  });
});
