/* CBOR as other issuers write it (EU DCC): any lengths, indefinite ones too, tags and floats; read as
   Python's haven.certs.cbor.loads(data, canonical=False) reads it: exactly one item filling the bytes,
   no duplicate map keys, at most 16 levels deep, text that is UTF-8. Anything else throws Malformed.

   Values: numbers (BigInt beyond 2^53), Uint8Array, strings, arrays, CborMap (looked up like a
   Python dict: 1, 1.0 and true are one key), Tagged, true/false/null, UNDEFINED, Simple. */
const V = new URL(import.meta.url).search;
const { CborMap, Malformed, UNDEFINED, definite } = await import("./verify.js" + V);

const MAX_DEPTH = 16;
const BREAK = Symbol("break");

export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

export class Simple {
  constructor(value) {
    this.value = value;
  }
}

function need(r, n) {
  if (r.i + n > r.b.length) throw new Malformed("short");
}

function argument(r, info) {
  if (info < 24) return info;
  const b = r.b;
  if (info === 24) {
    need(r, 1);
    return b[r.i++];
  }
  if (info === 25) {
    need(r, 2);
    const v = (b[r.i] << 8) | b[r.i + 1];
    r.i += 2;
    return v;
  }
  if (info === 26) {
    need(r, 4);
    const v = ((b[r.i] << 24) >>> 0) + (b[r.i + 1] << 16) + (b[r.i + 2] << 8) + b[r.i + 3];
    r.i += 4;
    return v;
  }
  if (info === 27) {
    need(r, 8);
    let big = 0n;
    for (let k = 0; k < 8; k++) big = (big << 8n) | BigInt(b[r.i + k]);
    r.i += 8;
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  throw new Malformed("reserved length");
}

function half(bits) {
  const exponent = (bits >> 10) & 31;
  const fraction = bits & 1023;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function chunks(r, major, depth) {
  // An indefinite byte or text string: definite chunks of the same kind, then a break.
  const parts = [];
  for (;;) {
    need(r, 1);
    if (r.b[r.i] === 0xff) {
      r.i += 1;
      break;
    }
    const first = r.b[r.i];
    if (first >> 5 !== major || (first & 31) === 31) throw new Malformed("a chunk of another kind");
    parts.push(item(r, depth + 1));
  }
  if (major === 3) return parts.join("");
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function item(r, depth, breakAllowed = false) {
  if (depth > MAX_DEPTH) throw new Malformed("too deep");
  need(r, 1);
  const first = r.b[r.i++];
  const major = first >> 5;
  const info = first & 31;
  if (info === 31) {
    if (major === 7) {
      if (breakAllowed) return BREAK;
      throw new Malformed("a break outside an indefinite item");
    }
    if (major === 2 || major === 3) return chunks(r, major, depth);
    if (major === 4) {
      const out = [];
      for (let v = item(r, depth + 1, true); v !== BREAK; v = item(r, depth + 1, true)) out.push(v);
      return out;
    }
    if (major === 5) return mapBody(r, depth, Infinity);
    throw new Malformed("indefinite length");
  }
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return UNDEFINED;
    if (info === 24) {
      need(r, 1);
      const v = r.b[r.i++];
      if (v < 32) throw new Malformed("simple value");
      return new Simple(v);
    }
    if (info < 20) return new Simple(info);
    const size = { 25: 2, 26: 4, 27: 8 }[info];
    if (!size) throw new Malformed("reserved");
    need(r, size);
    const view = new DataView(r.b.buffer, r.b.byteOffset + r.i, size);
    r.i += size;
    return size === 2 ? half(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0);
  }
  const value = argument(r, info);
  switch (major) {
    case 0:
      return value;
    case 1:
      return typeof value === "bigint" ? -1n - value : -1 - value;
    case 2:
    case 3:
    case 4:
      return definite(r, major, value, () => item(r, depth + 1));
    case 5:
      if (typeof value === "bigint" || value > r.b.length - r.i) throw new Malformed("short");
      return mapBody(r, depth, value);
    default:
      return new Tagged(value, item(r, depth + 1));
  }
}

function mapBody(r, depth, count) {
  const map = new CborMap();
  for (let k = 0; k < count; k++) {
    const key = item(r, depth + 1, count === Infinity);
    if (key === BREAK) break;
    const v = item(r, depth + 1);
    map.set(key, v);
  }
  return map;
}

/** Exactly one CBOR item filling all of ``bytes`` (see the top of this file). */
export function decodeAny(bytes) {
  const reader = { b: bytes, i: 0 };
  const value = item(reader, 0);
  if (reader.i !== bytes.length) throw new Malformed("trailing bytes");
  return value;
}
