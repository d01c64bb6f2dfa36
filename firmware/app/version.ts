/** The firmware's version, as `version` on the console and the OTA manifest name it. */
export const FIRMWARE_VERSION = "0.1.0";
