/**
 * The fonts the OCR generator draws with, all from npm packages (never the
 * system): Noto Sans (Latin) from @embedpdf/fonts-latin and Noto Sans Hans
 * (Simplified Chinese, also covering Latin) from @embedpdf/fonts-sc. Each is
 * registered with Skia under a private family name so a system font of the
 * same name can never stand in for it.
 *
 * @module
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { GlobalFonts } from "@napi-rs/canvas";
import { cmapCoverage } from "./_cmap.ts";

/** A registered font and the code points it draws. */
export interface Font {
  /** Private family name to use in `ctx.font`. */
  readonly family: string;
  readonly file: string;
  /** Code points with a glyph. */
  readonly coverage: ReadonlySet<number>;
  /** Whether it draws Chinese. */
  readonly cjk: boolean;
}

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

let cache: readonly Font[] | undefined;

/** Registers the generator's fonts once and returns them (Latin first). */
export function loadFonts(): readonly Font[] {
  if (cache) return cache;
  cache = FILES.map(([rel, cjk], i) => {
    const file = pkg(rel);
    if (!fs.existsSync(file)) throw new Error(`Cannot find font "${rel}": run npm install`);
    const family = `edgeq-ocr-${i}`;
    GlobalFonts.registerFromPath(file, family);
    return { family, file, coverage: cmapCoverage(fs.readFileSync(file), rel), cjk };
  });
  return cache;
}

/** Whether `font` has a glyph for every character of `text`. */
export function fontCovers(font: Font, text: string): boolean {
  for (const ch of text) if (!font.coverage.has(ch.codePointAt(0)!)) return false;
  return true;
}
