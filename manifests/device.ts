/**
 * The device side: the whole HAL on the Moddable SDK (hal/moddable) from the board's pin map, and the
 * concentrator on it. This is the one place that picks hal/moddable (DESIGN.md, dependency rule). It
 * is bundled into the preloadable "device" module; manifests/main.ts calls `start()` at boot.
 *
 * The site wiring (concentrator id, bus address plan, bridges, balance groups, broker) comes from the
 * manifest's "config" (mc/config); the keys from provisioning, in the NVS preference domain "keys"
 * (written once at the factory; a unit without keys runs without uplink and says so; a unit without
 * "engineers" has a console without privileged commands).
 */
import Preference from "preference";
import config from "mc/config";
import FFI from "mc/ffi";
import type { Hal } from "../hal/index.js";
import { ModdableClock, ModdableWallClock } from "../hal/moddable/clock.js";
import { WorkerCrypto } from "../hal/moddable/crypto.js";
import { ModdableDigitalInputProvider, ModdableDigitalOutput } from "../hal/moddable/digital.js";
import { ModdableFirmwareSlots } from "../hal/moddable/firmware-slots.js";
import { ModdableFlashPartition } from "../hal/moddable/flash.js";
import { ModdablePowerMonitor } from "../hal/moddable/power.js";
import { ModdableSerialProvider } from "../hal/moddable/serial.js";
import { ModdableInflater, ModdableRandom, ModdableSystemControl, ModdableWatchdog } from "../hal/moddable/system.js";
import { UsbSerialJtagConsole } from "../hal/moddable/usb-console.js";
import { decodeEngineerKeys } from "../firmware/console/engineer-keys.js";
import { Concentrator, type SiteConfig, type UplinkConfig } from "../firmware/app/concentrator.js";
import type { DlmsMeterConfig, DlmsSiteConfig } from "../firmware/dlms/integration/config.js";
import { board } from "./board.js";
import { RELEASE_KEYS } from "./release-keys.js";

export function createDeviceHal(): Hal {
  const ffi = new FFI();
  const clock = new ModdableClock();
  return {
    clock,
    timers: clock,
    wallClock: new ModdableWallClock(),
    rs485: board.rs485.map((bus) => ({ serial: new ModdableSerialProvider(bus.uart), direction: new ModdableDigitalOutput(bus.driverEnable, 0) })),
    modem: { serial: new ModdableSerialProvider(board.modem.uart, ffi), powerKey: new ModdableDigitalOutput(board.modem.powerKey, 0), flowControl: true },
    // The service console is on USB-Serial-JTAG (manifest USE_USB), not a UART of this board: all
    // three are the buses' and the modem's (docs/console.md "Which port").
    console: new UsbSerialJtagConsole(ffi),
    flash: { log: new ModdableFlashPartition(board.partitions.log), state: new ModdableFlashPartition(board.partitions.state) },
    inputs: { door: new ModdableDigitalInputProvider(board.inputs.door), tamper: new ModdableDigitalInputProvider(board.inputs.tamper) },
    power: new ModdablePowerMonitor(board.power),
    random: new ModdableRandom(ffi),
    watchdog: new ModdableWatchdog(ffi),
    system: new ModdableSystemControl(ffi),
    firmware: new ModdableFirmwareSlots(ffi),
    crypto: new WorkerCrypto(ffi),
    inflater: new ModdableInflater(ffi),
  };
}

function key(name: string): Uint8Array | undefined {
  const v = Preference.get("keys", name);
  return v instanceof ArrayBuffer && v.byteLength === 32 ? new Uint8Array(v) : undefined;
}

/** The manifest's "config.site": the site wiring, and where the uplink goes. */
type DeviceSiteConfig = SiteConfig & { broker?: { host: string; port: number }; modem?: UplinkConfig["modem"]; smsNumber?: string };

/** The engineers the unit trusts on its console (NVS "keys"/"engineers", as `npm run keys -- --engineer` writes engineers.bin). */
function engineers(): SiteConfig["console"] {
  const v = Preference.get("keys", "engineers");
  const list = v instanceof ArrayBuffer ? decodeEngineerKeys(new Uint8Array(v)) : [];
  if (list.length === 0) trace("concentrator: no engineer keys provisioned; the console has no privileged commands\n");
  return { engineers: list };
}

interface DeviceDlmsConfig extends Omit<DlmsSiteConfig, "clientSystemTitle" | "meters"> {
  clientSystemTitle: string;
  meters: Array<Omit<DlmsMeterConfig, "keys"> & { keys?: { encryptionKey: string; authenticationKey: string } }>;
}

function hexBytes(text: string, n: number): Uint8Array | undefined {
  return new RegExp(`^[0-9a-fA-F]{${2 * n}}$`).test(text) ? Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16)) : undefined;
}

/**
 * The DLMS meters of the site (config.site.dlms, as JSON: titles and keys as hex): keys from hex in the configuration (a test bench), or the
 * keys from the NVS preference domain "dlms", provisioned per meter as "<bus>.<physical>.ek" and
 * "<bus>.<physical>.ak" (16 bytes each). An HLS meter without keys is read with the public client.
 */
function withDlms(site: DeviceSiteConfig): DeviceSiteConfig {
  const d = site.dlms as DeviceDlmsConfig | undefined;
  if (!d) return site;
  const title = hexBytes(d.clientSystemTitle, 8);
  if (!title) throw new Error("config.site.dlms.clientSystemTitle: 8 bytes of hex");
  const meters = d.meters.map((m): DlmsMeterConfig => {
    const { keys: hexKeys, ...rest } = m;
    const stored = (k: string) => {
      const v = Preference.get("dlms", `${m.bus}.${m.physical}.${k}`);
      return v instanceof ArrayBuffer && v.byteLength === 16 ? new Uint8Array(v) : undefined;
    };
    const encryptionKey = hexKeys ? hexBytes(hexKeys.encryptionKey, 16) : stored("ek");
    const authenticationKey = hexKeys ? hexBytes(hexKeys.authenticationKey, 16) : stored("ak");
    if (m.security === "hls" && (!encryptionKey || !authenticationKey)) {
      trace(`concentrator: no DLMS keys for meter ${m.bus}.${m.physical}: public client\n`);
      return { ...rest, security: "none" };
    }
    return encryptionKey && authenticationKey ? { ...rest, keys: { encryptionKey, authenticationKey } } : rest;
  });
  return { ...site, dlms: { ...d, clientSystemTitle: title, meters } };
}

/** The site wiring from mc/config, with the uplink when the unit has been provisioned. */
function siteConfig(): SiteConfig {
  const site = withDlms({ ...(config.site as DeviceSiteConfig), console: engineers(), ota: { hardwareId: board.hardwareId, releaseKeys: RELEASE_KEYS } });
  const secretKey = key("secret");
  const headendPublicKey = key("headend");
  if (!secretKey || !headendPublicKey || !site.broker || !site.modem) {
    trace("concentrator: not provisioned for the uplink (keys or broker missing)\n");
    return site;
  }
  const sms = site.smsNumber ? { smsNumber: site.smsNumber } : {};
  return { ...site, uplink: { modem: site.modem, host: site.broker.host, port: site.broker.port, secretKey, headendPublicKey, ...sms } };
}

export function start(): Concentrator {
  const hal = createDeviceHal();
  const concentrator = new Concentrator(hal, siteConfig());
  concentrator.start();
  trace(`concentrator ${concentrator.site.concentratorId}: ${concentrator.topology.size} modules known, reset reason ${hal.system.resetReason}\n`);
  return concentrator;
}
