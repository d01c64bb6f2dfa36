/**
 * The modem driver on the modem emulator, for both families: bring-up, a TCP exchange with the simulated
 * endpoint, every recovery path of domain.md §4.6, and an SMS round trip with status reports and the
 * receiver's processed confirmation. Each runs under mocha and inside XS.
 */
import { AppKind, APP_IEI } from "../../firmware/modem/sms/app-header.js";
import type { OutgoingSms, SmsState } from "../../firmware/modem/sms/channel.js";
import type { SimModemFamily } from "../../hal/sim/modem/index.js";
import * as check from "../lib/check.js";
import { CONCENTRATOR_NUMBER, HEADEND_NUMBER, STRANGER_NUMBER, autoConfirm, echoClient, modemRig, pattern, type EchoClient, type Rig, type RigOptions } from "../../tools/sim/modem-rig.js";
import type { Scenario } from "../lib/scenario.js";
import { Steps, type Step } from "../lib/steps.js";

const FAMILIES: readonly SimModemFamily[] = ["sim800", "quectel"];
const MINUTE = 60_000;

interface Plan {
  readonly steps: Step[];
  readonly limitMs: number;
  check(): void;
}

/** A scenario per family from one plan. */
function perFamily(title: string, plan: (rig: Rig, family: SimModemFamily) => Plan, rig: Omit<RigOptions, "family" | "seed"> = {}): Scenario[] {
  return FAMILIES.map((family) => scenario(`modem ${family}: ${title}`, family, plan, rig));
}

function scenario(name: string, family: SimModemFamily, plan: (rig: Rig, family: SimModemFamily) => Plan, options: Omit<RigOptions, "family" | "seed"> = {}): Scenario {
  // Everything a run touches is created in start(): a scenario may run many times, on either engine.
  return {
    name,
    start(seed) {
      const rig = modemRig({ family, seed, ...options });
      const p = plan(rig, family);
      const steps = new Steps(p.steps);
      return {
        scheduler: rig.scheduler,
        limitMs: p.limitMs,
        done: () => steps.done(),
        check() {
          steps.checkFinished();
          check.equal(rig.fw.at.internalErrors, 0, "exceptions caught in the AT engine");
          check.equal(rig.fw.counters.internalErrors, 0, "exceptions caught in the modem manager");
          check.equal(rig.fw.at.overruns, 0, "UART receive overruns");
          p.check();
        },
      };
    },
  };
}

const ready = (rig: Rig): Step => ({ what: "the modem to be ready", until: () => rig.fw.state === "ready" });

/** Waits until the modem has left "ready" and come back. */
function readyAgain(rig: Rig): Step[] {
  return [{ what: "the modem to leave ready", until: () => rig.fw.state !== "ready" }, ready(rig)];
}

/** Opens an echo client that is expected to fail, and waits for it to close. */
function refused(rig: Rig, bytes: number, keep: (c: EchoClient) => void): Step[] {
  let client: EchoClient | undefined;
  return [
    {
      what: "a doomed echo client to connect",
      until: () => true,
      then: () => {
        client = echoClient(rig, pattern(bytes));
        keep(client);
      },
    },
    { what: "the doomed client to close", until: () => client!.closed !== undefined },
  ];
}

/** Opens an echo client once the previous steps are done, and waits for the whole echo. */
function echoed(rig: Rig, bytes: number, salt: number, keep: (c: EchoClient) => void): Step[] {
  let client: EchoClient | undefined;
  const payload = pattern(bytes, salt);
  return [
    {
      what: `an echo client (${bytes} bytes) to connect`,
      until: () => true,
      then: () => {
        client = echoClient(rig, payload);
        keep(client);
      },
    },
    { what: `the echo of ${bytes} bytes`, until: () => client!.complete || client!.closed !== undefined },
    {
      what: "the echo to be intact",
      until: () => true,
      then: () => check.deepEqual(client!.received, Array.from(payload), "echoed bytes"),
    },
  ];
}

// ---- bring-up and TCP ----

const bringUp = perFamily("bring-up from power-off to a PDP context, reporting registration and signal", (rig, family) => ({
  steps: [ready(rig), { what: "the first signal report", until: () => rig.fw.status.rssi !== undefined }],
  limitMs: 2 * MINUTE,
  check() {
    const st = rig.fw.status;
    check.equal(st.registration, "home", "circuit-switched registration");
    check.equal(st.packetRegistration, "home", "packet registration");
    check.equal(st.rssi, 18, "+CSQ rssi");
    check.equal(st.rssiDbm, -77, "signal in dBm (−113 + 2·rssi)");
    check.equal(st.smsReady, true, "SMS ready");
    check.equal(rig.fw.counters.powerKeyPresses, 1, "power key presses (the module starts off)");
    check.ok(rig.modem.pdpActive, "the module has a PDP context");
    check.ok(rig.statuses.some((s) => s.state === "powering-on"), "status went through powering-on");
    if (family === "sim800") check.equal(rig.modem.storedBaud, 115_200, "fixed baud rate stored, so resets announce RDY");
  },
}));

