/* The verifier page: scan or paste, verify in the browser, show the verdict in the page's language.

   The trust list: fetched from this server (/api/trust-list), verified against the root key it names
   and pinned on first use (the root's fingerprint is shown, for a person to compare with the one their
   network publishes); later lists must be signed by that root and be newer (a lower or equal version is
   refused, as `haven trust import` does: an older list could un-revoke keys). The last good list is kept
   in localStorage with when the server last gave it and when a refresh last failed, so the page keeps
   verifying offline and says how old its list is. Without any list a certificate cannot be checked: the
   verdict is "cannot check yet", never "not valid" (a genuine certificate looks unknown then). Nothing
   about a certificate ever leaves the page. */
// Asset URLs carry the assets' hash (html[data-v]): the service worker caches exactly these.
const V = document.documentElement.dataset.v || "";
let verifier = null;

const LANGS = ["en", "ko", "zh"];
const HTML_LANG = { en: "en", ko: "ko", zh: "zh-Hans" };
const TRUST_LIST_URL = "/api/trust-list";
const SAVED = "haven-verify-trust";
let strings = {};
let names = {};
let lang = "en";
let offlineState = "offline-pending";
let trust = null;
let trustNote = null; // a string key: why a list offered by the server was not taken
let fingerprint = "";
let received = null; // ms since the epoch: when the server last gave (or confirmed) the list kept
let refreshFailed = null; // ms since the epoch: when a refresh last failed, if after that
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
  showTrust();
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

function showTrust() {
  const el = document.getElementById("trust-state");
  if (!el) return;
  if (!trust) {
    el.textContent = t("trust-none");
  } else {
    el.textContent = t("trust-state", { network: trust.network, version: trust.sequence, fingerprint });
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
  note.hidden = !trustNote;
  note.textContent = trustNote ? t(trustNote) : "";
  showOffline();
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
  // Three states: valid; not valid, with its reason; cannot check yet (no list: a genuine one looks unknown).
  const state = verdict.valid ? "valid" : verdict.detail === "no-trust-list" ? "unchecked" : "invalid";
  result.dataset.state = state;
  result.className = "result " + state;
  document.getElementById("verdict").textContent = t(state === "unchecked" ? "cannot-check" : state);
  // The reason in words: a finer one where the verifier says more (which key, no list yet...).
  const finer = verdict.detail && strings.en["why-" + verdict.detail] ? "why-" + verdict.detail : null;
  document.getElementById("reason").textContent = t(verdict.valid ? "reason-valid" : finer || "reason-" + verdict.reason);
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  const details = document.getElementById("details");
  details.replaceChildren();
  if (verdict.facts) {
    for (const line of factLines(verdict.facts)) {
      const li = document.createElement("li");
      li.textContent = line;
      facts.appendChild(li);
    }
    const f = verdict.facts;
    for (const text of [
      t("expires", { when: isoTime(f.exp) }),
      t("issued-week", { day: isoTime(f.iat).slice(0, 10) }),
      t("signed-by", { label: f.issuer.label, network: f.issuer.network }),
    ]) {
      const p = document.createElement("p");
      p.textContent = text;
      details.appendChild(p);
    }
  }
}

async function check(text, decodedAt) {
  const started = decodedAt ?? performance.now();
  const cleaned = text.trim();
  document.getElementById("scanned").textContent = cleaned;
  const verdict = await verifier.verify(cleaned, trust, new Date());
  showVerdict(verdict);
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
  verifier = await import("./verify.js?v=" + V);
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
    (text, decodedAt) => check(text, decodedAt),
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
    document.getElementById("paste").value = "";
  });
  document.body.dataset.ready = "true";
  registerWorker();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
