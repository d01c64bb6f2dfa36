// The modem emulator answers as the manuals say: checked over a bare terminal on the board's modem UART.
import assert from "node:assert/strict";
import { SimBoard } from "../../hal/sim/board.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { connectModem, echoServer, parseCall, SimInternet, SimModem, SimSmsc, type SimModemFamily, type SimModemOptions } from "../../hal/sim/modem/index.js";

/** A board whose firmware is a terminal: type a line, read what came back. */
function terminal(family: SimModemFamily, options: Partial<SimModemOptions> = {}) {
  const s = new Scheduler();
  const prng = new Prng("terminal");
  const board = new SimBoard(s, prng, { logBytes: 64 * 1024 });
  const internet = new SimInternet(s);
  internet.listen("echo.test", 7, echoServer);
  const modem = new SimModem(s, prng.fork("m"), { family, network: internet, smsc: new SimSmsc(s), ...options });
  connectModem(board, modem, prng.fork("l"));
  let text = "";
  let write: (line: string) => boolean = () => false;
  board.onBoot((hal) => {
    const port = hal.modem.serial.open({ baud: 115_200, onReadable: () => (text += String.fromCharCode(...(port.read() ?? []))) });
    write = (line: string) => port.write(Uint8Array.from(line, (c) => c.charCodeAt(0)));
  });
  board.powerOn();
  const t = {
    s,
    board,
    modem,
    internet,
    /** Sends a command line and returns what came back within `ms`. */
    at(line: string, ms = 300): string {
      text = "";
      // Lines longer than the transmit FIFO go out in FIFO-sized pieces, as the firmware sends them.
      const bytes = `${line}\r`;
      for (let i = 0; i < bytes.length; i += 100) {
        while (!write(bytes.slice(i, i + 100))) s.runFor(1);
      }
      s.runFor(ms);
      return text;
    },
    read(ms: number): string {
      text = "";
      s.runFor(ms);
      return text;
    },
  };
  return t;
}

