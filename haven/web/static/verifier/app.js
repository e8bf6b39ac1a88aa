/* The verifier page: scan or paste, verify in the browser, show the verdict in the page's language. */
// Asset URLs carry the assets' hash (html[data-v]): the service worker caches exactly these.
const V = document.documentElement.dataset.v || "";
let verify = null;

const LANGS = ["en", "ko", "zh"];
const HTML_LANG = { en: "en", ko: "ko", zh: "zh-Hans" };
const TRUST_LIST_URL = "/api/trust-list";
let strings = {};
let lang = "en";
let offlineState = "offline-pending";

function pickLanguage() {
  const saved = localStorage.getItem("haven-verify-lang");
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

function t(key) {
  return (strings[lang] && strings[lang][key]) || strings.en[key] || key;
}

function applyLanguage(next) {
  lang = next;
  document.documentElement.lang = HTML_LANG[lang];
  document.title = t("title") + " · Haven";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const b of document.querySelectorAll(".lang-button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  document.getElementById("offline-state").textContent = t(offlineState);
  const result = document.getElementById("result");
  if (!result.hidden && result.dataset.reason) showVerdict(JSON.parse(result.dataset.verdict));
}

async function cachedTrustList() {
  try {
    const response = await fetch(TRUST_LIST_URL);
    if (!response.ok) return null;
    return new Uint8Array(await response.arrayBuffer());
  } catch {
    return null;
  }
}

function showVerdict(verdict) {
  const result = document.getElementById("result");
  result.hidden = false;
  result.dataset.verdict = JSON.stringify(verdict);
  result.dataset.reason = verdict.valid ? "valid" : verdict.reason;
  result.className = "result " + (verdict.valid ? "valid" : "invalid");
  document.getElementById("verdict").textContent = t(verdict.valid ? "valid" : "invalid");
  document.getElementById("reason").textContent = t("reason-" + (verdict.valid ? "valid" : verdict.reason));
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  for (const fact of verdict.facts || []) {
    const li = document.createElement("li");
    li.textContent = Object.entries(fact)
      .map(([k, v]) => k + ": " + v)
      .join(", ");
    facts.appendChild(li);
  }
}

async function check(text, decodedAt) {
  const started = decodedAt ?? performance.now();
  document.getElementById("scanned").textContent = text;
  const trustList = await cachedTrustList();
  const verdict = await verify(text, trustList, new Date());
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
  document.getElementById("offline-state").textContent = t(offlineState);
}

async function main() {
  ({ verify } = await import("./verify.js?v=" + V));
  strings = await (await fetch("/static/verifier/strings.json?v=" + V)).json();
  applyLanguage(pickLanguage());
  for (const b of document.querySelectorAll(".lang-button")) {
    b.addEventListener("click", () => {
      localStorage.setItem("haven-verify-lang", b.dataset.lang);
      applyLanguage(b.dataset.lang);
    });
  }
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
