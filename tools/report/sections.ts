/**
 * The sections of the site report, in order, each built from the report JSON alone (what
 * `simulate --json` prints, with its `series`). A section that has nothing to show for a run (no
 * uplink, no series) is left out. To add one: write a `SectionBuilder` and put it in `SECTIONS`.
 */
import { EventType } from "../../firmware/model/records.js";
import type { SiteReport } from "../site/site.js";
import type { SiteSeries } from "../site/recorder.js";
import { joinOnX, type BandSpec, type ChartSpec, type ReportSpec, type SectionSpec, type SeriesSpec } from "./spec.js";

export type SectionBuilder = (report: SiteReport) => SectionSpec | undefined;

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const SHADE = { gprs: "rgba(214, 39, 40, 0.12)", grid: "rgba(31, 119, 180, 0.14)", boardOff: "rgba(80, 80, 80, 0.22)" };

/** Simulated ms to the charts' time axis (wall ms). */
function at(s: SiteSeries, ms: number): number {
  return s.startEpochMs + ms;
}

function series(label: string, values: Array<number | null>, k: number, o: Partial<SeriesSpec> = {}): SeriesSpec {
  return { label, values, style: "line", color: PALETTE[k % PALETTE.length]!, ...o };
}

/** "bus0" → "local modules, bus 0", "plc0" → "PLC bridge (plc0)", "radio0" → "radio bridge (radio0)". */
function pathLabel(path: string): string {
  if (path.startsWith("bus")) return `local modules, bus ${path.slice(3)}`;
  if (path.startsWith("plc")) return `PLC bridge (${path})`;
  if (path.startsWith("radio")) return `radio bridge (${path})`;
  return path;
}

/** "powerFail" → "power fail". */
const EVENT_NAMES = new Map<number, string>(Object.entries(EventType).map(([name, n]) => [n, name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)]));

