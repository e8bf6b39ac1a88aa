/* Codes this phone has already checked: each certificate code is meant to be shown once, so a code seen
   again may have been copied. Kept only on this phone (localStorage), never sent: a digest of the code
   (SHA-256, first 16 bytes, hex), never the code, with when it was first seen here. Bounded: entries
   older than a certificate can live are dropped, and at most MAX are kept. */
const KEY = "haven-verify-seen";
const MAX = 5000;
const KEEP_MS = 2 * 366 * 86400000; // longer than any certificate's validity

async function digest(text) {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text.trim())));
  return Array.from(bytes.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

function read() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "{}");
    return saved && typeof saved === "object" && !Array.isArray(saved) ? saved : {};
  } catch {
    return {};
  }
}

/** Note the code as seen now; answer when this phone first saw it (ms since the epoch), or null. */
export async function markSeen(text, now = Date.now()) {
  const id = await digest(text);
  const seen = read();
  const first = Number.isFinite(seen[id]) ? seen[id] : null;
  if (first === null) seen[id] = now;
  const kept = Object.entries(seen)
    .filter(([, when]) => Number.isFinite(when) && now - when < KEEP_MS)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    // storage full or refused: the check itself still works
  }
  return first;
}

/** How many codes this phone remembers. */
export function countSeen() {
  return Object.keys(read()).length;
}

/** Forget every code seen on this phone. */
export function clearSeen() {
  localStorage.removeItem(KEY);
}
