// Table-driven tests for every response and URC form the drivers handle.
import assert from "node:assert/strict";
import type { AtCommand, AtResult } from "../../firmware/modem/at/engine.js";
import { atParams, finalResult, parseDecimal } from "../../firmware/modem/at/response.js";
import type { Dialect, ModemEvent, ReadOutcome, SendOutcome } from "../../firmware/modem/drivers/dialect.js";
import { isQuotable, isValidHost } from "../../firmware/modem/drivers/dialect.js";
import { quectel } from "../../firmware/modem/drivers/quectel.js";
import { sim800 } from "../../firmware/modem/drivers/sim800.js";

const ok = (final = "OK", lines: string[] = []): AtResult => ({ ok: true, lines, final });
const error = (line: string, code: "error" | "cme" | "timeout" | "no-prompt" = "error"): AtResult => ({ ok: false, failure: { code, line }, lines: [] });

describe("AT responses: final result codes", () => {
  const table: Array<[string, ReturnType<typeof finalResult>]> = [
    ["OK", { ok: true }],
    ["ERROR", { ok: false, failure: { code: "error", line: "ERROR" } }],
    ["NO CARRIER", { ok: false, failure: { code: "error", line: "NO CARRIER" } }],
    ["BUSY", { ok: false, failure: { code: "error", line: "BUSY" } }],
    ["+CME ERROR: 10", { ok: false, failure: { code: "cme", value: 10, line: "+CME ERROR: 10" } }],
    ["+CME ERROR:515", { ok: false, failure: { code: "cme", value: 515, line: "+CME ERROR:515" } }],
    ["+CME ERROR: SIM not inserted", { ok: false, failure: { code: "cme", line: "+CME ERROR: SIM not inserted" } }],
    ["+CMS ERROR: 330", { ok: false, failure: { code: "cms", value: 330, line: "+CMS ERROR: 330" } }],
    ["+CMS ERROR: 12345678901", { ok: false, failure: { code: "cms", line: "+CMS ERROR: 12345678901" } }],
    ["OK ", undefined],
    ["ok", undefined],
    ["+CSQ: 1,2", undefined],
  ];
  for (const [line, expected] of table) {
    it(`reads ${JSON.stringify(line)}`, () => assert.deepEqual(finalResult(line), expected));
  }
});

describe("AT responses: parameters", () => {
  const table: Array<[string, string, ReturnType<typeof atParams>]> = [
    ["+CSQ: 21,0", "+CSQ:", [21, 0]],
    ["+CREG: 0,5", "+CREG:", [0, 5]],
    ['+CREG: 2,1,"00C3","1F2A"', "+CREG:", [2, 1, "00C3", "1F2A"]],
    ["+CMGR: 0,,24", "+CMGR:", [0, "", 24]],
    ['+CMTI: "SM",3', "+CMTI:", ["SM", 3]],
    ['+QIURC: "recv",0', "+QIURC:", ["recv", 0]],
    ['+QIURC: "incoming full"', "+QIURC:", ["incoming full"]],
    ['+QIACT: 1,1,1,"10.0.0.1"', "+QIACT:", [1, 1, 1, "10.0.0.1"]],
    ['+QIURC: "a,b",1', "+QIURC:", ["a,b", 1]],
    ["+CIPRXGET: 2,0,1460,0", "+CIPRXGET:", [2, 0, 1460, 0]],
    ["+CSQ: -1,x", "+CSQ:", ["-1", "x"]],
    ['+QIURC: "recv', "+QIURC:", undefined],
    ['+QIURC: "recv"x,1', "+QIURC:", undefined],
    ["+CSQ 21,0", "+CSQ:", undefined],
  ];
  for (const [line, prefix, expected] of table) {
    it(`reads ${JSON.stringify(line)}`, () => assert.deepEqual(atParams(line, prefix), expected));
  }

  it("reads decimals of at most 9 digits and nothing else", () => {
    assert.equal(parseDecimal("0"), 0);
    assert.equal(parseDecimal("123456789"), 123456789);
    assert.equal(parseDecimal("1234567890"), undefined);
    assert.equal(parseDecimal(""), undefined);
    assert.equal(parseDecimal("1a"), undefined);
    assert.equal(parseDecimal(" 1"), undefined);
  });
});

