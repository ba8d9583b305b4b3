/**
 * Draws OCR samples with Skia (@napi-rs/canvas): text-line crops shaped like
 * the ones PaddleOCR's detector hands its recognizer (dark text on a light,
 * slightly tinted and noisy background, a margin of a fraction of the font
 * size), and small pages of such lines with their ink boxes for the detector.
 * Every random choice comes from the `Rng` passed in.
 *
 * @module
 */
import { createCanvas, type Canvas, type SKRSContext2D } from "@napi-rs/canvas";
import type { Rng } from "./_prng.ts";
import { fontFamilies, type Font } from "./fonts.ts";

/** An RGBA image, 8 bits per channel, rows top to bottom. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

/** An axis-aligned box in pixels: `[x0, y0, x1, y1]`, end exclusive. */
export type Box = [number, number, number, number];

/** A text line placed on a page. */
export interface PageLine {
  readonly text: string;
  readonly box: Box;
}

// One scratch canvas for measuring ink, grown as needed.
let scratch: Canvas | undefined;

/** The ink box of `text` drawn with its baseline origin at (0, 0), in whole pixels. */
function inkBox(text: string, font: string, size: number): Box | null {
  scratch ??= createCanvas(256, 128);
  let ctx = scratch.getContext("2d");
  ctx.font = font;
  // The advance plus a font size each side holds any overhang of the ink.
  const w = Math.ceil(ctx.measureText(text).width + 2 * size);
  const h = Math.ceil(size * 2.5);
  if (scratch.width < w || scratch.height < h) {
    scratch = createCanvas(Math.max(w, scratch.width), Math.max(h, scratch.height));
    ctx = scratch.getContext("2d");
  }
  ctx.clearRect(0, 0, w, h);
  ctx.font = font;
  ctx.fillStyle = "#000";
  const ox = size, oy = Math.ceil(size * 1.5);
  ctx.fillText(text, ox, oy);
  const { data } = ctx.getImageData(0, 0, w, h);
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[(y * w + x) * 4 + 3] > 24) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0 - ox, y0 - oy, x1 + 1 - ox, y1 + 1 - oy];
}

const css = (rgb: readonly number[]) => `rgb(${rgb.map((v) => Math.round(v)).join(",")})`;

/** A light paper-like colour. */
function paper(rng: Rng): number[] {
  const base = rng.uniform(195, 255);
  return [0, 1, 2].map(() => Math.min(255, base + rng.uniform(-10, 10)));
}

// Tints (R, G, B offsets) of the held-out look's papers: white, cream
// (receipts, old paper), cool grey-blue (recycled, coated), light green.
const TINTS = [[0, 0, 0], [10, 5, -14], [-8, -2, 8], [-4, 6, -4]] as const;

/** The held-out look's paper: a tint of a somewhat wider range of greys. */
function tintedPaper(rng: Rng): number[] {
  const base = rng.uniform(188, 250);
  const tint = rng.pick(TINTS), k = rng.uniform(0.5, 1.5);
  return [0, 1, 2].map((c) => Math.min(255, Math.max(0, base + k * tint[c] + rng.uniform(-6, 6))));
}

/** How backgrounds and noise are drawn; a style of data picks one. */
export interface Look {
  /** A light background colour. */
  readonly paper: (rng: Rng) => number[];
  /** Largest noise sigma of a line crop, and of a detector page. */
  readonly lineNoise: number;
  readonly pageNoise: number;
}

/** The default style's look. */
export const DEFAULT_LOOK: Look = { paper, lineNoise: 8, pageNoise: 6 };
/** The held-out style's look: tinted papers, a little more noise. */
export const HELDOUT_LOOK: Look = { paper: tintedPaper, lineNoise: 10, pageNoise: 8 };

/** A dark ink colour, now and then blue, red or green rather than grey. */
function ink(rng: Rng): number[] {
  const base = rng.uniform(0, 70);
  if (!rng.chance(0.25)) return [base, base, base];
  const hue = rng.int(0, 2);
  return [0, 1, 2].map((c) => (c === hue ? base + rng.uniform(60, 120) : base));
}

