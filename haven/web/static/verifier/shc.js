/* SMART Health Cards in the browser (shc:/ numeric QR text in one or more chunks, compact JWS, or the
   .smart-health-card file), with the checks and reasons of Python's haven.certs.shc.verify, in its order:
     1. the chunks (shc:/i/n/, all there, once each), digits, the JWS's three base64url parts, a JSON
        header naming alg, kid and zip "DEF" -> malformed
     2. no trusted issuer has the kid -> unknown-issuer; alg not ES256 -> forged; a signature that is not
        64 bytes -> malformed; the ES256 signature through WebCrypto -> else forged
     3. the payload inflates (deflate-raw) to a JSON object -> else malformed
     4. its iss is not the issuer whose key signed it -> unknown-issuer; no nbf, a broken exp, no FHIR
        bundle -> malformed
     5. its rid on the key's revocation list -> revoked
     6. now < nbf -> not-yet-valid; now > exp -> expired
   Issuers come from the site's signed foreign issuers (foreign-trust.js). A file's cards must all verify. */
const V = new URL(import.meta.url).search;
const { importP256 } = await import("./verify.js" + V);
const { inflate } = await import("./inflate.js" + V);

const FORMAT = "shc";
const MAX_SINGLE_JWS = 1195; // the spec's limit for one version-22 QR code
const MAX_CHUNK_JWS = 1191;
const MAX_INFLATED = 256 * 1024;
const MAX_CHUNKS = 64;
const CVX = "http://hl7.org/fhir/sid/cvx";
const LOINC = "http://loinc.org";
const SNOMED = "http://snomed.info/sct";
const CHUNK = /^shc:\/(?:([1-9][0-9]{0,2})\/([1-9][0-9]{0,2})\/)?([0-9]*)$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Refused extends Error {
  constructor(reason, detail, extra) {
    super(reason);
    this.result = { valid: false, reason, detail: detail || null, format: FORMAT, facts: null, holder: null, ...extra };
  }
}

const malformed = (detail, extra) => new Refused("malformed", detail, extra);

/** One shc:/ chunk's place: [index, total, digits], or null if it is not one. */
export function chunkOf(part) {
  const match = CHUNK.exec(part);
  if (!match || !match[3]) return null;
  return [Number(match[1] || 1), Number(match[2] || 1), match[3], match[1] !== undefined];
}

function numericToJws(text) {
  const parts = text.split(" ");
  if (parts.length > MAX_CHUNKS) throw malformed();
  const chunks = new Map();
  for (const part of parts) {
    const chunk = chunkOf(part);
    if (!chunk) throw malformed();
    const [index, total, digits, numbered] = chunk;
    if (!numbered && parts.length > 1) throw malformed();
    if (total !== parts.length || index < 1 || index > total || chunks.has(index)) throw malformed();
    if (digits.length % 2) throw malformed();
    let jws = "";
    for (let i = 0; i < digits.length; i += 2) {
      const v = Number(digits.slice(i, i + 2));
      if (v > 77) throw malformed();
      jws += String.fromCharCode(v + 45);
    }
    if (jws.length > (parts.length === 1 ? MAX_SINGLE_JWS : MAX_CHUNK_JWS)) throw malformed();
    chunks.set(index, jws);
  }
  return parts.map((_, i) => chunks.get(i + 1)).join("");
}

function b64url(text) {
  if (!B64URL.test(text) || text.length % 4 === 1) throw malformed();
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/* JSON as Python's json.loads reads it: it also takes NaN and Infinity, which every check here treats
   as it treats null (not a number Haven takes), so they are read as null. */
function pythonJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    let out = "";
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        out += c;
        if (c === "\\") out += text[++i] ?? "";
        else if (c === '"') inString = false;
      } else if (c === '"') {
        inString = true;
        out += c;
      } else {
        const word = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
        if (word) {
          out += "null";
          i += word[0].length - 1;
        } else out += c;
      }
    }
    return JSON.parse(out);
  }
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

function parseJws(jws) {
  const parts = jws.split(".");
  if (parts.length !== 3) throw malformed();
  let header, compressed, signature;
  try {
    header = pythonJson(UTF8.decode(b64url(parts[0])));
    compressed = b64url(parts[1]);
    signature = b64url(parts[2]);
  } catch (error) {
    if (error instanceof Refused) throw error;
    throw malformed();
  }
  if (!isObject(header)) throw malformed();
  for (const name of ["alg", "kid", "zip"]) if (typeof header[name] !== "string") throw malformed();
  if (header.zip !== "DEF") throw malformed();
  return { header, signingInput: new TextEncoder().encode(parts[0] + "." + parts[1]), compressed, signature };
}

function numericDate(v) {
  return typeof v === "number" && v >= 0 && v < 1e11 ? v : null;
}

function codings(concept) {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding.filter((c) => isObject(c) && "code" in c).map((c) => [String(c.system), String(c.code)]);
}

function resourcesOf(payload) {
  // payload["vc"]["credentialSubject"]["fhirBundle"]["entry"], each a dict, and the entries iterable
  let entries = payload;
  for (const key of ["vc", "credentialSubject", "fhirBundle", "entry"]) {
    if (!isObject(entries) || !(key in entries)) throw malformed("claims", { signatureValid: true });
    entries = entries[key];
  }
  if (typeof entries === "string" || isObject(entries)) return [];
  if (!Array.isArray(entries)) throw malformed("claims", { signatureValid: true });
  return entries.filter((e) => isObject(e) && isObject(e.resource)).map((e) => e.resource);
}