describe("AT responses: URCs of each family", () => {
  const sim800Table: Array<[string, ModemEvent | undefined]> = [
    ["RDY", { type: "boot" }],
    ["NORMAL POWER DOWN", { type: "power-down", cause: "normal" }],
    ["UNDER-VOLTAGE POWER DOWN", { type: "power-down", cause: "under-voltage" }],
    ["OVER-VOLTAGE POWER DOWN", { type: "power-down", cause: "over-voltage" }],
    ["UNDER-VOLTAGE WARNNING", { type: "voltage-warning" }],
    ["+PDP: DEACT", { type: "pdp-lost" }],
    ["+CPIN: NOT READY", { type: "sim-lost" }],
    ["+CPIN: NOT INSERTED", { type: "sim-lost" }],
    ["Call Ready", { type: "ignored" }],
    ["SMS Ready", { type: "ignored" }],
    ["*PSUTTZ: 2026,1,1,0,0,0,\"+8\",0", { type: "ignored" }],
    ["+CTZV: +08", { type: "ignored" }],
    ["0, CLOSED", { type: "socket-closed", id: 0 }],
    ["5, CONNECT OK", { type: "socket-opened", id: 5 }],
    ["1, CONNECT FAIL", { type: "socket-open-failed", id: 1, reason: "refused" }],
    ["2, ALREADY CONNECT", { type: "socket-open-failed", id: 2, reason: "in-use" }],
    ["+CIPRXGET: 1,3", { type: "socket-data", id: 3 }],
    ["+CIPRXGET: 1,x", undefined],
    ["0, CLOSE OK", undefined],
    ["x, CLOSED", undefined],
    ["10, CLOSED", undefined],
    ["OK", undefined],
    ["+QIURC: \"recv\",0", undefined],
  ];
  for (const [line, expected] of sim800Table) {
    it(`SIM800 reads ${JSON.stringify(line)}`, () => assert.deepEqual(sim800.classify(line), expected));
  }

  const quectelTable: Array<[string, ModemEvent | undefined]> = [
    ["RDY", { type: "boot" }],
    ["APP RDY", { type: "ignored" }],
    ["POWERED DOWN", { type: "power-down", cause: "normal" }],
    ['+QIURC: "recv",4', { type: "socket-data", id: 4 }],
    ['+QIURC: "closed",11', { type: "socket-closed", id: 11 }],
    ['+QIURC: "pdpdeact",1', { type: "pdp-lost" }],
    ['+QIURC: "incoming full"', { type: "socket-buffer-full" }],
    ['+QIURC: "incoming",1,0,"1.2.3.4",5', { type: "ignored" }],
    ['+QIURC: "recv"', undefined],
    ["+QIOPEN: 0,0", { type: "socket-opened", id: 0 }],
    ["+QIOPEN: 1,563", { type: "socket-open-failed", id: 1, reason: "in-use" }],
    ["+QIOPEN: 1,561", { type: "socket-open-failed", id: 1, reason: "packet-down" }],
    ["+QIOPEN: 1,566", { type: "socket-open-failed", id: 1, reason: "refused" }],
    ["+QIOPEN: 1,569", { type: "socket-open-failed", id: 1, reason: "timeout" }],
    ["+QIOPEN: 2,570", { type: "socket-open-failed", id: 2, reason: "packet-down" }],
    ["+QIOPEN: 2,552", { type: "socket-open-failed", id: 2, reason: "refused" }],
    ["+QIOPEN: x", undefined],
    ["+QIND: SMS DONE", { type: "ignored" }],
    ["+QUSIM: 1", { type: "ignored" }],
    ["+CPIN: NOT READY", { type: "sim-lost" }],
    ["0, CLOSED", undefined],
  ];
  for (const [line, expected] of quectelTable) {
    it(`Quectel reads ${JSON.stringify(line)}`, () => assert.deepEqual(quectel.classify(line), expected));
  }
});

/** Runs a dialect command as the engine would: lines offered to `info`/`onInfo`, finals, then done. */
function drive(command: AtCommand, lines: string[], result: AtResult, raw?: Uint8Array): void {
  for (const line of lines) {
    const claimed = command.info === undefined ? false : typeof command.info === "string" ? line.startsWith(command.info) : command.info(line);
    assert.ok(claimed, `${command.text} claims ${line}`);
    const n = command.onInfo?.(line);
    if (typeof n === "number" && n > 0 && raw) command.onRaw!(raw.subarray(0, n));
  }
  command.done(result);
}

