/**
 * The release key set this build pins (docs/ota.md "Keys"): the Ed25519 public keys that sign OTA
 * packages, and how many of them must sign one. It is the public half of `npm run ota -- keygen`
 * (release-keys.json); the secret halves live outside any repository.
 *
 * The set below is a placeholder whose secret keys were destroyed when it was made: a unit built with
 * it refuses every package (rule 3, threshold). A release build pins the utility's own set here; a
 * rotation package later replaces it on units in the field.
 */
import type { KeySet } from "../firmware/ota/format.js";
import { frozen } from "../firmware/model/frozen.js";

const HEX = frozen([
  "daf9c9d52a28b8cfc032066b01514b583d64c0f8bd8596076eeb980cd602518b",
  "720fce19fa8b97ac6975f972f8d3350e36cb178520b43dd360f7b14792ad650a",
  "d14584c9aec7c1113b1c6e59b292fc02d55c3c93d4258a92e97f3f0aa9d533ba",
]);

function bytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const RELEASE_KEYS: KeySet = frozen({ version: 1, threshold: 2, keys: HEX.map(bytes) });