describe("modem emulator", () => {
  it("parses command lines as V.250 does", () => {
    assert.deepEqual(parseCall('+CIPSTART=0,"TCP","a,b",80'), { name: "+CIPSTART", form: "set", args: ["0", "TCP", "a,b", "80"] });
    assert.deepEqual(parseCall("+creg?"), { name: "+CREG", form: "read", args: [] });
    assert.deepEqual(parseCall("+CGATT=?"), { name: "+CGATT", form: "test", args: [] });
    assert.deepEqual(parseCall("E0"), { name: "E", form: "set", args: ["0"] });
    assert.deepEqual(parseCall("&W"), { name: "&W", form: "exec", args: [] });
    assert.deepEqual(parseCall("+CIICR"), { name: "+CIICR", form: "exec", args: [] });
    assert.equal(parseCall('+X="open'), undefined);
  });

  it("switches a SIM800 on only after a 1 s press, and off with a 1.5-33 s press", () => {
    const t = terminal("sim800");
    const key = t.board.modemPowerKey;
    key.write(1);
    t.s.runFor(900);
    key.write(0);
    t.s.runFor(5000);
    assert.equal(t.modem.on, false, "900 ms is too short");
    key.write(1);
    t.s.runFor(2000);
    key.write(0);
    t.s.runFor(5000);
    assert.equal(t.modem.on, true);
    key.write(1);
    t.s.runFor(1200);
    key.write(0);
    t.s.runFor(3000);
    assert.equal(t.modem.on, true, "1.2 s does not switch it off");
    key.write(1);
    t.s.runFor(2000);
    key.write(0);
    assert.match(t.read(500), /NORMAL POWER DOWN/);
    t.s.runFor(2000);
    assert.equal(t.modem.on, false);
  });

  it("boots a factory SIM800 without RDY (autobauding), echoing, and says RDY once a fixed rate is stored", () => {
    const t = terminal("sim800");
    t.modem.switchOn();
    const boot = t.read(10_000);
    assert.doesNotMatch(boot, /RDY/);
    assert.match(boot, /Call Ready[\s\S]*SMS Ready/);
    assert.equal(t.at("AT"), "AT\r\r\nOK\r\n", "echo on after boot");
    t.at("ATE0");
    assert.equal(t.at("AT+IPR?"), "\r\n+IPR: 0\r\n\r\nOK\r\n");
    t.at("AT+IPR=115200");
    t.modem.reboot();
    assert.match(t.read(5_000), /RDY/);
  });

  it("takes AT+IFC=2,2 (RTS/CTS, V.250), refuses what it does not offer, and forgets it at a reboot", () => {
    const t = terminal("sim800");
    t.modem.switchOn();
    t.read(10_000);
    t.at("ATE0");
    assert.equal(t.at("AT+IFC?"), "\r\n+IFC: 0,0\r\n\r\nOK\r\n", "the factory setting");
    assert.match(t.at("AT+IFC=1,1"), /ERROR/);
    assert.match(t.at("AT+IFC=2,2"), /OK/);
    assert.equal(t.at("AT+IFC?"), "\r\n+IFC: 2,2\r\n\r\nOK\r\n");
    t.modem.reboot();
    t.read(10_000);
    t.at("ATE0");
    assert.equal(t.at("AT+IFC?"), "\r\n+IFC: 0,0\r\n\r\nOK\r\n");
  });

  it("reports BG96 URCs on the UART only after AT+QURCCFG=\"urcport\",\"uart1\"", () => {
    const t = terminal("quectel");
    t.modem.switchOn();
    const boot = t.read(10_000);
    assert.match(boot, /RDY[\s\S]*APP RDY/);
    assert.doesNotMatch(boot, /\+QIND/, "+QIND goes to USB by default");
    t.at("ATE0");
    assert.match(t.at('AT+QURCCFG="urcport","uarx1"'), /ERROR/);
    assert.match(t.at('AT+QURCCFG="urcport","uart1"'), /OK/);
    t.modem.reboot();
    assert.match(t.read(10_000), /\+QIND: SMS DONE/);
  });

  it("answers the SIM800 IP state machine: CIPSTART only in IP STATUS, CIFSR without OK, SHUT OK", () => {
    const t = terminal("sim800", { registrationDelayMs: 0 });
    t.modem.switchOn();
    t.read(8_000);
    t.at("ATE0");
    assert.match(t.at('AT+CIPSTART=0,"TCP","echo.test",7'), /ERROR/, "not in multi-IP yet");
    t.at("AT+CIPMUX=1");
    assert.match(t.at('AT+CIPSTART=0,"TCP","echo.test",7'), /ERROR/, "IP INITIAL");
    t.at("AT+CGATT=1", 2000);
    t.at('AT+CSTT="internet","",""');
    assert.match(t.at("AT+CIICR", 4000), /OK/);
    assert.equal(t.at("AT+CIFSR"), "\r\n10.64.12.34\r\n");
    const open = t.at('AT+CIPSTART=0,"TCP","echo.test",7', 2000);
    assert.match(open, /OK[\s\S]*0, CONNECT OK/);
    assert.match(t.at('AT+CIPSTART=0,"TCP","echo.test",7', 100), /ALREADY CONNECT/);
    assert.match(t.at("AT+CIPSEND=0,1461"), /ERROR/, "more than 1460 bytes");
    assert.match(t.at("AT+CIPSHUT", 1000), /SHUT OK/);
    assert.equal(t.modem.sockets, 0);
  });

  it("checks the TPDU length of AT+CMGS and refuses a message without network service", () => {
    const t = terminal("sim800", { coverage: "none" });
    t.modem.switchOn();
    t.read(10_000);
    t.at("ATE0");
    t.at("AT+CMEE=1");
    t.at("AT+CMGF=0");
    const pdu = "0011000B910407000009F00004A70101\x1a";
    assert.match(t.at("AT+CMGS=99", 50), /> /);
    assert.match(t.at(pdu, 300), /\+CMS ERROR: 304/);
    assert.match(t.at("AT+CMGS=15", 50), /> /);
    assert.match(t.at(pdu, 2000), /\+CMS ERROR: 331/);
  });

  it("holds data it cannot pass on while the receive buffer is full, and reports it (BG96)", () => {
    const t = terminal("quectel", { registrationDelayMs: 0, receiveBufferBytes: 100 });
    t.modem.switchOn();
    t.read(10_000);
    for (const c of ["ATE0", 'AT+QURCCFG="urcport","uart1"', "AT+CGATT=1", 'AT+QICSGP=1,1,"internet","","",0']) t.at(c, 2000);
    assert.match(t.at("AT+QIACT=1", 4000), /OK/);
    assert.match(t.at('AT+QIOPEN=1,0,"TCP","echo.test",7,0,0', 2000), /\+QIOPEN: 0,0/);
    t.at("AT+QISEND=0,300", 50);
    const after = t.at("x".repeat(300), 3000);
    assert.match(after, /SEND OK[\s\S]*\+QIURC: "recv",0[\s\S]*\+QIURC: "incoming full"/);
    assert.equal((t.at("AT+QIRD=0,0").match(/\+QIRD: (\d+),/) ?? [])[1], "100", "only a buffer's worth came in");
    const read = t.at("AT+QIRD=0,1500", 1000);
    assert.match(read, /\+QIRD: 100\r\nx{100}\r\n/);
  });
});
