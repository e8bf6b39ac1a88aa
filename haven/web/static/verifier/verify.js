/* Haven certificate verification, entirely in the browser: nothing is sent anywhere.

   verify(text, trustList, now) -> Promise<{valid, reason, facts}>
     text       what the QR code holds
     trustList  the signed trust list (bytes from /api/trust-list, cached), or null
     now        a Date: the time to check expiry against (passed in, never read here)
   reason is one of REASONS; facts is a list of {kind, ...} for a valid certificate.

   What this version checks: that the text is well-formed Base45 (the certificate QR's
   alphabet). Signatures, the trust list, revocation and expiry come with the certificate
   format (COSE_Sign1 with ES256 via WebCrypto, CBOR claims): until then a well-formed text
   is answered "unsupported", never "valid". See docs/web.md, "The offline verifier". */

export const REASONS = [
  "malformed", // not a certificate's text at all
  "unsupported", // well-formed, but not a certificate this verifier can check
  "bad-signature", // changed after signing, or signed by someone else
  "unknown-key", // signed with a key the trust list does not list
  "revoked-key", // the signing key was withdrawn
  "revoked", // this certificate was withdrawn
  "expired", // past its expiry
  "not-yet-valid", // issued in the future (the phone's clock, or a forgery)
  "no-trust-list", // no trust list cached yet: go online once
];

const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const MAX_TEXT = 4096;

export class Malformed extends Error {}

/** Decode RFC 9285 Base45; throws Malformed on any character or length it does not allow. */
export function base45Decode(text) {
  const values = [];
  for (const ch of text) {
    const v = BASE45.indexOf(ch);
    if (v < 0) throw new Malformed("character");
    values.push(v);
  }
  if (values.length % 3 === 1) throw new Malformed("length");
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Malformed("value");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Malformed("value");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

function refuse(reason) {
  return { valid: false, reason: reason, facts: [] };
}

export async function verify(text, trustList, now) {
  if (typeof text !== "string") return refuse("malformed");
  const trimmed = text.trim();
  if (trimmed.length < 2 || trimmed.length > MAX_TEXT) return refuse("malformed");
  try {
    base45Decode(trimmed);
  } catch (error) {
    if (error instanceof Malformed) return refuse("malformed");
    throw error;
  }
  void trustList;
  void now;
  return refuse("unsupported");
}
