/**
 * Frames and APDUs published by independent DLMS/COSEM implementations, to check this client against
 * (docs/dlms.md, "Interoperability"). Each vector names where it comes from, at a commit. The
 * dlms-cosem vectors are, by that project's own comments, the DLMS UA Green Book's examples.
 */

/** u9n/dlms-cosem at this commit (tests/…): the Python DLMS/COSEM client of Palmlund Wahlgren Innovative Technology. */
export const DLMS_COSEM = "u9n/dlms-cosem@c52e9d44ef81205a3882184a45dfd6ab7c92c67b";

export function hex(text: string): Uint8Array {
  const clean = text.replace(/[^0-9a-fA-F]/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** The Green Book's suite 0 keys and titles (tests/test_security.py, tests/test_xdlms/test_initiate.py). */
export const GREEN_BOOK = {
  encryptionKey: hex("000102030405060708090A0B0C0D0E0F"),
  authenticationKey: hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"),
  serverSystemTitle: hex("4D4D4D0000BC614E"),
  clientSystemTitle: hex("4D4D4D0000000001"),
  /** GET-Request-Normal of the clock's time (0.0.1.0.0.255 attribute 2). */
  getClock: hex("C0010000080000010000FF0200"),
  /** … sealed with security control 0x30 and invocation counter 0x01234567 by the server's title. */
  getClockSealed: hex("411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"),
  /** HLS pass 3: GMAC (SC 0x10, client title, IC 1) of the server-to-client challenge. */
  stoc: hex("503677524A323146"),
  stocGmac: hex("1A52FE7DD3E72748973C1E28"),
  /** An InitiateRequest with a dedicated key, and its glo-initiateRequest (IC 0x01234567, server title as in the book). */
  initiateWithKey: hex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0"),
  gloInitiate: hex("21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"),
};
