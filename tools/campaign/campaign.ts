/**
 * The uplink's fault campaign: a site whose GPRS link is down about 30 % of the time, whose modem
 * resets, whose broker restarts without persistence (losing sessions and queued messages) and whose
 * head-end crashes, for days; then quiet until everything stored has reached the head-end, or a day
 * has passed. The verdict compares the head-end's database with every reading the concentrator
 * stored (tools/site/site.ts): nothing lost, nothing corrupt, every reading there exactly once.
 *
 * `runCampaign` takes the site as built by the caller: in simulation (npm run campaign), or on real
 * TCP with real brokers and the real head-end (real.ts). Pure ECMAScript.
 */
import type { Site, SiteReport } from "../site/site.js";
import type { UplinkWorldOptions } from "../site/uplink-world.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The campaign's faults (besides the site's own: mains failures, module reboots, repeater outages). */
export const CAMPAIGN_FAULTS: UplinkWorldOptions = {
  outageShare: 0.3,
  meanOutageMs: 2 * HOUR,
  pdpDropsPerDay: 4,
  modemResetsPerDay: 1,
  brokerRestartsPerDay: 1,
  headendCrashesPerDay: 0.5,
  headendDowntimeMs: 15 * MINUTE,
};

export interface CampaignVerdict {
  ok: boolean;
  seed: string;
  days: number;
  /** Where the broker and the head-end were: "sim", or the real broker used. */
  servers: string;
  /** Distinct readings the concentrator stored. */
  readingsStored: number;
  readingsDelivered: number;
  duplicatesAtHeadEnd: number;
  lost: number;
  readingsCorrupt: number;
  /** Still in the concentrator's store at the end (0 when the quiet period drained everything). */
  readingsPending: number;
  /** From the end of the faults until everything stored had reached the head-end, ms (simulated). */
  drainMs: number;
  uplinkBytes: number;
  uplinkBytesPerReading: number;
  commandsRejected: number;
  /** Alarm messages the concentrator sent by SMS while GPRS was down, and SMS the head-end took. */
  alarmSmsSent: number;
  smsTakenAtHeadEnd: number;
  /** Share of the time the bearer was down. */
  outageShare: number;
  faults: SiteReport["faults"];
  boots: number;
  internalErrors: number;
  wallMs: number;
}

/** Advances the site's simulation: `until()` true or `limitMs` of simulated time passed; true if it held. */
export type Driver = (until: () => boolean, limitMs: number) => Promise<boolean> | boolean;

/** Runs `days` of faults (scheduled by the site's world), then the quiet drain, and judges. */
export async function runCampaign(site: Site, drive: Driver, o: { days: number; servers: string; quietLimitMs?: number }): Promise<CampaignVerdict> {
  await drive(() => false, o.days * DAY - site.world.scheduler.now);
  return judge(site, drive, o);
}

/**
 * Runs the site until everything it stored has reached the head-end (or `quietLimitMs`, default a
 * day, has passed), then compares the head-end's database with what the concentrator stored.
 */
export async function judge(site: Site, drive: Driver, o: { days: number; servers: string; quietLimitMs?: number }): Promise<CampaignVerdict> {
  const s = site.world.scheduler;
  const faultsEnd = s.now;
  // Quiet: everything stored has reached the head-end (readings keep coming every 15 minutes, and
  // leave within a minute or two: there is always a moment when none is outstanding).
  let checkAt = 0;
  let everything = false;
  const drained = await drive(() => {
    if (s.now >= checkAt) {
      checkAt = s.now + MINUTE; // the check counts the database: once a simulated minute is enough
      const p = site.progress();
      everything = p.readingsDelivered >= p.readingsDistinct;
    }
    return everything;
  }, o.quietLimitMs ?? DAY);
  const r = site.report();
  const stored = site.progress().readingsDistinct;
  return {
    ok: drained && r.lost === 0 && r.readingsCorrupt === 0 && r.readingsPending === 0 && r.internalErrors === 0 && r.readingsDelivered > 0,
    seed: r.seed,
    days: o.days,
    servers: o.servers,
    readingsStored: stored,
    readingsDelivered: r.readingsDelivered,
    duplicatesAtHeadEnd: r.duplicatesAtHeadEnd,
    lost: r.lost,
    readingsCorrupt: r.readingsCorrupt,
    readingsPending: r.readingsPending,
    drainMs: Math.round(s.now - faultsEnd),
    uplinkBytes: r.uplinkBytes,
    uplinkBytesPerReading: r.uplinkBytesPerReading,
    commandsRejected: r.commandsRejected,
    alarmSmsSent: r.alarmSmsSent,
    smsTakenAtHeadEnd: r.smsTakenAtHeadEnd,
    outageShare: Number(((r.faults.gprsOutageMs ?? 0) / faultsEnd).toFixed(3)),
    faults: r.faults,
    boots: r.boots,
    internalErrors: r.internalErrors,
    wallMs: r.wallMs,
  };
}
