/* EU Digital COVID Certificates (HC1:) in the browser, with the checks and reasons of Python's
   haven.certs.eudcc.verify, in its order:
     1. HC1:, Base45, zlib (DecompressionStream), COSE_Sign1 (tag 18, or untagged, or inside tag 61)
        -> malformed; no alg -> malformed
     2. no kid, or no trusted signer (DSC) with it -> unknown-issuer
     3. ES256 (P-256, P-384 or P-521 key) or PS256 (RSA key) through WebCrypto -> else forged
     4. CWT claims with the health certificate at -260 -> 1, a readable exp (and iat) -> else malformed
     5. a DSC whose key usage names other types -> unknown-issuer
     6. now < iat -> not-yet-valid; now > exp -> expired
     7. iat outside the DSC's validity -> unknown-issuer
   Signers come from the site's signed foreign issuers (foreign-trust.js): kid, key, validity, types. */
const V = new URL(import.meta.url).search;
const { CborMap, Malformed, UNDEFINED, base45Decode, equalBytes, sigStructure } = await import("./verify.js" + V);
const { decodeAny, Tagged } = await import("./cbor.js" + V);
const { inflate } = await import("./inflate.js" + V);

const FORMAT = "eu-dcc";
const MAX_INFLATED = 64 * 1024;
const ES256 = -7;
const PS256 = -37;
const CLAIM_HCERT = -260;
const CURVE_BYTES = { "P-256": 32, "P-384": 48, "P-521": 66 };

function refuse(reason, detail, extra) {
  return { valid: false, reason, detail: detail || null, format: FORMAT, facts: null, holder: null, ...extra };
}

/** The COSE_Sign1 parts of an HC1: text, or null (malformed). */
async function decode(text) {
  let compressed;
  try {
    compressed = base45Decode(text.slice(4));
  } catch (error) {
    if (error instanceof Malformed) return null;
    throw error;
  }
  if (!compressed.length || (compressed[0] & 0x0f) !== 8) return null; // zlib names method 8 (deflate)
  const raw = await inflate(compressed, "deflate", MAX_INFLATED);
  if (!raw) return null;
  let item;
  try {
    item = decodeAny(raw);
    if (item instanceof Tagged && item.tag === 61) item = item.value;
    if (item instanceof Tagged && item.tag === 18) item = item.value;
    if (!Array.isArray(item) || item.length !== 4) return null;
    const [protectedBytes, unprotected, payload, signature] = item;
    if (!(protectedBytes instanceof Uint8Array) || !(unprotected instanceof CborMap)) return null;
    if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) return null;
    const header = protectedBytes.length ? decodeAny(protectedBytes) : new CborMap();
    if (!(header instanceof CborMap)) return null;
    return { protectedBytes, header, unprotected, payload, signature };
  } catch (error) {
    if (error instanceof Malformed) return null;
    throw error;
  }
}

async function publicKey(signer) {
  if (!signer.cryptoKey) {
    const algorithm =
      signer.kind === "RSA" ? { name: "RSA-PSS", hash: "SHA-256" } : { name: "ECDSA", namedCurve: signer.kind };
    signer.cryptoKey = crypto.subtle.importKey("spki", signer.spki, algorithm, false, ["verify"]);
  }
  return signer.cryptoKey;
}

async function signatureMatches(alg, signer, message, signature) {
  try {
    if (alg === ES256 && CURVE_BYTES[signer.kind]) {
      if (signature.length !== 2 * CURVE_BYTES[signer.kind]) return false;
      return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await publicKey(signer), signature, message);
    }
    if (alg === PS256 && signer.kind === "RSA") {
      return await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, await publicKey(signer), signature, message);
    }
  } catch {
    return false; // a key WebCrypto cannot take, or a signature of the wrong size: not a match
  }
  return false; // an algorithm its key does not use: algorithm confusion
}