const tcpExchange = perFamily("3000 bytes (three send commands) echoed by the simulated endpoint through the modem's TCP stack", (rig) => {
  let c: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 3000, 1, (x) => (c = x)),
      { what: "the owner's close", until: () => true, then: () => c!.close() },
      { what: "onClose after close()", until: () => c!.closed !== undefined },
      { what: "the module's socket to be released", until: () => rig.modem.sockets === 0 },
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(c!.closed, "closed", "close reason");
      check.equal(rig.fw.tcp.counters.bytesSent, 3000, "bytes sent");
      check.equal(rig.fw.tcp.counters.bytesReceived, 3000, "bytes received");
    },
  };
});

// ---- recovery (domain.md §4.6) ----

const modemReset = perFamily("§4.6.1 an unexpected module reset closes sockets with 'modem' and re-runs the bring-up", (rig) => {
  let a: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 500, 2, (x) => (a = x)),
      { what: "the module to reset", until: () => true, then: () => rig.modem.reboot() },
      { what: "the socket to close", until: () => a!.closed !== undefined },
      ...readyAgain(rig),
      ...echoed(rig, 500, 3, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "modem", "close reason of the socket open at the reset");
      check.equal(rig.fw.counters.unexpectedBoots, 1, "unexpected boots seen (RDY)");
      check.equal(rig.fw.counters.powerKeyPresses, 1, "no power key press needed");
    },
  };
});

const powerDown = perFamily("§4.6.1 an under-voltage power-down is answered with the power key", (rig) => {
  let a: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 300, 4, (x) => (a = x)),
      { what: "the module to power down", until: () => true, then: () => rig.modem.powerDown("under-voltage") },
      { what: "the socket to close", until: () => a!.closed !== undefined },
      ...readyAgain(rig),
      ...echoed(rig, 300, 5, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "modem", "close reason");
      check.equal(rig.fw.counters.unexpectedPowerDowns, 1, "unexpected power-downs");
      check.equal(rig.fw.counters.powerKeyPresses, 2, "power key presses (start, and after the power-down)");
    },
  };
});

const pdpLoss = perFamily("§4.6.2 a PDP deactivation by the network closes sockets with 'network' and rebuilds the context", (rig) => {
  let a: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 300, 6, (x) => (a = x)),
      { what: "the network to drop the context", until: () => true, then: () => rig.modem.dropPdp() },
      { what: "the socket to close", until: () => a!.closed !== undefined },
      ready(rig),
      ...echoed(rig, 300, 7, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "network", "close reason");
      check.equal(rig.fw.counters.pdpLosses, 1, "PDP losses");
      check.equal(rig.fw.counters.failures, 0, "no bring-up failure");
    },
  };
});

const silentPdpLoss = perFamily("§4.6.2/4 a context lost without a URC: the refused open rebuilds it (CIPSTART in the wrong state)", (rig) => {
  let a: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      { what: "the network to drop the context silently", until: () => true, then: () => rig.modem.dropPdp({ silent: true }) },
      ...refused(rig, 100, (x) => (a = x)),
      ready(rig),
      ...echoed(rig, 300, 9, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "network", "close reason of the refused open");
      check.equal(rig.fw.counters.pdpLosses, 1, "PDP losses");
    },
  };
});

const remoteClose = perFamily("§4.6.3 a remote close reports 'closed' and frees the link for the next socket", (rig) => {
  let a: EchoClient | undefined;
  let b: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 300, 10, (x) => (a = x)),
      { what: "the server to close", until: () => true, then: () => rig.internet.closeAll() },
      { what: "the socket to close", until: () => a!.closed !== undefined },
      ...echoed(rig, 300, 11, (x) => (b = x)),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "closed", "close reason");
      check.equal(rig.fw.tcp.counters.remoteCloses, 1, "remote closes");
      check.equal(b!.closed, undefined, "the second socket is open");
      check.equal(rig.modem.sockets, 1, "sockets held in the module (the closed one was released)");
    },
  };
});

