/**
 * The fonts the OCR generator draws with, all from npm packages (never the
 * system), each registered with Skia under a private family name so a system
 * font of the same name can never stand in for it.
 *
 * - default style: Noto Sans (Latin) from @embedpdf/fonts-latin and Noto Sans
 *   Hans (Simplified Chinese, also covering Latin) from @embedpdf/fonts-sc.
 * - heldout style: DejaVu Sans, Sans Condensed, Sans Mono, Serif and Serif
 *   Condensed (Latin) from dejavu-fonts-ttf, and Noto Serif SC (a Song/Ming
 *   serif, also covering Latin) from noto-serif-sc. The latter is a webfont
 *   split into ~100 unicode-range WOFF2 subsets per weight; each subset is
 *   registered as its own family and a text is drawn with the CSS family list
 *   of the subsets its characters need, between which Skia falls back.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { GlobalFonts } from "@napi-rs/canvas";
import { cmapCoverage } from "./_cmap.ts";

/** A registered font and the code points it draws. */
export interface Font {
  /** Private family name to use in `ctx.font` (the first subset's, for a split font). */
  readonly family: string;
  /** The font file, or the folder of a split font's subsets. */
  readonly file: string;
  /** Code points with a glyph (in any subset). */
  readonly coverage: ReadonlySet<number>;
  /** Whether it draws Chinese. */
  readonly cjk: boolean;
  /** A font split into unicode-range files: each file's private family and coverage, in file name order. */
  readonly subsets?: readonly { readonly family: string; readonly coverage: ReadonlySet<number> }[];
}

/** Which set of fonts: the default style's, or the held-out style's (other designs). */
export type FontSet = "default" | "heldout";

const pkg = (p: string) => fileURLToPath(new URL(`../../node_modules/${p}`, import.meta.url));

// Weights a document plausibly uses; the hairline and black cuts are left out.
const FILES: readonly [file: string, cjk: boolean][] = [
  ["@embedpdf/fonts-latin/fonts/NotoSans-Regular.ttf", false],
  ["@embedpdf/fonts-latin/fonts/NotoSans-Medium.ttf", false],
  ["@embedpdf/fonts-latin/fonts/NotoSans-SemiBold.ttf", false],
  ["@embedpdf/fonts-latin/fonts/NotoSans-Bold.ttf", false],
  ["@embedpdf/fonts-latin/fonts/NotoSans-Light.ttf", false],
  ["@embedpdf/fonts-latin/fonts/NotoSans-Italic.ttf", false],
  ["@embedpdf/fonts-sc/fonts/NotoSansHans-Regular.otf", true],
  ["@embedpdf/fonts-sc/fonts/NotoSansHans-Medium.otf", true],
  ["@embedpdf/fonts-sc/fonts/NotoSansHans-Bold.otf", true],
  ["@embedpdf/fonts-sc/fonts/NotoSansHans-DemiLight.otf", true],
];

// Held-out style: other designs. DejaVu's ExtraLight and the bold italics are
// left out; a folder is a split webfont (every .woff2 in it is one subset).
const HELDOUT_FILES: readonly [file: string, cjk: boolean][] = [
  ["dejavu-fonts-ttf/ttf/DejaVuSans.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSans-Oblique.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSansCondensed.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSansCondensed-Bold.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSansMono.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSansMono-Bold.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSerif.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSerif-Bold.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSerif-Italic.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSerifCondensed.ttf", false],
  ["dejavu-fonts-ttf/ttf/DejaVuSerifCondensed-Bold.ttf", false],
  ["noto-serif-sc/noto_serif_sc_light", true],
  ["noto-serif-sc/noto_serif_sc_regular", true],
  ["noto-serif-sc/noto_serif_sc_medium", true],
  ["noto-serif-sc/noto_serif_sc_bold", true],
];

const cache: Partial<Record<FontSet, readonly Font[]>> = {};

/** Registers a style's fonts once and returns them (Latin first). */
export function loadFonts(set: FontSet = "default"): readonly Font[] {
  const cached = cache[set];
  if (cached) return cached;
  const fonts = set === "default"
    ? FILES.map(([rel, cjk], i) => registerFile(rel, `edgeq-ocr-${i}`, cjk))
    : HELDOUT_FILES.map(([rel, cjk], i) => rel.endsWith(".ttf") ? registerFile(rel, `edgeq-ocr-h${i}`, cjk) : registerSplit(rel, `edgeq-ocr-h${i}`, cjk));
  cache[set] = fonts;
  return fonts;
}

// A font Skia failed to load would be silently replaced by a system font (DejaVu often is one).
function register(file: string, family: string): void {
  if (!GlobalFonts.registerFromPath(file, family)) throw new Error(`Skia could not load the font ${file}`);
}

function registerFile(rel: string, family: string, cjk: boolean): Font {
  const file = pkg(rel);
  if (!fs.existsSync(file)) throw new Error(`Cannot find font "${rel}": run npm install`);
  register(file, family);
  return { family, file, coverage: cmapCoverage(fs.readFileSync(file), rel), cjk };
}

function registerSplit(rel: string, family: string, cjk: boolean): Font {
  const dir = pkg(rel);
  if (!fs.existsSync(dir)) throw new Error(`Cannot find font folder "${rel}": run npm install`);
  // Code-point order of the names, so the family list is the same everywhere.
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".woff2")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) throw new Error(`Cannot find font "${rel}/*.woff2": run npm install`);
  const coverage = new Set<number>();
  const subsets = files.map((f, k) => {
    const sub = `${family}-${k}`;
    register(path.join(dir, f), sub);
    const c = cmapCoverage(fs.readFileSync(path.join(dir, f)), `${rel}/${f}`);
    for (const cp of c) coverage.add(cp);
    return { family: sub, coverage: c };
  });
  return { family: subsets[0].family, file: dir, coverage, cjk, subsets };
}

/** Whether `font` has a glyph for every character of `text`. */
export function fontCovers(font: Font, text: string): boolean {
  for (const ch of text) if (!font.coverage.has(ch.codePointAt(0)!)) return false;
  return true;
}

/**
 * The CSS font-family value that draws `text` in `font`: its quoted private
 * family, or for a split font the quoted families of the subsets `text`
 * needs (for each character, the first subset having it), comma-separated.
 * Skia takes each character from the first listed family that has it.
 */
export function fontFamilies(font: Font, text: string): string {
  const subsets = font.subsets;
  if (!subsets) return `"${font.family}"`;
  const used: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (used.some((k) => subsets[k].coverage.has(cp))) continue;
    const k = subsets.findIndex((s) => s.coverage.has(cp));
    if (k < 0) throw new RangeError(`Font ${font.file} has no glyph for "${ch}"`);
    used.push(k);
  }
  return used.map((k) => `"${subsets[k].family}"`).join(", ");
}
