/**
 * Which code points a TrueType/OpenType font maps to a glyph, read from its
 * `cmap` table. Text is only drawn in a font that covers every character:
 * otherwise Skia silently falls back to a system font, and the render would
 * depend on the machine.
 *
 * @module
 */

/** Code points with a non-zero glyph in the font file `bytes` (a .ttf or .otf). */
export function cmapCoverage(bytes: Uint8Array, file: string): Set<number> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numTables = v.getUint16(4);
  let cmap = -1;
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    if (String.fromCharCode(...bytes.subarray(rec, rec + 4)) === "cmap") cmap = v.getUint32(rec + 8);
  }
  if (cmap < 0) throw new Error(`Cannot read font "${file}": no cmap table`);
  // Prefer a full-Unicode subtable (format 12), else the BMP one (format 4).
  let best = -1;
  let bestFormat = 0;
  const count = v.getUint16(cmap + 2);
  for (let i = 0; i < count; i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = v.getUint16(rec);
    const encoding = v.getUint16(rec + 2);
    const offset = cmap + v.getUint32(rec + 4);
    const format = v.getUint16(offset);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (unicode && (format === 12 || (format === 4 && bestFormat !== 12))) {
      best = offset;
      bestFormat = format;
    }
  }
  if (best < 0) throw new Error(`Cannot read font "${file}": no Unicode cmap subtable of format 4 or 12`);
  return bestFormat === 12 ? format12(v, best) : format4(v, best);
}

function format12(v: DataView, at: number): Set<number> {
  const out = new Set<number>();
  const groups = v.getUint32(at + 12);
  for (let g = 0; g < groups; g++) {
    const rec = at + 16 + 12 * g;
    const start = v.getUint32(rec);
    const end = v.getUint32(rec + 4);
    const glyph = v.getUint32(rec + 8);
    for (let c = start; c <= end; c++) if (glyph + (c - start) !== 0) out.add(c);
  }
  return out;
}

function format4(v: DataView, at: number): Set<number> {
  const out = new Set<number>();
  const segs = v.getUint16(at + 6) / 2;
  const ends = at + 14;
  const starts = ends + 2 * segs + 2;
  const deltas = starts + 2 * segs;
  const ranges = deltas + 2 * segs;
  for (let s = 0; s < segs; s++) {
    const start = v.getUint16(starts + 2 * s);
    const end = v.getUint16(ends + 2 * s);
    const delta = v.getUint16(deltas + 2 * s);
    const rangeAt = ranges + 2 * s;
    const range = v.getUint16(rangeAt);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let glyph: number;
      if (range === 0) glyph = (c + delta) & 0xffff;
      else {
        const g = v.getUint16(rangeAt + range + 2 * (c - start));
        glyph = g === 0 ? 0 : (g + delta) & 0xffff;
      }
      if (glyph !== 0) out.add(c);
    }
  }
  return out;
}
