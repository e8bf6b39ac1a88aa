/* The verifier page: scan or paste, verify in the browser, show the verdict in the page's language.

   The trust list: fetched from this server (/api/trust-list), verified against the root key it names
   and pinned on first use (the root's fingerprint is shown, for a person to compare with the one their
   network publishes); later lists must be signed by that root and be newer (a lower or equal version is
   refused, as `haven trust import` does: an older list could un-revoke keys). The last good list is kept
   in localStorage with when the server last gave it and when a refresh last failed, so the page keeps
   verifying offline and says how old its list is. Without any list a certificate cannot be checked: the
   verdict is "cannot check yet", never "not valid" (a genuine certificate looks unknown then). Nothing
   about a certificate ever leaves the page.

   Foreign issuers (EU DCC signers, SMART Health Card issuers): fetched from /verify/foreign-trust, a
   document signed by an epoch key of the pinned trust list (foreign-trust.js), kept in localStorage like
   the list, an older one refused; the page says how many it holds and how old their signature is.
   A SMART Health Card in several QR codes is scanned code by code until every chunk is in. */
// Asset URLs carry the assets' hash (html[data-v]): the service worker caches exactly these.
const V = document.documentElement.dataset.v || "";
let verifier = null;
let formats = null;
let foreignTrust = null;
let seenCodes = null;

const LANGS = ["en", "ko", "zh"];
const HTML_LANG = { en: "en", ko: "ko", zh: "zh-Hans" };
const TRUST_LIST_URL = "/api/trust-list";
const SAVED = "haven-verify-trust";
const FOREIGN_URL = "/verify/foreign-trust";
const SAVED_FOREIGN = "haven-verify-foreign";
let strings = {};
let names = {};
let lang = "en";
let offlineState = "offline-pending";
let trust = null;
let trustNote = null; // a string key: why a list offered by the server was not taken
let fingerprint = "";
let received = null; // ms since the epoch: when the server last gave (or confirmed) the list kept
let refreshFailed = null; // ms since the epoch: when a refresh last failed, if after that
let foreign = null; // the parsed foreign issuers, or null
let foreignNote = null; // a string key: why a document offered by the server was not taken
let chunks = new Map(); // a multi-QR SMART Health Card's chunks read so far: index -> text
const WEEK_MS = 7 * 86400000;

function pickLanguage() {
  const saved = localStorage.getItem("haven-verify-lang");
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

function t(key, values) {
  let text = (strings[lang] && strings[lang][key]) || strings.en[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", String(value));
  return text;
}

function applyLanguage(next) {
  lang = next;
  document.documentElement.lang = HTML_LANG[lang];
  document.title = t("title") + " · Haven";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const b of document.querySelectorAll(".lang-button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  showTrust();
  if (seenCodes) showSeenCount();
  const result = document.getElementById("result");
  if (!result.hidden && result.dataset.verdict) showVerdict(JSON.parse(result.dataset.verdict));
}

// ---------------------------------------------------------------- the trust list

function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function readSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(SAVED) || "null");
    if (!saved || !saved.list || !saved.root) return null;
    const when = (value) => (Number.isFinite(value) ? value : null);
    return { list: fromBase64(saved.list), root: fromBase64(saved.root), received: when(saved.received), failed: when(saved.failed) };
  } catch {
    return null;
  }
}

function save(bytes, root) {
  const record = { list: toBase64(bytes), root: toBase64(root), received, failed: refreshFailed };
  localStorage.setItem(SAVED, JSON.stringify(record));
}

async function loadTrust() {
  const saved = readSaved();
  let current = null;
  let currentBytes = null;
  if (saved) {
    try {
      current = await verifier.parseTrustList(saved.list, saved.root);
      currentBytes = saved.list;
    } catch {
      current = null; // damaged in storage: the pinned root still decides what is taken next
    }
  }
  received = current ? saved.received : null;
  refreshFailed = current ? saved.failed : null;
  trustNote = null;
  let fetched = false;
  try {
    const response = await fetch(TRUST_LIST_URL, { cache: "no-store" });
    if (response.ok) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      const fresh = await verifier.parseTrustList(bytes, saved ? saved.root : null);
      if (!current || fresh.sequence >= current.sequence) {
        fetched = true;
        if (!current || fresh.sequence > current.sequence) [current, currentBytes] = [fresh, bytes];
      } else {
        trustNote = "trust-older";
      }
    }
  } catch (error) {
    // Offline, or a list this page refuses: keep the one it has.
    if (error instanceof verifier.TrustListError) trustNote = "trust-refused";
  }
  // No answer, or no list to give (a server that has not been opened since it started): the saved
  // list stays, and the page says that it could not refresh it.
  if (fetched) [received, refreshFailed] = [Date.now(), null];
  else if (current && !trustNote) refreshFailed = Date.now();
  if (current) save(currentBytes, current.rootPublic);
  trust = current;
  fingerprint = trust ? await verifier.fingerprint(trust.rootPublic) : "";
  await loadForeign();
  showTrust();
}

