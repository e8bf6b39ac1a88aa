/* Haven certificate verification, entirely in the browser: nothing is sent anywhere.

   parseTrustList(bytes, pinnedRoot) -> Promise<TrustList>   (throws TrustListError)
     bytes       the signed trust list (a COSE_Sign1 by the network's root key, from /api/trust-list)
     pinnedRoot  the root public key this verifier already trusts (65 bytes), or null on first use
   verify(text, trustList, now) -> Promise<{valid, reason, detail, facts}>
     text        what the QR code holds
     trustList   a parsed trust list, or null (none cached yet)
     now         a Date: the time to check expiry against (passed in, never read here)

   The same checks, in the same order, with the same reasons as Python's haven.certs.verify
   (docs/certificate-format.md, "Verification"); tests/web/test_browser.py runs every
   shared test vector and hundreds of tampered ones through both and compares the verdicts:
     1. Base45, the exact COSE_Sign1 layout, the protected header (alg an integer, kid bytes)
        -> malformed
     2. kid revoked -> revoked; kid not listed (or no trust list) -> unknown-issuer
     3. alg ES256, s <= n/2 (low-s) and the signature verifies (WebCrypto, P-256, raw r||s) -> else forged
     4. the claims are exactly Haven's (canonical CBOR) -> else malformed
     5. cti revoked -> revoked
     6. iat within the key's epoch -> else unknown-issuer
     7. now < iat -> not-yet-valid; now > exp -> expired
   facts: {vaccinations: [{diseases, vaccineType, product, dose, of, day}], tests: [{disease, test,
   result, day}], iat, exp, issuer: {kid, label, network}} with the catalogue's numeric codes (the
   page names them in its language), for a valid certificate and for any refused after step 4. */

export const REASONS = [
  "malformed", // not a Haven certificate's text, or broken at some layer
  "forged", // the signature does not match: changed after signing, or not by the key it names
  "unknown-issuer", // no trusted key for it (or no trust list yet), or signed outside the key's epoch
  "revoked", // its signing key, or this one certificate, was withdrawn
  "expired", // past its expiry, by this device's clock
  "not-yet-valid", // issued after this device's time: check the phone's date
];

const ES256 = -7;
const HEADER_ALG = 1;
const HEADER_KID = 4;
const CLAIM_EXP = 4;
const CLAIM_IAT = 6;
const CLAIM_CTI = 7;
const CLAIM_FACTS = -65537;
const CTI_BYTES = 12;
const KID_BYTES = 8;
const DAY = 86400;
const WEEK = 7 * DAY;
const MONDAY = 4 * DAY; // 1970-01-05 was a Monday
const EPOCH_MAX_SECONDS = 31 * DAY;
const MAX_DAY = 2932896; // 9999-12-31
const DISEASES = 9; // the disease table's length (docs/certificate-format.md)
const MAX_DEPTH = 16;

export class Malformed extends Error {}
export class TrustListError extends Error {}

// ------------------------------------------------------------------ Base45 (RFC 9285), strict

const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const B45 = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE45.length; i++) B45[BASE45.charCodeAt(i)] = i;

export function base45Decode(text) {
  const n = text.length;
  if (n % 3 === 1) throw new Malformed("length");
  const out = new Uint8Array(Math.floor(n / 3) * 2 + (n % 3 === 2 ? 1 : 0));
  let o = 0;
  const value = (i) => {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B45[c] : -1;
    if (v < 0) throw new Malformed("character");
    return v;
  };
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = value(i) + value(i + 1) * 45 + value(i + 2) * 2025;
    if (v > 0xffff) throw new Malformed("group");
    out[o++] = v >> 8;
    out[o++] = v & 0xff;
  }
  if (n - i === 2) {
    const v = value(i) + value(i + 1) * 45;
    if (v > 0xff) throw new Malformed("group");
    out[o++] = v;
  }
  return out;
}

// ------------------------------------------------------------------ strict, canonical CBOR

/* A map as decoded: its entries in order, looked up by key identity as Python's dict does
   (true and 1 are the same key there, so they are here). */
export class CborMap {
  constructor() {
    this.entries = [];
    this.ids = new Map();
  }
  get(key) {
    return this.ids.get(keyId(key));
  }
  has(key) {
    return this.ids.has(keyId(key));
  }
  get size() {
    return this.entries.length;
  }
  keyIds() {
    return [...this.ids.keys()];
  }
  set(key, value) {
    const id = keyId(key);
    if (this.ids.has(id)) throw new Malformed("duplicate key");
    this.entries.push([key, value]);
    this.ids.set(id, value);
  }
}

