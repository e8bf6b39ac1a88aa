/* Decompression with the browser's own DecompressionStream ("deflate": zlib, for EU DCCs; "deflate-raw",
   for SMART Health Cards), as Python's zlib reads them: the whole stream, nothing after its end, at most
   ``max`` bytes out (more is a zip bomb). Returns null for anything else. */
export async function inflate(bytes, format, max) {
  let reader;
  try {
    reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  } catch {
    return null;
  }
  const parts = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        reader.cancel().catch(() => {});
        return null;
      }
      parts.push(value);
    }
  } catch {
    return null; // broken, cut short, or bytes after the end of the stream
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