/** The foreign issuers: the server's if signed under the pinned list and not older, else the saved ones. */
async function loadForeign() {
  foreignNote = null;
  let saved = null;
  try {
    const bytes = fromBase64(localStorage.getItem(SAVED_FOREIGN) || "");
    saved = trust && bytes.length ? [await foreignTrust.parseForeignTrust(bytes, trust), bytes] : null;
  } catch {
    saved = null; // damaged, or its key is no longer in the list (revoked): not used
  }
  let current = saved;
  if (trust) {
    try {
      const response = await fetch(FOREIGN_URL, { cache: "no-store" });
      if (response.ok) {
        const bytes = new Uint8Array(await response.arrayBuffer());
        const fresh = await foreignTrust.parseForeignTrust(bytes, trust);
        if (!saved || fresh.issuedAt >= saved[0].issuedAt) current = [fresh, bytes];
        else foreignNote = "foreign-older";
      }
    } catch (error) {
      if (error instanceof foreignTrust.ForeignTrustError) foreignNote = "foreign-refused";
    }
  }
  if (current) localStorage.setItem(SAVED_FOREIGN, toBase64(current[1]));
  foreign = current ? current[0] : null;
}

/** "3 days ago" in the page's language (the browser's own words: no catalogue needed). */
function ago(when) {
  const seconds = Math.max(0, (Date.now() - when) / 1000);
  const format = new Intl.RelativeTimeFormat(HTML_LANG[lang], { numeric: "auto" });
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (seconds >= size) return format.format(-Math.floor(seconds / size), unit);
  }
  return format.format(0, "minute");
}

/** A network's name as signed; a lone site's ("standalone", haven trust standalone) in the page's language. */
function networkName(name) {
  return name === "standalone" ? t("network-standalone") : name;
}

function showTrust() {
  const el = document.getElementById("trust-state");
  if (!el) return;
  if (!trust) {
    el.textContent = t("trust-none");
  } else {
    el.textContent = t("trust-state", { network: networkName(trust.network), version: trust.sequence, fingerprint });
  }
  document.body.dataset.trust = trust ? String(trust.sequence) : "none";
  const age = document.getElementById("trust-age");
  age.hidden = !trust || received === null;
  age.textContent = age.hidden ? "" : t("trust-age", { age: ago(received) });
  age.classList.toggle("stale", !age.hidden && Date.now() - received > WEEK_MS);
  if (!age.hidden && Date.now() - received > WEEK_MS) age.textContent += " " + t("trust-stale");
  const failed = document.getElementById("trust-refresh");
  failed.hidden = !trust || refreshFailed === null;
  failed.textContent = failed.hidden ? "" : t("trust-refresh-failed", { age: ago(refreshFailed) });
  document.body.dataset.trustRefresh = failed.hidden ? "ok" : "failed";
  const note = document.getElementById("trust-note");
  note.hidden = !trustNote && !foreignNote;
  note.textContent = [trustNote, foreignNote].filter(Boolean).map((key) => t(key)).join(" ");
  showForeign();
  showOffline();
}

function showForeign() {
  const el = document.getElementById("foreign-state");
  document.body.dataset.foreign = foreign ? String(foreign.issuedAt) : "none";
  if (!foreign) {
    el.textContent = t("foreign-none");
    return;
  }
  const signed = foreign.issuedAt * 1000;
  el.textContent = t("foreign-state", { eu: foreign.signers.length, shc: foreign.issuers.length, age: ago(signed) });
  if (Date.now() - signed > WEEK_MS) el.textContent += " " + t("trust-stale");
  el.classList.toggle("stale", Date.now() - signed > WEEK_MS);
}

function showOffline() {
  // "Works without a connection" only once there is a list to check with.
  const key = offlineState === "offline-ready" && !trust ? "offline-ready-no-list" : offlineState;
  document.getElementById("offline-state").textContent = t(key);
}

// ---------------------------------------------------------------- the verdict

function name(table, code) {
  const entry = names[table] && names[table][String(code)];
  return entry ? entry[lang] || entry.en : "#" + code;
}

function isoDay(days) {
  return new Date(days * 86400000).toISOString().slice(0, 10);
}

