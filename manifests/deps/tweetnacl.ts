// The device module "tweetnacl", shared by the main machine (the uplink's envelope) and the crypto
// worker's machine, one preloaded copy (tools/device-bundle.mjs).
import nacl from "tweetnacl";

export default nacl;
