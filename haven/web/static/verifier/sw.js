/* The verifier's service worker: keeps the verifier and everything it needs for offline use.
   Assets: cache first (refreshed when the app's assets change: the cache is named after their
   hash); the page: network first, the cached copy offline. The trust list and the foreign issuers are
   not cached here: the page verifies them and keeps the last good ones itself (localStorage), pinned to
   its root, so that no older copy can replace a newer one. */
const VERSION = "__VERSION__";
const CACHE = "haven-verify-" + VERSION;
// Versioned URLs never change content, so the install may take them from the HTTP cache the page
// just filled (no second download); the page itself is revalidated.
const ASSETS = [
  "/static/css/haven.css",
  "/static/icon.svg",
  "/static/vendor/jsQR.min.js",
  "/static/js/scanner.js",
  "/static/verifier/app.js",
  "/static/verifier/verify.js",
  "/static/verifier/cbor.js",
  "/static/verifier/inflate.js",
  "/static/verifier/eudcc.js",
  "/static/verifier/shc.js",
  "/static/verifier/foreign-trust.js",
  "/static/verifier/formats.js",
  "/static/verifier/seen.js",
  "/static/verifier/strings.json",
  "/static/verifier/catalogue.json",
].map((path) => path + "?v=" + VERSION);
const PAGE = "/verify";
const OFFLINE = [PAGE, ...ASSETS];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(OFFLINE))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("haven-verify-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = url.pathname + url.search;
  if (key === PAGE) {
    // The page: the network when there is one (a new version shows at once), else the cached copy.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(PAGE, copy));
          }
          return response;
        })
        .catch(() => caches.match(PAGE))
    );
  } else if (ASSETS.includes(key)) {
    event.respondWith(caches.match(key).then((hit) => hit || fetch(event.request)));
  }
});