/** Python's truth of a decoded value (empty containers, zero, false, null and undefined are false). */
function truthy(v) {
  if (v === undefined || v === null || v === false || v === UNDEFINED || v === 0 || v === 0n || v === "") return false;
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length > 0;
  if (v instanceof CborMap) return v.size > 0;
  return true;
}

function numericDate(v) {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v >= 1e11) return null;
  return v;
}

function asText(v) {
  return typeof v === "string" ? v : null;
}

function int(v) {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

function rows(hcert, key) {
  const list = hcert.get(key);
  return Array.isArray(list) ? list.filter((row) => row instanceof CborMap) : [];
}

function factsOf(hcert) {
  return {
    vaccinations: rows(hcert, "v").map((v) => ({
      code: asText(v.get("mp")),
      dose: int(v.get("dn")),
      of: int(v.get("sd")),
      date: asText(v.get("dt")),
    })),
    tests: rows(hcert, "t").map((t) => ({
      code: asText(t.get("tt")),
      result: asText(t.get("tr")),
      date: (asText(t.get("sc")) || "").slice(0, 10) || null,
    })),
    recoveries: rows(hcert, "r").map((r) => ({
      firstPositive: asText(r.get("fr")),
      from: asText(r.get("df")),
      until: asText(r.get("du")),
    })),
  };
}

function holderOf(hcert) {
  const name = hcert.get("nam");
  const part = (key) => (name instanceof CborMap ? asText(name.get(key)) || asText(name.get(key + "t")) : null);
  const full = [part("gn"), part("fn")].filter(Boolean).join(" ");
  return { name: full || null, born: asText(hcert.get("dob")) };
}

/** Verify an HC1: text against the trusted ``signers`` at ``now`` (a Date). */
export async function verifyEudcc(text, signers, now) {
  if (!text.startsWith("HC1:")) return refuse("malformed");
  const signed = await decode(text);
  if (!signed) return refuse("malformed");
  const header = (label) => (signed.header.has(label) ? signed.header.get(label) : signed.unprotected.get(label));
  const alg = header(1);
  const kid = header(4);
  if (alg === undefined || alg === null) return refuse("malformed");
  if (!(kid instanceof Uint8Array)) return refuse("unknown-issuer", "no-kid");
  const signer = signers.find((s) => equalBytes(s.kid, kid));
  if (!signer) return refuse("unknown-issuer", "unknown-key");
  const message = sigStructure(signed.protectedBytes, signed.payload);
  if (!(await signatureMatches(alg, signer, message, signed.signature))) return refuse("forged");
  let claims, hcert;
  try {
    claims = decodeAny(signed.payload);
    const wrapped = claims instanceof CborMap ? claims.get(CLAIM_HCERT) : undefined;
    hcert = wrapped instanceof CborMap ? wrapped.get(1) : Array.isArray(wrapped) ? wrapped[1] : undefined;
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
  }
  if (!(claims instanceof CborMap) || !(hcert instanceof CborMap)) return refuse("malformed", "claims");
  const iat = numericDate(claims.get(6));
  const exp = numericDate(claims.get(4));
  if (exp === null || (claims.has(6) && iat === null)) return refuse("malformed", "claims");
  const checked = {
    facts: { ...factsOf(hcert), iat, exp, issuer: { subject: signer.subject } },
    holder: holderOf(hcert),
  };
  const kinds = ["v", "t", "r"].filter((k) => truthy(hcert.get(k)));
  if (signer.types && !kinds.every((k) => signer.types.includes(k))) {
    return refuse("unknown-issuer", "key-usage", checked);
  }
  const seconds = Math.trunc(now.getTime() / 1000);
  if (iat !== null && seconds < iat) return refuse("not-yet-valid", null, checked);
  if (seconds > exp) return refuse("expired", null, checked);
  if (iat !== null && !(signer.notBefore <= iat && iat <= signer.notAfter)) {
    return refuse("unknown-issuer", "signer-not-valid", checked);
  }
  return { valid: true, reason: null, detail: null, format: FORMAT, ...checked };
}