describe("AT responses: socket commands of each family", () => {
  const sendTable: Array<[string, Dialect, AtResult, SendOutcome]> = [
    ["SIM800 DATA ACCEPT in full", sim800, ok("DATA ACCEPT:0,5"), { accepted: 5 }],
    ["SIM800 DATA ACCEPT in part", sim800, ok("DATA ACCEPT:0,2"), { accepted: 2 }],
    ["SIM800 DATA ACCEPT for another link", sim800, ok("DATA ACCEPT:1,5"), { failed: "reset" }],
    ["SIM800 DATA ACCEPT of more than sent", sim800, ok("DATA ACCEPT:0,9"), { failed: "reset" }],
    ["SIM800 SEND OK (CIPQSEND=0)", sim800, ok("0, SEND OK"), { accepted: 5 }],
    ["SIM800 SEND FAIL", sim800, error("SEND FAIL"), { failed: "reset" }],
    ["SIM800 ERROR", sim800, error("ERROR"), { failed: "reset" }],
    ["SIM800 no prompt", sim800, { ok: false, failure: { code: "no-prompt" }, lines: [] }, { failed: "no-prompt" }],
    ["SIM800 timeout", sim800, { ok: false, failure: { code: "timeout" }, lines: [] }, { failed: "timeout" }],
    ["SIM800 aborted", sim800, { ok: false, failure: { code: "aborted" }, lines: [] }, { failed: "aborted" }],
    ["SIM800 queue full", sim800, { ok: false, failure: { code: "busy" }, lines: [] }, { failed: "retry" }],
    ["Quectel SEND OK", quectel, ok("SEND OK"), { accepted: 5 }],
    ["Quectel SEND FAIL (buffer full)", quectel, error("SEND FAIL"), { failed: "retry" }],
    ["Quectel ERROR", quectel, error("ERROR"), { failed: "reset" }],
    ["Quectel +CME ERROR", quectel, error("+CME ERROR: 567", "cme"), { failed: "reset" }],
  ];
  for (const [name, dialect, result, expected] of sendTable) {
    it(`send: ${name}`, () => {
      let outcome: SendOutcome | undefined;
      const c = dialect.send(0, new Uint8Array(5), (o) => (outcome = o));
      assert.equal(c.payload?.length, 5);
      c.done(result);
      assert.deepEqual(outcome, expected);
    });
  }

  it("send: each family's finals are its own", () => {
    const s = sim800.send(0, new Uint8Array(1), () => undefined);
    assert.equal(s.final!("DATA ACCEPT:0,1"), "ok");
    assert.equal(s.final!("SEND FAIL"), "error");
    assert.equal(s.final!("0, SEND FAIL"), "error");
    assert.equal(s.final!("SEND OK"), undefined);
    const q = quectel.send(0, new Uint8Array(1), () => undefined);
    assert.equal(q.final!("SEND OK"), "ok");
    assert.equal(q.final!("SEND FAIL"), "error");
    assert.equal(q.final!("DATA ACCEPT:0,1"), undefined);
  });

  const readTable: Array<[string, Dialect, string[], AtResult, ReadOutcome, number[]]> = [
    ["SIM800 some data, more waiting", sim800, ["+CIPRXGET: 2,0,3,10"], ok(), { got: 3, more: true }, [1, 2, 3]],
    ["SIM800 the last data", sim800, ["+CIPRXGET: 2,0,3,0"], ok(), { got: 3, more: false }, [1, 2, 3]],
    ["SIM800 nothing", sim800, ["+CIPRXGET: 2,0,0,0"], ok(), { got: 0, more: false }, []],
    ["SIM800 a header for another link", sim800, ["+CIPRXGET: 2,1,3,0"], ok(), { failure: { code: "bad-response" } }, []],
    ["SIM800 more than asked for", sim800, ["+CIPRXGET: 2,0,9999,0"], ok(), { failure: { code: "bad-response" } }, []],
    ["SIM800 ERROR", sim800, [], error("ERROR"), { failure: { code: "error", line: "ERROR" } }, []],
    ["Quectel some data", quectel, ["+QIRD: 3"], ok(), { got: 3, more: true }, [1, 2, 3]],
    ["Quectel empty", quectel, ["+QIRD: 0"], ok(), { got: 0, more: false }, []],
    ["Quectel the query form", quectel, ["+QIRD: 10,5,5"], ok(), { failure: { code: "bad-response" } }, []],
    ["Quectel more than asked for", quectel, ["+QIRD: 1501"], ok(), { failure: { code: "bad-response" } }, []],
  ];
  for (const [name, dialect, lines, result, expected, data] of readTable) {
    it(`read: ${name}`, () => {
      let outcome: ReadOutcome | undefined;
      const got: number[] = [];
      const c = dialect.read(0, dialect.maxReadBytes, (b) => got.push(...b), (o) => (outcome = o));
      drive(c, lines, result, new Uint8Array([1, 2, 3]));
      assert.deepEqual(outcome, expected);
      assert.deepEqual(got, data);
    });
  }

  it("read: neither family takes the other's or a URC's line as its answer", () => {
    const s = sim800.read(0, 100, () => undefined, () => undefined);
    assert.equal((s.info as string).length > 0 && "+CIPRXGET: 1,0".startsWith(s.info as string), false);
    const q = quectel.read(0, 100, () => undefined, () => undefined);
    assert.equal('+QIURC: "recv",0'.startsWith(q.info as string), false);
  });

  it("open: the command lines", () => {
    assert.equal(sim800.open(2, "h.example", 1883, () => undefined).text, 'AT+CIPSTART=2,"TCP","h.example",1883');
    assert.equal(quectel.open(2, "10.0.0.1", 8883, () => undefined).text, 'AT+QIOPEN=1,2,"TCP","10.0.0.1",8883,0,0');
  });

  it("close: SIM800 ends with '<n>, CLOSE OK', Quectel with OK", () => {
    const c = sim800.close(3, () => undefined);
    assert.equal(c.text, "AT+CIPCLOSE=3,1");
    assert.equal(c.final!("3, CLOSE OK"), "ok");
    assert.equal(c.final!("2, CLOSE OK"), undefined);
    assert.equal(quectel.close(3, () => undefined).text, "AT+QICLOSE=3");
  });

  const stateTable: Array<[string, Dialect, string[], AtResult, boolean | undefined]> = [
    ["SIM800 an IP address: up", sim800, [], ok("10.1.2.3"), true],
    ["SIM800 ERROR: down", sim800, [], error("ERROR"), false],
    ["SIM800 no answer: unknown", sim800, [], { ok: false, failure: { code: "timeout" }, lines: [] }, undefined],
    ["Quectel context 1 active: up", quectel, ['+QIACT: 1,1,1,"10.0.0.1"'], ok("OK", ['+QIACT: 1,1,1,"10.0.0.1"']), true],
    ["Quectel another context: down", quectel, ['+QIACT: 2,1,1,"10.0.0.1"'], ok("OK", ['+QIACT: 2,1,1,"10.0.0.1"']), false],
    ["Quectel none: down", quectel, [], ok(), false],
  ];
  for (const [name, dialect, lines, result, expected] of stateTable) {
    it(`packet state: ${name}`, () => {
      let up: boolean | undefined | "unset" = "unset";
      const c = dialect.packetState((u) => (up = u));
      if (dialect === sim800 && result.ok) assert.equal(c.final!(result.final), "ok");
      for (const l of lines) assert.ok(typeof c.info === "string" && l.startsWith(c.info));
      c.done(result);
      assert.equal(up, expected);
    });
  }

  it("CIFSR's bare IP address is its final answer, other lines are not", () => {
    const step = sim800.packetUpSteps({ apn: "a", user: "", password: "" }).find((s) => s.text === "AT+CIFSR")!;
    assert.equal(step.final!("10.64.12.34"), "ok");
    for (const line of ["10.64.12", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", "1111.2.3.4"]) assert.equal(step.final!(line), undefined, line);
  });

  it("Quectel authentication is PAP only when a user or password is set", () => {
    const text = (user: string, password: string) => quectel.packetUpSteps({ apn: "a", user, password }).find((s) => s.text.startsWith("AT+QICSGP"))!.text;
    assert.equal(text("", ""), 'AT+QICSGP=1,1,"a","","",0');
    assert.equal(text("u", "p"), 'AT+QICSGP=1,1,"a","u","p",1');
  });
});

describe("AT command arguments", () => {
  it("accepts host names and addresses, rejects what would break the command line", () => {
    for (const h of ["broker.example.com", "10.0.0.1", "::1", "a-b.c"]) assert.ok(isValidHost(h), h);
    for (const h of ["", 'a"b', "a,b", "a b", "a\rb", "x".repeat(254)]) assert.ok(!isValidHost(h), JSON.stringify(h));
  });

  it("accepts printable APN, user and password without quotes", () => {
    assert.ok(isQuotable("internet.provider.ro"));
    assert.ok(isQuotable(""));
    for (const t of ['a"b', "a\rb", "é", "x".repeat(101)]) assert.ok(!isQuotable(t), JSON.stringify(t));
  });
});