export const UNDEFINED = Symbol("undefined");
let uniqueKey = 0;

function keyId(key) {
  if (typeof key === "boolean") return "n:" + Number(key);
  if (typeof key === "number" || typeof key === "bigint") return "n:" + String(key);
  if (typeof key === "string") return "s:" + key;
  if (key instanceof Uint8Array) return "b:" + hex(key);
  if (key === null) return "null";
  if (key === UNDEFINED) return "undefined";
  return "x:" + uniqueKey++; // arrays and maps: never equal to anything else here
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a byte-order mark is text, as in Python

function lengthFirst(a, b) {
  // cbor2's canonical order (RFC 7049): shorter encoded keys first, then bytewise.
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/* Exactly one CBOR item filling all of bytes, in canonical form (shortest heads, definite
   lengths, map keys in canonical order, no duplicates); no tags, no floats. Malformed otherwise. */
export function decodeCanonical(bytes) {
  const reader = { b: bytes, i: 0 };
  const value = item(reader, 0);
  if (reader.i !== bytes.length) throw new Malformed("trailing bytes");
  return value;
}

function head(r) {
  const b = r.b;
  if (r.i >= b.length) throw new Malformed("short");
  const first = b[r.i++];
  const major = first >> 5;
  const info = first & 31;
  let value;
  if (info < 24) value = info;
  else if (info === 24) {
    if (r.i + 1 > b.length) throw new Malformed("short");
    value = b[r.i];
    r.i += 1;
    if (value < 24 && major !== 7) throw new Malformed("not canonical");
  } else if (info === 25) {
    if (r.i + 2 > b.length) throw new Malformed("short");
    value = (b[r.i] << 8) | b[r.i + 1];
    r.i += 2;
    if (value < 0x100) throw new Malformed("not canonical");
  } else if (info === 26) {
    if (r.i + 4 > b.length) throw new Malformed("short");
    value = ((b[r.i] << 24) >>> 0) + (b[r.i + 1] << 16) + (b[r.i + 2] << 8) + b[r.i + 3];
    r.i += 4;
    if (value < 0x10000) throw new Malformed("not canonical");
  } else if (info === 27) {
    if (r.i + 8 > b.length) throw new Malformed("short");
    let big = 0n;
    for (let k = 0; k < 8; k++) big = (big << 8n) | BigInt(b[r.i + k]);
    r.i += 8;
    if (big < 0x100000000n) throw new Malformed("not canonical");
    value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  } else {
    throw new Malformed("indefinite or reserved length");
  }
  return [major, info, value];
}

/** A definite byte string, text (UTF-8) or array of ``length`` at reader ``r``; ``next`` reads one item.
    Shared with cbor.js, which reads other issuers' CBOR. */
export function definite(r, major, length, next) {
  if (typeof length === "bigint" || length > r.b.length - r.i) throw new Malformed("short");
  if (major === 4) {
    const out = [];
    for (let k = 0; k < length; k++) out.push(next());
    return out;
  }
  const raw = r.b.subarray(r.i, r.i + length);
  r.i += length;
  if (major === 2) return raw.slice();
  try {
    return UTF8.decode(raw);
  } catch {
    throw new Malformed("text is not UTF-8");
  }
}

function item(r, depth) {
  if (depth > MAX_DEPTH) throw new Malformed("too deep");
  const [major, info, value] = head(r);
  switch (major) {
    case 0:
      return value;
    case 1:
      return typeof value === "bigint" ? -1n - value : -1 - value;
    case 2:
    case 3:
    case 4:
      return definite(r, major, value, () => item(r, depth + 1));
    case 5: {
      if (typeof value === "bigint" || value > r.b.length - r.i) throw new Malformed("short");
      const map = new CborMap();
      let previous = null;
      for (let k = 0; k < value; k++) {
        const start = r.i;
        const key = item(r, depth + 1);
        const encoded = r.b.subarray(start, r.i);
        if (previous !== null && lengthFirst(previous, encoded) >= 0) throw new Malformed("map keys out of order");
        previous = encoded;
        const id = keyId(key);
        if (map.ids.has(id)) throw new Malformed("duplicate key");
        const v = item(r, depth + 1);
        map.entries.push([key, v]);
        map.ids.set(id, v);
      }
      return map;
    }
    case 7:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 23) return UNDEFINED;
      throw new Malformed("floats and other simple values are not Haven's");
    default:
      throw new Malformed("tags are not Haven's");
  }
}

// ------------------------------------------------------------------ COSE_Sign1

function bstrHead(n) {
  if (n < 24) return [0x40 + n];
  if (n < 0x100) return [0x58, n];
  if (n < 0x10000) return [0x59, n >> 8, n & 0xff];
  return [0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

const SIGNATURE1 = [0x84, 0x6a, ...new TextEncoder().encode("Signature1")];

/** The bytes a COSE_Sign1 signature covers: ["Signature1", protected, h'', payload]. */
export function sigStructure(protectedBytes, payload) {
  const a = bstrHead(protectedBytes.length);
  const b = bstrHead(payload.length);
  const out = new Uint8Array(SIGNATURE1.length + a.length + protectedBytes.length + 1 + b.length + payload.length);
  let o = 0;
  for (const part of [SIGNATURE1, a, protectedBytes, [0x40], b, payload]) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

function readBstr(raw, at) {
  if (at >= raw.length) throw new Malformed("short");
  const h = raw[at];
  let n;
  if (h >= 0x40 && h < 0x58) {
    n = h - 0x40;
    at += 1;
  } else if (h === 0x58 && at + 1 < raw.length && raw[at + 1] >= 24) {
    n = raw[at + 1];
    at += 2;
  } else if (h === 0x59 && at + 2 < raw.length && ((raw[at + 1] << 8) | raw[at + 2]) >= 0x100) {
    n = (raw[at + 1] << 8) | raw[at + 2];
    at += 3;
  } else {
    throw new Malformed("not a canonical byte string");
  }
  if (at + n > raw.length) throw new Malformed("short");
  return [raw.subarray(at, at + n), at + n];
}

/** Protected header, payload and signature of Haven's one COSE_Sign1 layout (an untagged array
    of four, an empty unprotected map, shortest lengths); anything else is malformed. */
export function splitSign1(raw) {
  if (raw[0] !== 0x84) throw new Malformed("not an untagged COSE_Sign1");
  const [protectedBytes, at1] = readBstr(raw, 1);
  if (raw[at1] !== 0xa0) throw new Malformed("unprotected header not empty");
  const [payload, at2] = readBstr(raw, at1 + 1);
  const [signature, end] = readBstr(raw, at2);
  if (end !== raw.length) throw new Malformed("bytes after the end");
  return [protectedBytes, payload, signature];
}

function isInt(v) {
  return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
}

function uint(v) {
  if (!isInt(v) || v < 0) throw new Malformed("not a whole number");
  return v;
}

function protectedHeader(bytes) {
  const header = decodeCanonical(bytes);
  if (!(header instanceof CborMap)) throw new Malformed("header");
  for (const id of header.keyIds()) if (id !== "n:1" && id !== "n:4") throw new Malformed("header");
  const alg = header.get(HEADER_ALG);
  const kid = header.get(HEADER_KID);
  if (!isInt(alg)) throw new Malformed("no algorithm");
  if (!(kid instanceof Uint8Array)) throw new Malformed("no key id");
  return [alg, kid];
}

export async function importP256(point) {
  return crypto.subtle.importKey("raw", point, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

/* n/2 of P-256, big-endian. If (r, s) verifies so does (r, n - s): Haven issues s <= n/2 only and
   refuses the other form of a certificate's signature, so nobody can make a second valid copy of a stub. */
const HALF_ORDER = new Uint8Array(
  "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8".match(/../g).map((h) => parseInt(h, 16)),
);

function lowS(signature) {
  for (let i = 0; i < 32; i++) {
    if (signature[32 + i] !== HALF_ORDER[i]) return signature[32 + i] < HALF_ORDER[i];
  }
  return true;
}

export async function es256(key, message, signature) {
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
}

// ------------------------------------------------------------------ the trust list

export function hex(bytes) {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

export function equalBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** The root key's fingerprint as people compare it: SHA-256, hex, in groups of four. */
export async function fingerprint(publicKey) {
  return hex(await sha256(publicKey)).match(/.{4}/g).join(" ");
}

/** Verify and read a signed trust list (haven/certs/trust.py: parse_trust_list). */
export async function parseTrustList(bytes, pinnedRoot) {
  const refuse = (why) => new TrustListError(why);
  let item, value;
  try {
    item = decodeCanonical(bytes);
    if (!Array.isArray(item) || item.length !== 4) throw refuse("not a COSE_Sign1");
    const [p, u, payload, signature] = item;
    if (!(p instanceof Uint8Array) || !(u instanceof CborMap)) throw refuse("headers");
    if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw refuse("no payload");
    value = decodeCanonical(payload);
  } catch (error) {
    if (error instanceof Malformed) throw refuse("unreadable: " + error.message);
    throw error;
  }
  const [protectedBytes, unprotected, payload, signature] = item;
  let protectedMap = new CborMap();
  if (protectedBytes.length) {
    try {
      protectedMap = decodeCanonical(protectedBytes);
    } catch (error) {
      if (error instanceof Malformed) throw refuse("protected header");
      throw error;
    }
    if (!(protectedMap instanceof CborMap)) throw refuse("protected header");
  }
  if (!(value instanceof CborMap) || value.size !== 7 || [1, 2, 3, 4, 5, 6, 7].some((k) => !value.has(k))) {
    throw refuse("not a trust list");
  }
  const rootPublic = value.get(7);
  if (!(rootPublic instanceof Uint8Array)) throw refuse("no root key");
  if (pinnedRoot && !equalBytes(rootPublic, pinnedRoot)) throw refuse("another root");
  const alg = protectedMap.has(HEADER_ALG) ? protectedMap.get(HEADER_ALG) : unprotected.get(HEADER_ALG);
  let rootKey;
  try {
    rootKey = await importP256(rootPublic);
  } catch {
    throw refuse("the root key is not a P-256 point");
  }
  const signed =
    alg === ES256 && signature.length === 64 && (await es256(rootKey, sigStructure(protectedBytes, payload), signature));
  if (!signed) throw refuse("signature");
  const network = value.get(1);
  const sequence = value.get(2);
  const issuedAt = value.get(3);
  if (typeof network !== "string" || !isIntLike(sequence) || !isIntLike(issuedAt)) throw refuse("header fields");
  if (!Array.isArray(value.get(4))) throw refuse("keys");
  const keys = new Map();
  for (const entry of value.get(4)) {
    if (!(entry instanceof CborMap) || entry.size !== 5 || [1, 2, 3, 4, 5].some((k) => !entry.has(k))) {
      throw refuse("a key entry");
    }
    const [publicKey, label, notBefore, notAfter] = [2, 3, 4, 5].map((k) => entry.get(k));
    if (!(publicKey instanceof Uint8Array) || typeof label !== "string" || !isIntLike(notBefore) || !isIntLike(notAfter)) {
      throw refuse("a key entry");
    }
    let cryptoKey;
    try {
      cryptoKey = await importP256(publicKey);
    } catch {
      throw refuse("a key is not a P-256 point");
    }
    const kid = (await sha256(publicKey)).subarray(0, KID_BYTES);
    if (!equalBytes(kid, entry.get(1))) throw refuse("a key id does not match its key");
    const span = Number(notAfter) - Number(notBefore);
    if (span < 0 || span > EPOCH_MAX_SECONDS) throw refuse("an epoch longer than 31 days");
    keys.set(hex(kid), { kid: hex(kid), label, notBefore: Number(notBefore), notAfter: Number(notAfter), cryptoKey });
  }
  const idSet = (list, size, what) => {
    if (!Array.isArray(list) || !list.every((v) => v instanceof Uint8Array && v.length === size)) throw refuse(what);
    return new Set(list.map(hex));
  };
  return {
    network,
    sequence: Number(sequence),
    issuedAt: Number(issuedAt),
    rootPublic,
    keys,
    revokedKids: idSet(value.get(5), KID_BYTES, "revoked keys"),
    revokedCtis: idSet(value.get(6), CTI_BYTES, "revoked certificates"),
  };
}

function isIntLike(v) {
  return isInt(v) || typeof v === "boolean"; // Python's isinstance(v, int) takes a bool too
}

// ------------------------------------------------------------------ claims

function list(value) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length === 0) throw new Malformed("facts");
  return value;
}

function row(value, length) {
  if (!Array.isArray(value) || value.length !== length) throw new Malformed("facts row");
  return value;
}

function day(value) {
  const n = uint(value);
  if (n > MAX_DAY) throw new Malformed("date out of range");
  return Number(n);
}

function decodeFacts(value) {
  if (!(value instanceof CborMap) || value.size === 0) throw new Malformed("facts");
  for (const id of value.keyIds()) if (id !== "n:1" && id !== "n:2") throw new Malformed("facts");
  const vaccinations = list(value.get(1)).map((r) => {
    const [disease, type, product, dose, of, date] = row(r, 6);
    const diseases =
      Array.isArray(disease) && disease.length >= 2 && disease.length <= DISEASES
        ? disease.map((d) => Number(uint(d)))
        : [Number(uint(disease))];
    return {
      diseases,
      vaccineType: Number(uint(type)),
      product: Number(uint(product)),
      dose: Number(uint(dose)),
      of: Number(uint(of)),
      day: day(date),
    };
  });
  const tests = list(value.get(2)).map((r) => {
    const [disease, test, result, date] = row(r, 4);
    return { disease: Number(uint(disease)), test: Number(uint(test)), result: Number(uint(result)), day: day(date) };
  });
  return { vaccinations, tests };
}

function decodeClaims(payload) {
  const value = decodeCanonical(payload);
  const wanted = ["n:4", "n:6", "n:7", "n:-65537"];
  if (!(value instanceof CborMap) || value.size !== 4 || !wanted.every((id) => value.ids.has(id))) {
    throw new Malformed("claims");
  }
  const cti = value.get(CLAIM_CTI);
  if (!(cti instanceof Uint8Array) || cti.length !== CTI_BYTES) throw new Malformed("one-time id");
  const exp = uint(value.get(CLAIM_EXP));
  const iat = uint(value.get(CLAIM_IAT));
  return { exp: Number(exp), iat: Number(iat), cti, facts: decodeFacts(value.get(CLAIM_FACTS)) };
}

export function weekStart(moment) {
  return Math.floor((moment - MONDAY) / WEEK) * WEEK + MONDAY;
}

// ------------------------------------------------------------------ verify

function refuse(reason, detail, facts) {
  return { valid: false, reason, detail: detail || null, facts: facts || null };
}

/** Verify a Haven certificate against a parsed trust list at ``now`` (see the top of this file). */
export async function verify(text, trustList, now) {
  if (typeof text !== "string" || text.length === 0) return refuse("malformed");
  if (/^(HC1:|shc:\/|\{|eyJ)/.test(text)) return refuse("malformed", "other-format");
  let protectedBytes, payload, signature, alg, kid;
  try {
    [protectedBytes, payload, signature] = splitSign1(base45Decode(text));
    [alg, kid] = protectedHeader(protectedBytes);
  } catch (error) {
    if (error instanceof Malformed) return refuse("malformed");
    throw error;
  }
  if (!trustList) return refuse("unknown-issuer", "no-trust-list");
  const kidHex = hex(kid);
  if (trustList.revokedKids.has(kidHex)) return refuse("revoked", "key");
  const key = trustList.keys.get(kidHex);
  if (!key) return refuse("unknown-issuer", "unknown-key");
  if (alg !== ES256 || signature.length !== 64 || !lowS(signature)) return refuse("forged");
  if (!(await es256(key.cryptoKey, sigStructure(protectedBytes, payload), signature))) return refuse("forged");
  let claims;
  try {
    claims = decodeClaims(payload);
  } catch (error) {
    if (error instanceof Malformed) return refuse("malformed", "claims");
    throw error;
  }
  const facts = {
    ...claims.facts,
    iat: claims.iat,
    exp: claims.exp,
    issuer: { kid: kidHex, label: key.label, network: trustList.network },
  };
  if (trustList.revokedCtis.has(hex(claims.cti))) return refuse("revoked", "certificate", facts);
  if (!(weekStart(key.notBefore) <= claims.iat && claims.iat <= key.notAfter)) {
    return refuse("unknown-issuer", "outside-epoch", facts);
  }
  const seconds = Math.trunc(now.getTime() / 1000);
  if (seconds < claims.iat) return refuse("not-yet-valid", null, facts);
  if (seconds > claims.exp) return refuse("expired", null, facts);
  return { valid: true, reason: null, detail: null, facts };
}