function fillBackground(ctx: SKRSContext2D, rng: Rng, w: number, h: number, paperOf: (rng: Rng) => number[]): void {
  const a = paperOf(rng);
  if (rng.chance(0.3)) {
    const g = rng.chance(0.5) ? ctx.createLinearGradient(0, 0, w, 0) : ctx.createLinearGradient(0, 0, 0, h);
    g.addColorStop(0, css(a));
    g.addColorStop(1, css(paperOf(rng)));
    ctx.fillStyle = g;
  } else {
    ctx.fillStyle = css(a);
  }
  ctx.fillRect(0, 0, w, h);
}

/** Reads the canvas back and adds grey Gaussian noise (sigma up to `maxSigma`). */
function withNoise(canvas: Canvas, rng: Rng, maxSigma: number): Image {
  const { width, height } = canvas;
  const { data } = canvas.getContext("2d").getImageData(0, 0, width, height);
  const sigma = rng.uniform(0, maxSigma);
  if (sigma > 0.5) {
    for (let i = 0; i < data.length; i += 4) {
      const n = rng.normal() * sigma;
      data[i] += n;
      data[i + 1] += n;
      data[i + 2] += n;
    }
  }
  return { width, height, data };
}

/**
 * A text-line crop of `text` in `font`, or `null` when the text draws no ink.
 * The crop's margins mimic PaddleOCR's unclipped detector boxes.
 */
export function renderLine(rng: Rng, text: string, font: Font, look: Look = DEFAULT_LOOK): Image | null {
  const size = rng.int(14, 40);
  const spec = `${size}px ${fontFamilies(font, text)}`;
  const box = inkBox(text, spec, size);
  if (!box) return null;
  const [left, right] = [rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5)].map((f) => Math.round(f * size));
  const [top, bottom] = [rng.uniform(0.08, 0.3), rng.uniform(0.08, 0.3)].map((f) => Math.round(f * size));
  const w = box[2] - box[0] + left + right;
  const h = box[3] - box[1] + top + bottom;
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext("2d");
  fillBackground(ctx, rng, w, h, look.paper);
  ctx.font = spec;
  ctx.fillStyle = css(ink(rng));
  ctx.fillText(text, left - box[0], top - box[1]);
  return withNoise(canvas, rng, look.lineNoise);
}

/**
 * A `size`×`size` page of text lines stacked top to bottom at random left
 * offsets, each with its ink box. `nextLine` proposes a text and font; lines
 * too wide for the page are skipped.
 */
export function renderPage(rng: Rng, size: number, nextLine: () => { text: string; font: Font }, look: Look = DEFAULT_LOOK): { image: Image; lines: PageLine[] } {
  const canvas = createCanvas(size, size);
  const ctx = canvas.getContext("2d");
  fillBackground(ctx, rng, size, size, look.paper);
  if (rng.chance(0.3)) {
    // A tinted panel behind part of the text, as forms and receipts have.
    ctx.fillStyle = css(look.paper(rng));
    const x = rng.int(0, size / 2), y = rng.int(0, size / 2);
    ctx.fillRect(x, y, rng.int(size / 4, size - x), rng.int(size / 4, size - y));
  }
  const margin = Math.round(size * 0.03);
  const lines: PageLine[] = [];
  let y = margin + rng.int(0, Math.round(size * 0.08));
  for (let tries = 0; tries < 40; tries++) {
    const { text, font } = nextLine();
    const px = rng.int(18, 36);
    const spec = `${px}px ${fontFamilies(font, text)}`;
    const b = inkBox(text, spec, px);
    if (!b) continue;
    const w = b[2] - b[0], h = b[3] - b[1];
    if (w > size - 2 * margin) continue;
    if (y + h > size - margin) break;
    const x = rng.int(margin, size - margin - w);
    ctx.font = spec;
    ctx.fillStyle = css(ink(rng));
    ctx.fillText(text, x - b[0], y - b[1]);
    lines.push({ text, box: [x, y, x + w, y + h] });
    y += h + Math.round(px * rng.uniform(0.5, 1.4));
  }
  return { image: withNoise(canvas, rng, look.pageNoise), lines };
}