const sendRecovered = perFamily("§4.6.5 sends the module takes in part or refuses for a full buffer are repeated: the stream stays intact", (rig, family) => ({
  steps: [
    ready(rig),
    {
      what: "send faults to be armed",
      until: () => true,
      then: () => rig.modem.faults.sendFaults.push(...(family === "sim800" ? (["partial", "partial"] as const) : (["send-fail", "send-fail"] as const))),
    },
    ...echoed(rig, 3000, 12, () => undefined),
  ],
  limitMs: 3 * MINUTE,
  check() {
    const t = rig.fw.tcp.counters;
    if (family === "sim800") check.equal(t.partialSends, 2, "partial sends completed");
    else check.equal(t.sendRetries, 2, "sends repeated after SEND FAIL");
    check.equal(t.bytesSent, 3000, "bytes sent");
  },
}));

const sendFailed = perFamily("§4.6.5 a failed send or a missing prompt closes the socket ('reset', 'timeout'); the next one works", (rig, family) => {
  let a: EchoClient | undefined;
  let b: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      { what: "a send failure to be armed", until: () => true, then: () => rig.modem.faults.sendFaults.push(family === "sim800" ? "send-fail" : "error") },
      ...refused(rig, 100, (x) => (a = x)),
      { what: "a missing prompt to be armed", until: () => true, then: () => rig.modem.faults.sendFaults.push("no-prompt") },
      ...refused(rig, 100, (x) => (b = x)),
      ...echoed(rig, 300, 15, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(a!.closed, "reset", "close reason after SEND FAIL / ERROR");
      check.equal(b!.closed, "timeout", "close reason after a missing prompt");
      check.equal(rig.fw.tcp.counters.sendFailures, 2, "send failures");
      check.equal(rig.fw.state, "ready", "the module stays ready");
    },
  };
});

const simMissing = perFamily(
  "§4.6.7 no SIM: retried, then soft reset and power cycle with backoff, until one is inserted",
  (rig) => ({
    steps: [
      { what: "a soft reset and a power cycle", until: () => rig.fw.counters.softResets >= 1 && rig.fw.counters.powerCycles >= 1 },
      { what: "a SIM to be inserted", until: () => true, then: () => rig.modem.setSim("ready") },
      ready(rig),
    ],
    limitMs: 10 * MINUTE,
    check() {
      check.equal(rig.fw.status.lastFailure, "sim-missing", "last failure");
      check.equal(rig.fw.status.failures, 0, "failure count cleared once ready");
    },
  }),
  { modem: { sim: "absent" } },
);

const registrationDenied = perFamily(
  "§4.6.8 registration denied escalates to a power-key cycle; roaming, once allowed, is a valid registration",
  (rig) => ({
    steps: [
      { what: "a power cycle", until: () => rig.fw.counters.powerCycles >= 1 },
      { what: "the network to allow roaming", until: () => true, then: () => rig.modem.setCoverage("roaming") },
      ready(rig),
    ],
    limitMs: 15 * MINUTE,
    check() {
      check.equal(rig.fw.status.lastFailure, "registration-denied", "last failure");
      check.equal(rig.fw.status.registration, "roaming", "registration");
      check.ok(rig.statuses.some((s) => s.registration === "denied"), "denial was reported");
    },
  }),
  { modem: { coverage: "denied" } },
);

const hung = perFamily("a module that stops answering is power-cycled with the key", (rig) => {
  let a: EchoClient | undefined;
  return {
    steps: [
      ready(rig),
      ...echoed(rig, 200, 16, (x) => (a = x)),
      { what: "the module to hang", until: () => true, then: () => rig.modem.hang() },
      { what: "the socket to close", until: () => a!.closed !== undefined },
      ...readyAgain(rig),
      ...echoed(rig, 300, 17, () => undefined),
    ],
    limitMs: 5 * MINUTE,
    check() {
      check.equal(a!.closed, "modem", "close reason");
      check.equal(rig.fw.status.lastFailure, "unresponsive", "diagnosis");
      check.ok(rig.fw.counters.powerKeyPresses >= 3, "the key switched the hung module off and on again");
    },
  };
});

const interleaved = perFamily("§4.6.6 URCs inside responses and garbage between them change nothing", (rig) => {
  let injected = 0;
  return {
    steps: [
      ready(rig),
      {
        what: "URCs and garbage to be scheduled",
        until: () => true,
        then: () => {
          for (let t = 50; t < 20_000; t += 137) {
            rig.scheduler.after(t, () => {
              injected++;
              rig.modem.urcsInNextResponse.push(injected % 2 ? "RING" : "+CTZV: +08");
              rig.modem.injectGarbage(new Uint8Array([0x0d, 0x0a, 0xff, 0x80 + (injected & 0x3f), 0x47, 0x0d, 0x0a]));
            });
          }
        },
      },
      ...echoed(rig, 3000, 18, () => undefined),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.ok(injected > 5, "injections happened during the exchange");
      check.ok(rig.fw.at.unknownLines > 0, "garbage lines were seen and dropped");
      check.equal(rig.fw.counters.failures, 0, "no failure");
    },
  };
});

