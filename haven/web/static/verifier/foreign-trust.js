/* The site's foreign issuers (EU DCC signers, SMART Health Card issuers), as the server signs them
   (haven/web/foreign_trust.py, docs/certificate-format.md "Foreign issuers for the verifier").

   parseForeignTrust(bytes, trustList) -> Promise<ForeignTrust>   (throws ForeignTrustError)
     The document must be Haven's exact COSE_Sign1 layout (canonical CBOR), name its content type,
     be signed (ES256) by a key of ``trustList`` (the one this page pinned) that is not revoked, within
     that key's epoch, and name the list's network. Nothing in it is taken otherwise. */
const V = new URL(import.meta.url).search;
const { CborMap, Malformed, decodeCanonical, es256, hex, sigStructure, weekStart } = await import("./verify.js" + V);

export const CONTENT_TYPE = "application/haven-foreign-trust";
const KINDS = new Set(["P-256", "P-384", "P-521", "RSA", "other"]);

export class ForeignTrustError extends Error {}

const refuse = (why) => new ForeignTrustError(why);
const whole = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;

function exactly(map, keys) {
  return map instanceof CborMap && map.size === keys.length && keys.every((k) => map.has(k));
}

function signer(entry) {
  if (!Array.isArray(entry) || entry.length !== 7) throw refuse("a signer");
  const [kid, kind, spki, notBefore, notAfter, types, subject] = entry;
  const ok =
    kid instanceof Uint8Array &&
    KINDS.has(kind) &&
    spki instanceof Uint8Array &&
    Number.isInteger(notBefore) &&
    Number.isInteger(notAfter) &&
    typeof types === "string" &&
    typeof subject === "string";
  if (!ok) throw refuse("a signer");
  return { kid, kind, spki, notBefore, notAfter, types, subject, cryptoKey: null };
}

function issuer(entry) {
  if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || !Array.isArray(entry[1])) {
    throw refuse("an issuer");
  }
  const keys = entry[1].map((k) => {
    if (!Array.isArray(k) || k.length !== 5) throw refuse("an issuer's key");
    const [kid, x, y, revoked, note] = k;
    const ids = revoked === null || (Array.isArray(revoked) && revoked.every((r) => typeof r === "string"));
    if (typeof kid !== "string" || !(x instanceof Uint8Array) || x.length !== 32 || !(y instanceof Uint8Array)) {
      throw refuse("an issuer's key");
    }
    if (y.length !== 32 || !ids || ![0, 1, 2].includes(note)) throw refuse("an issuer's key");
    const point = new Uint8Array(65);
    point[0] = 4;
    point.set(x, 1);
    point.set(y, 33);
    return { kid, point, revoked, note, cryptoKey: null };
  });
  return { iss: entry[0], keys };
}

/** Verify and read the signed foreign issuers against the pinned trust list (see the top of this file). */
export async function parseForeignTrust(bytes, trustList) {
  let parts, header, value;
  try {
    parts = decodeCanonical(bytes);
    if (!Array.isArray(parts) || parts.length !== 4) throw refuse("not a COSE_Sign1");
    const [protectedBytes, unprotected, payload, signature] = parts;
    if (!(protectedBytes instanceof Uint8Array) || !exactly(unprotected, [])) throw refuse("headers");
    if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw refuse("no payload");
    header = decodeCanonical(protectedBytes);
    value = decodeCanonical(payload);
  } catch (error) {
    if (error instanceof Malformed) throw refuse("unreadable: " + error.message);
    throw error;
  }
  const [protectedBytes, , payload, signature] = parts;
  if (!exactly(header, [1, 3, 4]) || header.get(1) !== -7 || header.get(3) !== CONTENT_TYPE) throw refuse("headers");
  const kid = header.get(4);
  if (!(kid instanceof Uint8Array) || !trustList || trustList.revokedKids.has(hex(kid))) throw refuse("signer");
  const key = trustList.keys.get(hex(kid));
  if (!key) throw refuse("signed by a key the trust list does not name");
  const signed = signature.length === 64 && (await es256(key.cryptoKey, sigStructure(protectedBytes, payload), signature));
  if (!signed) throw refuse("signature");
  if (!exactly(value, [1, 2, 3, 4])) throw refuse("not a list of foreign issuers");
  const [network, issuedAt, signers, issuers] = [1, 2, 3, 4].map((k) => value.get(k));
  if (network !== trustList.network) throw refuse("another network");
  if (!whole(issuedAt) || issuedAt < weekStart(key.notBefore) || issuedAt > key.notAfter) {
    throw refuse("signed outside its key's epoch");
  }
  if (!Array.isArray(signers) || !Array.isArray(issuers)) throw refuse("not a list of foreign issuers");
  return { network, issuedAt, signedBy: key.label, signers: signers.map(signer), issuers: issuers.map(issuer) };
}
