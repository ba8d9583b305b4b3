/**
 * Which code points a TrueType/OpenType font maps to a glyph, read from its
 * `cmap` table. Text is only drawn in a font that covers every character:
 * otherwise Skia silently falls back to a system font, and the render would
 * depend on the machine.
 *
 * @module
 */
import * as zlib from "node:zlib";

/** Code points with a non-zero glyph in the font file `bytes` (a .ttf, .otf or .woff2). */
export function cmapCoverage(bytes: Uint8Array, file: string): Set<number> {
  if (tag(bytes, 0) === "wOF2") {
    const { stream, cmap } = woff2Cmap(bytes, file);
    return cmapTable(stream, cmap, file);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numTables = v.getUint16(4);
  let cmap = -1;
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    if (tag(bytes, rec) === "cmap") cmap = v.getUint32(rec + 8);
  }
  if (cmap < 0) throw new Error(`Cannot read font "${file}": no cmap table`);
  return cmapTable(bytes, cmap, file);
}

const tag = (bytes: Uint8Array, at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));

// WOFF2's known table tags, indexed by the low 6 bits of a directory entry's flags (63: tag follows).
const WOFF2_TAGS = (
  "cmap head hhea hmtx maxp name OS/2 post cvt_ fpgm glyf loca prep CFF_ VORG EBDT EBLC gasp hdmx kern LTSH " +
  "PCLT VDMX vhea vmtx BASE GDEF GPOS GSUB EBSC JSTF MATH CBDT CBLC COLR CPAL SVG_ sbix acnt avar bdat bloc " +
  "bsln cvar fdsc feat fmtx fvar gvar hsty just lcar mort morx opbd prop trak Zapf Silf Glat Gloc Feat Sill"
).split(" ").map((t) => t.replace("_", " "));

/**
 * The decompressed table stream of a WOFF2 file and the offset of its `cmap`
 * table in it. WOFF2 is a 48-byte header, a table directory (flags, optional
 * tag, UIntBase128 lengths) and one Brotli stream holding the tables back to
 * back; only glyf, loca and hmtx are ever transformed, so cmap's bytes there
 * are the sfnt table itself.
 */
function woff2Cmap(bytes: Uint8Array, file: string): { stream: Uint8Array; cmap: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag(bytes, 4) === "ttcf") throw new Error(`Cannot read font "${file}": WOFF2 font collections are not supported`);
  const numTables = v.getUint16(12);
  const compressed = v.getUint32(20);
  let at = 48;
  const base128 = (): number => {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = bytes[at++];
      if (i === 0 && b === 0x80) break; // leading zeros are invalid
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return value;
    }
    throw new Error(`Cannot read font "${file}": bad UIntBase128 in the WOFF2 table directory`);
  };
  let offset = 0, cmap = -1;
  for (let i = 0; i < numTables; i++) {
    const flags = bytes[at++];
    const known = flags & 0x3f;
    const name = known === 63 ? tag(bytes, (at += 4) - 4) : WOFF2_TAGS[known];
    const version = flags >> 6;
    const origLength = base128();
    // glyf and loca are transformed unless version 3; any other table unless version 0.
    const transformed = name === "glyf" || name === "loca" ? version !== 3 : version !== 0;
    const length = transformed ? base128() : origLength;
    if (name === "cmap") {
      if (transformed) throw new Error(`Cannot read font "${file}": transformed WOFF2 cmap table`);
      cmap = offset;
    }
    offset += length;
  }
  if (cmap < 0) throw new Error(`Cannot read font "${file}": no cmap table`);
  const stream = new Uint8Array(zlib.brotliDecompressSync(bytes.subarray(at, at + compressed)));
  if (stream.length < offset) throw new Error(`Cannot read font "${file}": WOFF2 stream shorter than its tables`);
  return { stream, cmap };
}

/** Code points with a non-zero glyph in the cmap table at byte `cmap` of `bytes`. */
function cmapTable(bytes: Uint8Array, cmap: number, file: string): Set<number> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
