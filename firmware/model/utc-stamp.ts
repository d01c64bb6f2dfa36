/**
 * The IEC 62056-21 date-time text of an epoch time, UTC: `yymmddhhmm`, and `ss` after it with
 * `seconds` (a module's clock, a profile's range).
 */
export function utcStamp(epochSeconds: number, seconds: boolean): string {
  const t = new Date(epochSeconds * 1000);
  const minute = two(t.getUTCFullYear() % 100) + two(t.getUTCMonth() + 1) + two(t.getUTCDate()) + two(t.getUTCHours()) + two(t.getUTCMinutes());
  return seconds ? minute + two(t.getUTCSeconds()) : minute;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}
