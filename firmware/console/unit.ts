/**
 * What the console looks at and acts on: the concentrator with every area, and its OTA module when
 * the build has one (a read-only `status()` of plain data).
 */
import type { Concentrator } from "../app/concentrator.js";

export interface OtaStatusSource {
  status(): object;
}

export type ConsoleUnit = Concentrator & { readonly ota?: OtaStatusSource };
