/* Every format the page checks, told apart as Python's haven.certs.verify.detect_format does:
   HC1: is an EU DCC; a first character of Base45's alphabet, a Haven certificate; shc:/, "{" or a
   JWS ("eyJ" and two dots), a SMART Health Card; anything else is malformed.

   verifyAny(text, trustList, foreign, now) -> Promise<{valid, reason, detail, format, facts, holder, warnings}>
     trustList  the pinned Haven trust list, or null
     foreign    the parsed foreign issuers (foreign-trust.js), or null (none received yet)
   reason is null or one of verify.js's REASONS, the same as `haven cert verify` gives. */
const V = new URL(import.meta.url).search;
const haven = await import("./verify.js" + V);
const { verifyEudcc } = await import("./eudcc.js" + V);
const { verifyShc, chunkOf } = await import("./shc.js" + V);

export { chunkOf }; // the page collects a multi-QR SMART Health Card's chunks with it

const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

export function detectFormat(text) {
  if (text.startsWith("HC1:")) return "eu-dcc";
  if (text && BASE45.includes(text[0])) return "haven";
  if (text.startsWith("shc:/") || text.startsWith("{") || (text.startsWith("eyJ") && text.split(".").length === 3)) {
    return "shc";
  }
  return null;
}

async function byFormat(format, text, trustList, foreign, now) {
  if (format === "haven") return { format, holder: null, warnings: [], ...(await haven.verify(text, trustList, now)) };
  if (format === "eu-dcc") return { warnings: [], ...(await verifyEudcc(text, foreign ? foreign.signers : [], now)) };
  if (format === "shc") return verifyShc(text, foreign ? foreign.issuers : [], now);
  return { valid: false, reason: "malformed", detail: null, format: null, facts: null, holder: null, warnings: [] };
}

export async function verifyAny(text, trustList, foreign, now) {
  const format = typeof text === "string" ? detectFormat(text) : null;
  const result = await byFormat(format, text, trustList, foreign, now);
  // A foreign certificate before this page has any foreign issuers: it cannot tell yet, as without a trust list.
  if (format !== "haven" && !foreign && result.detail === "unknown-key") result.detail = "no-foreign-list";
  return result;
}
