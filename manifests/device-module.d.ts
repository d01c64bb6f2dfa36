// The bundled "device" module (manifests/device.ts) as the device entry point imports it.
declare module "device" {
  export function start(): unknown;
}
