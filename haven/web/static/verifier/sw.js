/* The verifier's service worker: keeps the verifier and everything it needs for offline use.
   Pages and assets: cache first (refreshed when the app's assets change: the cache is named
   after their hash). The trust list: network first, the cached copy when offline. */
const CACHE = "haven-verify-__VERSION__";
const ASSETS = [
  "/verify",
  "/static/css/haven.css",
  "/static/icon.svg",
  "/static/vendor/jsQR.min.js",
  "/static/js/scanner.js",
  "/static/verifier/app.js",
  "/static/verifier/verify.js",
  "/static/verifier/strings.json",
];
const TRUST_LIST = "/api/trust-list";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => Promise.all(ASSETS.map((url) => fetch(url, { cache: "reload" }).then((r) => {
        if (!r.ok) throw new Error(url + " " + r.status);
        return cache.put(url, r);
      }))))
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
  if (url.pathname === TRUST_LIST) {
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(TRUST_LIST, copy));
          }
          return response;
        })
        .catch(() => caches.match(TRUST_LIST).then((hit) => hit || new Response(null, { status: 503 })))
    );
    return;
  }
  if (ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(event.request)));
  }
});
