#!/usr/bin/env node
/**
 * Key provisioning: the head-end's key pair and one key pair per concentrator, written where the
 * head-end (`headend serve --keys DIR`) and the simulated concentrator (`device --keys DIR/mc-ID.json`)
 * read them.
 *
 *   node dist/tools/keys.js --dir keys 17 18 19
 */
import { parseOptions, UsageError } from "./cli-args.js";
import { provision } from "./headend/keyfiles.js";

try {
  const o = parseOptions(process.argv.slice(2), { dir: "string" });
  if (!o.dir) throw new UsageError("usage: keys --dir DIR [CONCENTRATOR_ID ...]");
  const ids = o._.map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n > 0xffffffff) throw new UsageError(`"${s}" is not a concentrator id (0 to 4294967295)`);
    return n;
  });
  for (const f of provision(o.dir, ids)) console.log(`wrote ${f}`);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