function isoTime(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function localTime(ms) {
  return new Intl.DateTimeFormat(HTML_LANG[lang], { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

function showSeenCount() {
  const n = seenCodes ? seenCodes.countSeen() : 0;
  const box = document.getElementById("seen-store");
  box.hidden = n === 0;
  document.getElementById("seen-count").textContent = t("seen-count", { n });
}

function coded(system, table, code) {
  const id = names.codes && names.codes[system] && names.codes[system][code];
  return id ? name(table, id) : code || "?";
}

function doseText(dose, of) {
  if (dose === null || dose === undefined) return null;
  return of ? t("dose-of", { n: dose, of }) : t("dose", { n: dose });
}

function foreignLines(facts, format) {
  const eu = format === "eu-dcc";
  const lines = [];
  for (const v of facts.vaccinations || []) {
    const parts = [coded(eu ? "eu_dcc_mp" : "cvx", "products", v.code), doseText(v.dose, v.of), v.date];
    lines.push(parts.filter(Boolean).join(" · "));
  }
  for (const test of facts.tests || []) {
    const what = coded(eu ? "eu_test" : "loinc", "tests", test.code);
    lines.push(what + ": " + coded("snomed_result", "results", test.result) + (test.date ? " · " + test.date : ""));
  }
  for (const r of facts.recoveries || []) {
    lines.push(t("recovery", { from: r.from || "?", until: r.until || "?" }));
  }
  return lines;
}

function factLines(facts) {
  const lines = [];
  for (const v of facts.vaccinations || []) {
    const product = names.products && names.products[String(v.product)] ? name("products", v.product) : null;
    const what = product || "#" + v.product + " (" + v.diseases.map((d) => name("diseases", d)).join(", ") + ")";
    lines.push(what + " · " + t("dose-of", { n: v.dose, of: v.of }) + " · " + isoDay(v.day));
  }
  for (const test of facts.tests || []) {
    lines.push(name("tests", test.test) + ": " + name("results", test.result) + " · " + isoDay(test.day));
  }
  return lines;
}

function showVerdict(verdict) {
  const result = document.getElementById("result");
  result.hidden = false;
  result.dataset.verdict = JSON.stringify(verdict);
  result.dataset.reason = verdict.valid ? "valid" : verdict.reason;
  result.dataset.format = verdict.format || "";
  // Three states: valid; not valid, with its reason; cannot check yet (no list: a genuine one looks unknown).
  const unchecked = verdict.detail === "no-trust-list" || verdict.detail === "no-foreign-list";
  const state = verdict.valid ? "valid" : unchecked ? "unchecked" : "invalid";
  result.dataset.state = state;
  result.className = "result " + state;
  document.getElementById("verdict").textContent = t(state === "unchecked" ? "cannot-check" : state);
  // The reason in words: a finer one where the verifier says more (which key, no list yet...).
  const finer = verdict.detail && strings.en["why-" + verdict.detail] ? "why-" + verdict.detail : null;
  document.getElementById("reason").textContent = t(verdict.valid ? "reason-valid" : finer || "reason-" + verdict.reason);
  // Three different answers: a trusted issuer's signature, an issuer not trusted here, a signature that fails.
  const answer = verdict.valid ? "trusted" : { "unknown-issuer": "unknown", forged: "bad-signature" }[verdict.reason];
  const answerEl = document.getElementById("answer");
  answerEl.hidden = !answer || state === "unchecked";
  answerEl.textContent = answerEl.hidden ? "" : t("answer-" + answer);
  result.dataset.answer = answerEl.hidden ? "" : answer;
  // A foreign certificate's holder, never larger than the verdict (CSS: small text, after it).
  const holder = document.getElementById("holder");
  const who = verdict.holder && (verdict.holder.name || verdict.holder.born) ? verdict.holder : null;
  holder.hidden = !who;
  holder.textContent = who ? t("holder", { name: who.name || "?", born: who.born || "?" }) : "";
  const again = document.getElementById("seen-before");
  again.hidden = !verdict.seenBefore;
  again.textContent = again.hidden ? "" : t("seen-before", { when: localTime(verdict.seenBefore) });
  result.dataset.seenBefore = again.hidden ? "" : String(verdict.seenBefore);
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  const details = document.getElementById("details");
  details.replaceChildren();
  if (verdict.facts && verdict.format && verdict.format !== "haven") {
    for (const line of foreignLines(verdict.facts, verdict.format)) {
      const li = document.createElement("li");
      li.textContent = line;
      facts.appendChild(li);
    }
    const f = verdict.facts;
    const by = f.issuer.subject ? t("signed-by-dsc", { subject: f.issuer.subject }) : t("issued-by", { iss: f.issuer.iss });
    const lines = [f.exp ? t("expires", { when: isoTime(f.exp) }) : null, f.iat ? t("issued-on", { day: isoTime(f.iat) }) : null, by];
    for (const w of verdict.warnings || []) lines.push(t("warning-" + w));
    for (const text of lines.filter(Boolean)) {
      const p = document.createElement("p");
      p.textContent = text;
      details.appendChild(p);
    }
  } else if (verdict.facts) {
    for (const line of factLines(verdict.facts)) {
      const li = document.createElement("li");
      li.textContent = line;
      facts.appendChild(li);
    }
    const f = verdict.facts;
    for (const text of [
      t("expires", { when: isoTime(f.exp) }),
      t("issued-week", { day: isoTime(f.iat).slice(0, 10) }),
      t("signed-by", { label: f.issuer.label, network: networkName(f.issuer.network) }),
    ]) {
      const p = document.createElement("p");
      p.textContent = text;
      details.appendChild(p);
    }
  }
}

/** A multi-QR SMART Health Card's chunk: kept until every one is read (then the whole text), else null. */
function collect(text) {
  const chunk = formats.chunkOf(text);
  if (!chunk || chunk[1] < 2 || chunk[0] > chunk[1]) return text;
  const [index, total] = chunk;
  if (chunks.size && [...chunks.values()].some((c) => formats.chunkOf(c)[1] !== total)) chunks = new Map();
  chunks.set(index, text);
  if (chunks.size < total) {
    const status = document.getElementById("chunks");
    status.hidden = false;
    status.textContent = t("chunks", { read: chunks.size, total });
    return null;
  }
  const whole = [...chunks.keys()].sort((a, b) => a - b).map((i) => chunks.get(i)).join(" ");
  chunks = new Map();
  return whole;
}

async function check(text, decodedAt, scanner) {
  const started = decodedAt ?? performance.now();
  // Pasted chunks of a SMART Health Card may come one a line; `haven cert verify` takes them space-separated.
  const lines = text.trim().split(/\s*\n\s*/);
  const cleaned = lines.length > 1 && lines.every((l) => l.startsWith("shc:/")) ? lines.join(" ") : text.trim();
  const whole = cleaned.includes(" ") ? cleaned : collect(cleaned);
  if (whole === null) {
    if (scanner) scanner.start(); // the next QR code of the card
    return;
  }
  document.getElementById("chunks").hidden = true;
  document.getElementById("scanned").textContent = whole;
  const verdict = await formats.verifyAny(whole, trust, foreign, new Date());
  // A valid code seen before on this phone: said, with when (a one-time code shown again may be a copy).
  verdict.seenBefore = verdict.valid ? await seenCodes.markSeen(whole) : null;
  showVerdict(verdict);
  showSeenCount();
  document.body.dataset.verdictMs = String(performance.now() - started);
  document.getElementById("result").scrollIntoView({ block: "nearest" });
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) {
    offlineState = "offline-unavailable";
  } else {
    try {
      await navigator.serviceWorker.register("/verify/sw.js", { scope: "/verify" });
      await navigator.serviceWorker.ready;
      offlineState = "offline-ready";
      document.body.dataset.offlineReady = "true";
    } catch {
      offlineState = "offline-unavailable";
    }
  }
  showOffline();
}

async function main() {
  [verifier, formats, foreignTrust, seenCodes] = await Promise.all(
    ["verify", "formats", "foreign-trust", "seen"].map((name) => import("./" + name + ".js?v=" + V))
  );
  [strings, names] = await Promise.all(
    ["strings", "catalogue"].map(async (file) => (await fetch("/static/verifier/" + file + ".json?v=" + V)).json())
  );
  applyLanguage(pickLanguage());
  for (const b of document.querySelectorAll(".lang-button")) {
    b.addEventListener("click", () => {
      localStorage.setItem("haven-verify-lang", b.dataset.lang);
      applyLanguage(b.dataset.lang);
    });
  }
  if (!globalThis.crypto || !crypto.subtle) {
    // WebCrypto (and the service worker) need a secure context: https, or this device's localhost.
    document.getElementById("insecure").hidden = false;
    document.body.dataset.ready = "true";
    return;
  }
  await loadTrust();
  // Back online: try again for a list (a page opened offline, or while the server had none to give).
  window.addEventListener("online", () => loadTrust());
  const status = document.getElementById("scanner-status");
  const button = document.getElementById("scan-button");
  const video = document.querySelector("#verify-scanner video");
  const scanner = new window.HavenScanner(
    video,
    (text, decodedAt) => check(text, decodedAt, scanner),
    (state) => {
      status.textContent = t("scan-" + state);
      button.hidden = state === "looking" || state === "starting";
    }
  );
  button.addEventListener("click", () => {
    document.getElementById("result").hidden = true;
    scanner.start();
  });
  document.getElementById("paste-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check(document.getElementById("paste").value);
  });
  document.getElementById("again").addEventListener("click", () => {
    document.getElementById("result").hidden = true;
    chunks = new Map();
    document.getElementById("paste").value = "";
  });
  document.getElementById("seen-clear").addEventListener("click", () => {
    seenCodes.clearSeen();
    showSeenCount();
    document.getElementById("seen-before").hidden = true;
  });
  showSeenCount();
  document.body.dataset.ready = "true";
  registerWorker();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
