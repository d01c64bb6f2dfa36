/**
 * Block check character (IEC 62056-21 §6.2 note, ISO 1155 LRC): the XOR of every character after the
 * first SOH or STX of a message, up to and including the ETX (or the EOT of a partial block). In a
 * programming command, which starts with SOH, the STX is therefore inside the scope.
 */

/** XOR of `bytes[start..end)`. */
export function bcc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i]!;
  return x;
}
