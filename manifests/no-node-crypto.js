// tweetnacl probes require("crypto") when it finds no browser crypto; on the device it gets this empty
// module instead, and its random bytes come from the HAL (nacl.setPRNG).
export default {};
