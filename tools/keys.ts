#!/usr/bin/env node
/**
 * Key provisioning: the head-end's key pair and one key pair per concentrator, written where the
 * head-end (`headend serve --keys DIR`) and the simulated concentrator (`device --keys DIR/mc-ID.json`)
 * read them.
 *
 *   node dist/tools/keys.js --dir keys 17 18 19
 *   node dist/tools/keys.js --dir keys --engineer alice,bob
 *
 * `--engineer` makes an Ed25519 key pair per engineer for the serial console (engineer-NAME.json, the
 * engineer's own) and rewrites what the units trust (engineers.json, and engineers.bin for the NVS).
 */
import { parseOptions, UsageError } from "./cli-args.js";
import { provision } from "./headend/keyfiles.js";
import { provisionEngineers } from "./console/engineer-keys.js";

try {
  const o = parseOptions(process.argv.slice(2), { dir: "string", engineer: "string" });
  if (!o.dir) throw new UsageError("usage: keys --dir DIR [CONCENTRATOR_ID ...] [--engineer NAME[,NAME...]]");
  if (o.engineer !== undefined) {
    try {
      for (const f of provisionEngineers(o.dir, o.engineer.split(","))) console.log(`wrote ${f}`);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
  }
  const ids = o._.map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n > 0xffffffff) throw new UsageError(`"${s}" is not a concentrator id (0 to 4294967295)`);
    return n;
  });
  // Engineers alone need no head-end keys; otherwise the head-end's pair is made if missing.
  if (ids.length > 0 || o.engineer === undefined) for (const f of provision(o.dir, ids)) console.log(`wrote ${f}`);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