/** Mean power over an interval, kW, from its energy, Wh. */
function kw(wh: number | null, periodMs: number): number | null {
  return wh === null ? null : Number((wh / 1000 / (periodMs / 3_600_000)).toFixed(3));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** `a` of `b` as a percentage with two decimals (completeness figures sit near 100 %). */
function share(a: number, b: number): string {
  return b ? `${((100 * a) / b).toFixed(2)} %` : "–";
}

function unrecoverable(r: SiteReport): string {
  const u = r.unrecoverableBy;
  return `${u.noProfile} / ${u.profileTooShort} / ${u.notRecorded} / ${u.expired} / ${u.pending}`;
}

const summary: SectionBuilder = (r) => ({
  id: "summary",
  title: "The run",
  text: [
    `The concentrator firmware on a simulated board, in a simulated installation of ${r.modules} modules, for ${r.days} day(s) with seed ${r.seed}. ` +
      "Every figure below is what the firmware reported, checked against the simulated world where the simulation knows better (latches, what reached the head-end).",
  ],
  figures: [
    ["profile slots expected / acquired (share)", `${r.readingsExpected} / ${r.readingsAcquired} (${share(r.readingsAcquired, r.readingsExpected)})`],
    ["… recovered from the meters' load profiles (share)", `${r.readingsBackfilled} (${share(r.readingsBackfilled, r.readingsExpected)}) in ${r.backfillSessions} catch-up sessions`],
    ["… unrecoverable: no profile memory / profile too short / not recorded / expired / not caught up", `${r.readingsUnrecoverable}: ${unrecoverable(r)}`],
    ["module clocks off beyond the tolerance (placed by the concentrator's clock)", r.meterClockOffsets],
    ["readings read / stored (back-filled)", `${r.readingsRead} / ${r.readingsStored} (${r.backfillReadingsStored})`],
    ["readings at the head-end / pending / lost / corrupt", `${r.readingsDelivered} / ${r.readingsPending} / ${r.lost} / ${r.readingsCorrupt}`],
    ["modules discovered / missing at the end", `${r.modulesDiscovered} / ${r.modulesMissing}`],
    ["events raised / alarms", `${r.eventsRaised} / ${r.alarms}`],
    ["poll cycle over the wire-time bound (mean of cycles)", `${r.pollCycleRatio} (${r.pollCycles}), through bridges ${r.remoteCycleRatio} (${r.remoteCycles})`],
    ["bus utilisation", pct(r.busUtilisation)],
    ["uplink bytes per reading delivered", r.uplinkBytesPerReading],
    ["mains failures / boots / orderly shutdowns / brown-outs", `${r.mainsFailures} / ${r.boots} / ${r.shutdowns} / ${r.brownouts}`],
    ["consumers disconnected / latch violations", `${r.latchedConsumers} / ${r.latchViolations}`],
    ["internal errors", r.internalErrors],
    ["simulation wall time", `${(r.wallMs / 1000).toFixed(1)} s`],
  ],
});

const load: SectionBuilder = (r) => {
  const s = r.series;
  if (!s) return undefined;
  const iv = s.intervals;
  const x = iv.groups[0]?.wh.map((_, k) => at(s, k * iv.periodMs)) ?? [];
  const charts: ChartSpec[] = [
    {
      id: "load-profiles",
      title: "Load profile per group",
      xKind: "time",
      x,
      axes: [{ label: "mean power, kW" }],
      series: iv.groups.map((g, k) => series(pathLabel(g.name), g.wh.map((wh) => kw(wh, iv.periodMs)), k, { style: "step", decimals: 2 })),
      caption: "Per 15-minute interval, from the 1.8.0 (active import) readings the concentrator stored: each meter's increase between two readings, spread over the time between them, summed over the modules of each path.",
    },
  ];
  if (iv.feeder) {
    const f = iv.feeder;
    const loss = f.feederWh.map((w, k) => {
      const c = f.consumersWh[k];
      return w === null || c === null || c === undefined || w <= 0 ? null : Number((((w - c) / w) * 100).toFixed(2));
    });
    charts.push({
      id: "feeder-balance",
      title: "Feeder balance",
      xKind: "time",
      x,
      axes: [{ label: "mean power, kW" }, { label: "loss, %", side: "right" }],
      series: [
        series("balance meter", f.feederWh.map((wh) => kw(wh, iv.periodMs)), 0, { style: "step", decimals: 2 }),
        series("sum of its consumers", f.consumersWh.map((wh) => kw(wh, iv.periodMs)), 2, { style: "step", decimals: 2 }),
        series("loss", loss, 1, { axis: 1, style: "points", decimals: 1 }),
      ],
      caption: "The feeder's balance meter against the consumers behind it, per interval, from the same stored readings; the loss is what the firmware's balance monitor judges (docs/core.md, Balance).",
    });
  }
  return { id: "load", title: "Load and the feeder balance", charts };
};

const polling: SectionBuilder = (r) => {
  const s = r.series;
  if (!s) return undefined;
  const c = s.cycles;
  const paths = [...new Set(c.path)].sort();
  const joined = joinOnX(
    paths.map((p) => {
      const x: number[] = [];
      const y: number[] = [];
      c.path.forEach((q, i) => {
        if (q !== p || !c.complete[i]) return;
        x.push(at(s, c.endMs[i]!));
        y.push(Number((c.durationMs[i]! / c.lowerBoundMs[i]!).toFixed(4)));
      });
      return { x, y };
    }),
  );
  const iv = s.intervals;
  const busX = iv.busUtilisation[0]?.share.map((_, k) => at(s, k * iv.periodMs)) ?? [];
  return {
    id: "polling",
    title: "Polling",
    text: [`${r.readoutsOk} readouts answered, ${r.readoutsFailed} failed; ${r.routeFailovers} route failovers through the bridges.`],
    charts: [
      {
        id: "poll-cycles",
        title: "Poll cycle over its lower bound, per cycle",
        xKind: "time",
        x: joined.x,
        axes: [{ label: "duration / lower bound" }],
        series: paths.map((p, k) => series(pathLabel(p), joined.ys[k]!, k, { style: "points", decimals: 3 })),
        caption: "Every complete poll cycle (the scheduled readouts of one slot on one path), at its end: its duration over the wire-time lower bound of its readouts (docs/d0.md; through a bridge, the air and wire bound of docs/bridge.md).",
      },
      {
        id: "bus-utilisation",
        title: "RS485 bus utilisation per poll interval",
        xKind: "time",
        x: busX,
        axes: [{ label: "busy, %" }],
        series: iv.busUtilisation.map((b, k) => series(`bus ${b.name.slice(3)}`, b.share.map((v) => Number((v * 100).toFixed(2))), k, { style: "step", decimals: 1 })),
        caption: "Share of each 15-minute interval a driver was transmitting on the bus (polls, answers, bridge frames, discovery, latch work).",
      },
    ],
  };
};

const uplink: SectionBuilder = (r) => {
  const s = r.series;
  if (!s || r.uplinkBytes === 0) return undefined;
  const m = s.samples;
  const x = m.timeMs.map((t) => at(s, t));
  const bands: BandSpec[] = s.gprsOutages.map((o) => ({ from: at(s, o.fromMs), to: at(s, o.untilMs), label: `GPRS down (${o.kind})`, color: SHADE.gprs }));
  return {
    id: "uplink",
    title: "Uplink",
    text: [
      `${r.readingsDelivered} readings reached the head-end, ${r.readingsPending} were still pending at the end, ${r.lost} lost. ` +
        `${s.gprsOutages.length} GPRS outages (shaded), ${r.alarmSmsSent} alarm SMS sent while GPRS was down.`,
    ],
    charts: [
      {
        id: "uplink-backlog",
        title: "Uplink backlog",
        xKind: "time",
        x,
        axes: [{ label: "readings" }],
        series: [series("stored, not yet at the head-end", m.readingsStored.map((v, k) => v - m.readingsDelivered[k]!), 0, { style: "step" })],
        bands,
        caption: "Distinct readings the concentrator stored that the head-end's database does not hold yet, every 5 simulated minutes; shaded: GPRS outage windows.",
      },
      {
        id: "uplink-bytes",
        title: "Bytes on the air",
        xKind: "time",
        x,
        axes: [{ label: "bytes per 5 min" }],
        series: [series("up", m.bytesUp, 0, { style: "step" }), series("down", m.bytesDown, 1, { style: "step" })],
        bands,
        caption: "TCP payload through the modem, each way: MQTT, envelopes, acknowledgements, pings, status (docs/uplink.md).",
      },
    ],
  };
};

const events: SectionBuilder = (r) => {
  const s = r.series;
  if (!s) return undefined;
  const e = s.events;
  const types = [...new Set(e.type)].sort((a, b) => a - b);
  const row = new Map(types.map((t, k) => [t, k]));
  // Events are in time order already; one x per event (several may share a time).
  const x = e.timeMs.map((t) => at(s, t));
  const only = (alarm: boolean) => e.type.map((t, k) => (e.alarm[k] === alarm ? row.get(t)! : null));
  const counts = types.map((t): [string, number] => [EVENT_NAMES.get(t) ?? String(t), e.type.filter((u) => u === t).length]);
  return {
    id: "events",
    title: "Events and alarms",
    figures: counts,
    charts: [
      {
        id: "event-timeline",
        title: "Events and alarms on a timeline",
        xKind: "time",
        x,
        axes: [{ label: "", categories: types.map((t) => EVENT_NAMES.get(t) ?? String(t)), range: [-0.5, Math.max(0.5, types.length - 0.5)] }],
        series: [series("event", only(false), 0, { style: "points" }), series("alarm", only(true), 1, { style: "points" })],
        height: Math.max(160, 24 * types.length + 60),
        caption: "Every event the concentrator stored, when it raised it (alarms are sent at once and drained first; docs/core.md, Events and alarms).",
      },
    ],
  };
};

const power: SectionBuilder = (r) => {
  const s = r.series;
  if (!s) return undefined;
  const m = s.samples;
  const end = s.endMs;
  const bands: BandSpec[] = [
    ...s.gridOutages.map((o) => ({ from: at(s, o.fromMs), to: at(s, o.untilMs ?? end), label: "mains failed", color: SHADE.grid })),
    ...s.boardOff.map((o) => ({ from: at(s, o.fromMs), to: at(s, o.untilMs ?? end), label: `board off (${o.reason})`, color: SHADE.boardOff })),
  ];
  return {
    id: "power",
    title: "Mains and battery",
    text: [`${r.mainsFailures} mains failures (shaded blue), ${r.shutdowns} orderly shutdowns (${r.batteryCutoffs} with the battery disconnected), ${r.brownouts} brown-outs; board off: shaded grey.`],
    charts: [
      {
        id: "power",
        title: "Battery and mains",
        xKind: "time",
        x: m.timeMs.map((t) => at(s, t)),
        axes: [{ label: "battery, mV" }, { label: "mains, board (on = 1)", side: "right", range: [0, 1.2] }],
        series: [
          series("battery", m.batteryMv, 0),
          series("mains present", m.mains, 2, { axis: 1, style: "step" }),
          series("board powered", m.boardOn, 3, { axis: 1, style: "step" }),
        ],
        bands,
        caption: "The board's backup battery (drains on battery, recharges on mains) every 5 simulated minutes; the firmware shuts down in order at power.lowBatteryMv (docs/core.md, Power).",
      },
    ],
  };
};

const latches: SectionBuilder = (r) => {
  const s = r.series;
  if (!s) return undefined;
  const m = s.samples;
  return {
    id: "latches",
    title: "Disconnect latches",
    text: [
      `${r.latchedConsumers} consumers disconnected at the end; ${r.latchMismatchesDetected} relays found closed while latched, ${r.latchMismatchesRepaired} opened again; ` +
        `${r.latchViolations} violations (a latched consumer supplied longer than one poll interval), longest supplied ${(r.latchLongestSuppliedMs / 1000).toFixed(0)} s.`,
    ],
    charts: [
      {
        id: "latches",
        title: "Latch states",
        xKind: "time",
        x: m.timeMs.map((t) => at(s, t)),
        axes: [{ label: "consumers" }],
        series: [series("held disconnected", m.latched, 0, { style: "step" }), series("of those, supplied now", m.latchedSupplied, 1, { style: "step" })],
        caption: "Consumers the firmware holds disconnected, and of those the ones the simulated grid supplies at that moment (relay closed, grid up), every 5 simulated minutes.",
      },
    ],
  };
};

/** The report's sections, in order. */
/** The over-the-air update of the run (`--ota`), step by step as the concentrator reported it. */
const ota: SectionBuilder = (r) => {
  const t = r.ota;
  if (!t) return undefined;
  const hours = (ms: number) => `${(ms / 3_600_000).toFixed(2)} h`;
  return {
    id: "ota",
    title: "Over-the-air update",
    text: [
      `The head-end offered ${t.versionAfter === t.versionBefore ? "a new image" : t.versionAfter} to a unit running ${t.versionBefore}: ${t.outcome}${t.reason && !t.outcome.includes(t.reason) ? ` (${t.reason})` : ""}. ` +
        "Every step below is an event the concentrator raised and the head-end received (docs/ota.md, Reports).",
    ],
    figures: [
      ["image / package bytes", `${t.imageBytes} / ${t.packageBytes}`],
      ["OTA bytes on the air (frames down, requests up)", t.bytesOnAir],
      ["download, offer taken to slot checked", `${(t.downloadMs / 1000).toFixed(0)} s`],
      ...t.timeline.map(([ms, step, detail]): [string, string] => [`${hours(ms)} ${step}`, step === "download" ? `${detail} bytes` : String(detail)]),
    ],
  };
};

export const SECTIONS: SectionBuilder[] = [summary, load, polling, uplink, events, ota, power, latches];

/** The report a site run makes: its sections, each from the report JSON. */
export function siteReportSpec(report: SiteReport, sections: readonly SectionBuilder[] = SECTIONS): ReportSpec {
  return {
    title: `Site simulation, seed ${report.seed}`,
    subtitle: `${report.days} simulated day(s), ${report.modules} modules, ${report.boots} boot(s); simulated in ${(report.wallMs / 1000).toFixed(1)} s`,
    sections: sections.map((b) => b(report)).filter((x): x is SectionSpec => x !== undefined),
  };
}