function factsOf(resources) {
  const vaccinations = [];
  const tests = [];
  for (const r of resources) {
    if (r.resourceType === "Immunization" && (r.status ?? "completed") === "completed") {
      const cvx = codings(r.vaccineCode).find(([system]) => system === CVX);
      const applied = Array.isArray(r.protocolApplied) && isObject(r.protocolApplied[0]) ? r.protocolApplied[0] : {};
      const whole = (v) => (Number.isInteger(v) ? v : null);
      vaccinations.push({
        code: cvx ? cvx[1] : null,
        dose: whole(applied.doseNumberPositiveInt),
        of: whole(applied.seriesDosesPositiveInt),
        date: String(r.occurrenceDateTime || "").slice(0, 10) || null,
      });
    } else if (r.resourceType === "Observation") {
      const loinc = codings(r.code).find(([system]) => system === LOINC);
      const result = codings(r.valueCodeableConcept).find(([system]) => system === SNOMED);
      if (!loinc) continue;
      tests.push({
        code: loinc[1],
        result: result ? result[1] : null,
        date: String(r.effectiveDateTime || "").slice(0, 10) || null,
      });
    }
  }
  return { vaccinations, tests };
}

function holderOf(resources) {
  const patient = resources.find((r) => r.resourceType === "Patient");
  if (!patient) return null;
  const name = Array.isArray(patient.name) && isObject(patient.name[0]) ? patient.name[0] : {};
  const given = Array.isArray(name.given) ? name.given.filter((g) => typeof g === "string") : [];
  const full = [...given, typeof name.family === "string" ? name.family : ""].filter(Boolean).join(" ");
  return { name: full || null, born: typeof patient.birthDate === "string" ? patient.birthDate : null };
}

function findKey(issuers, kid) {
  for (const issuer of issuers) {
    const key = issuer.keys.find((k) => k.kid === kid);
    if (key) return [issuer, key];
  }
  return null;
}

async function verifyJws(jws, issuers, seconds) {
  const parsed = parseJws(jws);
  const found = findKey(issuers, parsed.header.kid);
  if (!found) throw new Refused("unknown-issuer", "unknown-key");
  const [issuer, key] = found;
  if (parsed.header.alg !== "ES256") throw new Refused("forged");
  if (parsed.signature.length !== 64) throw malformed("der-signature");
  if (!key.cryptoKey) key.cryptoKey = importP256(key.point);
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    await key.cryptoKey,
    parsed.signature,
    parsed.signingInput,
  );
  if (!ok) throw new Refused("forged");
  const raw = await inflate(parsed.compressed, "deflate-raw", MAX_INFLATED);
  let payload = null;
  try {
    payload = raw && pythonJson(UTF8.decode(raw));
  } catch {
    payload = null;
  }
  if (!isObject(payload)) throw malformed("claims", { signatureValid: true });
  if (payload.iss !== issuer.iss) throw new Refused("unknown-issuer", "other-iss");
  const nbf = numericDate(payload.nbf);
  const exp = numericDate(payload.exp);
  if (nbf === null || ("exp" in payload && exp === null)) throw malformed("claims");
  const resources = resourcesOf(payload);
  const checked = {
    facts: { ...factsOf(resources), iat: nbf, exp, issuer: { iss: issuer.iss } },
    holder: holderOf(resources),
    warnings: key.note ? [key.note === 1 ? "crl-not-held" : "crl-other-version"] : [],
  };
  const rid = isObject(payload.vc) ? payload.vc.rid : undefined;
  if (key.revoked && typeof rid === "string") {
    for (const entry of key.revoked) {
      const dot = entry.indexOf(".");
      const [id, when] = dot < 0 ? [entry, ""] : [entry.slice(0, dot), entry.slice(dot + 1)];
      // "rid.timestamp" revokes only the cards issued before that time.
      if (id === rid && (!when || (/^[0-9]+$/.test(when) && nbf < Number(when)))) {
        throw new Refused("revoked", "certificate", checked);
      }
    }
  }
  if (seconds < nbf) throw new Refused("not-yet-valid", null, checked);
  if (exp !== null && seconds > exp) throw new Refused("expired", null, checked);
  return checked;
}

function jwsesOf(text) {
  if (text.startsWith("shc:/")) return [numericToJws(text)];
  if (!text.startsWith("{")) return [text];
  let doc;
  try {
    doc = pythonJson(text);
  } catch {
    throw malformed();
  }
  const list = isObject(doc) ? doc.verifiableCredential : null;
  if (!Array.isArray(list) || !list.length || !list.every((j) => typeof j === "string")) throw malformed();
  return list;
}

/** Verify a SMART Health Card (QR text, JWS or file) against the trusted ``issuers`` at ``now`` (a Date). */
export async function verifyShc(text, issuers, now) {
  const seconds = Math.trunc(now.getTime() / 1000);
  try {
    const results = [];
    for (const jws of jwsesOf(text)) results.push(await verifyJws(jws, issuers, seconds));
    const [first, ...more] = results;
    const facts = { ...first.facts };
    for (const extra of more) {
      facts.vaccinations = [...facts.vaccinations, ...extra.facts.vaccinations];
      facts.tests = [...facts.tests, ...extra.facts.tests];
    }
    const warnings = results.flatMap((r) => r.warnings);
    return { valid: true, reason: null, detail: null, format: FORMAT, facts, holder: first.holder, warnings };
  } catch (error) {
    if (error instanceof Refused) return error.result;
    throw error;
  }
}
