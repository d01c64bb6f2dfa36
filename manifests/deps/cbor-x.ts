// The device module "cbor-x": what the firmware uses of cbor-x (firmware/uplink/messages.ts), one
// preloaded copy (tools/device-bundle.mjs).
export { decode, encode } from "cbor-x";
