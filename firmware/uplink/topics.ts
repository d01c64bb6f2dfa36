/**
 * MQTT topics and client identifier of a concentrator (docs/uplink.md "Topics"). One topic per
 * direction: the message kind is inside the authenticated body, so a broker ACL per concentrator is
 * three lines: write `<prefix>/<id>/up`, read `<prefix>/<id>/down` and `<prefix>/<id>/ota`.
 */
export const DEFAULT_TOPIC_PREFIX = "mc";

export interface Topics {
  /** Concentrator → head-end. */
  up: string;
  /** Head-end → concentrator. */
  down: string;
  /** Head-end → concentrator: OTA package parts (firmware/ota/frames.ts), not sealed. */
  ota: string;
  clientId: string;
}

export function topicsOf(concentratorId: number, prefix = DEFAULT_TOPIC_PREFIX): Topics {
  if (!(Number.isInteger(concentratorId) && concentratorId >= 0 && concentratorId <= 0xffffffff)) throw new RangeError('invalid "concentratorId"');
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(prefix)) throw new TypeError('invalid "prefix"');
  return {
    up: `${prefix}/${concentratorId}/up`,
    down: `${prefix}/${concentratorId}/down`,
    ota: `${prefix}/${concentratorId}/ota`,
    clientId: `${prefix.replace(/\//g, "-")}-${concentratorId}`,
  };
}

/** The head-end's subscription to every concentrator's uplink. */
export function allUplinks(prefix = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}/+/up`;
}

/** The concentrator id in an uplink topic, or undefined. */
export function concentratorOfUplink(topic: string, prefix = DEFAULT_TOPIC_PREFIX): number | undefined {
  if (!topic.startsWith(`${prefix}/`) || !topic.endsWith("/up")) return undefined;
  const id = topic.slice(prefix.length + 1, -3);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(id)) return undefined;
  const n = Number(id);
  return n <= 0xffffffff ? n : undefined;
}