const incomingFull = scenario(
  "modem quectel: §4.6.9 'incoming full': the buffer is drained although no 'recv' URC follows",
  "quectel",
  (rig) => ({
    steps: [ready(rig), ...echoed(rig, 4000, 19, () => undefined)],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(rig.fw.tcp.counters.bytesReceived, 4000, "bytes received");
      check.ok((rig.modem.urcCounts['+QIURC: "incoming full"'] ?? 0) > 0, "the module reported a full buffer");
    },
  }),
  { modem: { receiveBufferBytes: 1024 } },
);

const silentReset = scenario(
  "modem sim800: §4.6.10 a reset without RDY (autobauding) is recognised by the echo coming back",
  "sim800",
  (rig) => ({
    steps: [
      ready(rig),
      {
        what: "the module to lose its settings and reset",
        until: () => true,
        then: () => {
          rig.modem.factoryReset();
          rig.modem.reboot();
        },
      },
      ...readyAgain(rig),
    ],
    limitMs: 3 * MINUTE,
    check() {
      check.equal(rig.fw.counters.unexpectedBoots, 1, "unexpected boots");
      check.ok(rig.fw.at.echoes > 0, "echo seen");
      check.equal(rig.modem.storedBaud, 115_200, "fixed baud stored again");
    },
  }),
);

// ---- SMS ----

const smsRoundTrip = perFamily("SMS round trip — sent, accepted, received, processed; a head-end command confirmed; a stranger dropped", (rig) => {
  autoConfirm(rig.headend);
  const stranger = rig.smsc.phone(STRANGER_NUMBER);
  const confirmations = () => rig.headend.received.filter((m) => m.header.some((h) => h.id === APP_IEI && h.data[0] === AppKind.confirmation));
  let out: OutgoingSms | undefined;
  return {
    steps: [
      { what: "SMS to be ready", until: () => rig.fw.sms.ready },
      { what: "an alarm SMS to be sent", until: () => true, then: () => (out = rig.fw.sms.send(HEADEND_NUMBER, pattern(120, 20))) },
      { what: "the alarm to be processed", until: () => out!.state === "processed" || out!.state === "failed" },
      {
        what: "a command and a stranger's SMS to arrive",
        until: () => true,
        then: () => {
          const command = (ref: number) => ({ data: new Uint8Array([0x43, 0x4d, 0x44]), header: [{ id: APP_IEI, data: new Uint8Array([AppKind.dataConfirm, ref >> 8, ref & 0xff]) }] });
          rig.headend.send(CONCENTRATOR_NUMBER, command(0x1234));
          stranger.send(CONCENTRATOR_NUMBER, command(0x1235));
        },
      },
      { what: "the head-end's command", until: () => rig.incoming.length === 1 },
      { what: "the command's confirmation at the head-end", until: () => confirmations().length === 1 },
      { what: "the stranger's SMS to be dropped", until: () => rig.fw.sms.counters.rejectedSenders === 1 },
      { what: "SIM storage to be emptied", until: () => rig.modem.storedMessages === 0 },
    ],
    limitMs: 5 * MINUTE,
    check() {
      const states: SmsState[] = rig.smsStates.filter((e) => e.id === out!.id).map((e) => e.state);
      check.deepEqual(states, ["sent", "accepted", "received", "processed"], "delivery states of the alarm");
      check.deepEqual(Array.from(rig.headend.received[0]!.data), Array.from(pattern(120, 20)), "payload at the head-end");
      check.equal(out!.deliveryStatus, 0, "TP-Status of the report (received by the SME)");
      check.equal(rig.incoming[0]!.ref, 0x1234, "reference of the command");
      check.deepEqual(Array.from(rig.incoming[0]!.data), [0x43, 0x4d, 0x44], "command payload");
      check.deepEqual(Array.from(confirmations()[0]!.header[0]!.data), [AppKind.confirmation, 0x12, 0x34], "confirmation header");
      check.equal(rig.fw.sms.counters.incoming, 1, "messages handed to the application");
    },
  };
});

export const scenarios: Scenario[] = [
  ...bringUp,
  ...tcpExchange,
  ...modemReset,
  ...powerDown,
  ...pdpLoss,
  ...silentPdpLoss,
  ...remoteClose,
  ...sendRecovered,
  ...sendFailed,
  ...simMissing,
  ...registrationDenied,
  ...hung,
  ...interleaved,
  incomingFull,
  silentReset,
  ...smsRoundTrip,
];
