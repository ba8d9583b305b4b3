/**
 * Writes labelled OCR data for the three PaddleOCR models, deterministically
 * (same seed → same bytes), as folders src/data reads: `000000.npy`, … (one
 * float32 C-order sample each, batch dim 1) and `labels.json` (file name →
 * label), one folder per task and split:
 *
 *   OUT/rec/{calib,eval}   [1,3,48,320] line crops, label = text
 *   OUT/cls/{calib,eval}   [1,3,48,192] line crops, label = "0" | "180"
 *   OUT/det/{calib,eval}   [1,3,S,S] pages, label = { boxes: [x0,y0,x1,y1][], texts }
 *   OUT/preview/<task>/    a few of the renders as PNG, for a person to look at
 *   OUT/manifest.json      the options used
 *
 *   node --import tsx bench/ocr/generate.ts --out DIR [--style default|heldout] [--seed S]
 *     [--calib N] [--eval M] [--det-calib N] [--det-eval M] [--det-size S] [--png K]
 *     [--tasks rec,cls,det]
 *
 * Defaults: style default, seed 1, calib 512 (rec, cls) and 64 (det), eval
 * 300 and 50, det pages 320×320, 8 previews per task and split. Style
 * heldout (other text, other fonts: see samples.ts) defaults to seed 7 and
 * eval 600 (rec, cls) and 60 (det), calib as above.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createCanvas } from "@napi-rs/canvas";
import { encodeNpy } from "../../src/data/npy.ts";
import type { Image } from "./render.ts";
import { clsSample, detSample, recSample, STYLES, type Labelled, type Split, type Style } from "./samples.ts";

/** Sample counts and options; every field has the default given in the module doc. */
export interface GenerateOptions {
  out: string;
  style: Style;
  seed: number;
  calib: number;
  eval: number;
  detCalib: number;
  detEval: number;
  detSize: number;
  png: number;
  tasks: readonly Task[];
}

/** The three PaddleOCR models' tasks. */
export type Task = "rec" | "cls" | "det";

const DEFAULTS: Omit<GenerateOptions, "out"> = {
  style: "default",
  seed: 1,
  calib: 512,
  eval: 300,
  detCalib: 64,
  detEval: 50,
  detSize: 320,
  png: 8,
  tasks: ["rec", "cls", "det"],
};

/** What a style changes in {@linkcode DEFAULTS}. */
const STYLE_DEFAULTS: Record<Style, Partial<GenerateOptions>> = {
  default: {},
  heldout: { seed: 7, eval: 600, detEval: 60 },
};

/**
 * Generates every requested task and split under `options.out`; returns
 * seconds spent per `task/split`.
 *
 * @example
 * ```ts
 * await generate({ out: "bench/.data/ocr", calib: 64, eval: 50 });
 * ```
 */
export function generate(options: Partial<GenerateOptions> & { out: string }): Record<string, number> {
  const o: GenerateOptions = { ...DEFAULTS, ...STYLE_DEFAULTS[options.style ?? DEFAULTS.style], ...options };
  const makers: Record<Task, (split: Split, i: number) => Labelled<unknown>> = {
    rec: (s, i) => recSample(o.seed, s, i, o.style),
    cls: (s, i) => clsSample(o.seed, s, i, o.style),
    det: (s, i) => detSample(o.seed, s, i, o.detSize, o.style),
  };
  const seconds: Record<string, number> = {};
  for (const task of o.tasks) {
    for (const split of ["calib", "eval"] as const) {
      const count = task === "det" ? (split === "calib" ? o.detCalib : o.detEval) : (split === "calib" ? o.calib : o.eval);
      const t0 = performance.now();
      writeSplit(path.join(o.out, task, split), path.join(o.out, "preview", task), split, count, o.png, (i) => makers[task](split, i));
      seconds[`${task}/${split}`] = (performance.now() - t0) / 1000;
    }
  }
  // The default style's manifest stays as it was before styles existed (same bytes).
  const { out: _out, style, ...rest } = o;
  const manifest = { generator: "bench/ocr/generate.ts", ...(style === "default" ? {} : { style }), ...rest };
  fs.writeFileSync(path.join(o.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return seconds;
}

function writeSplit(dir: string, previews: string, split: Split, count: number, png: number, make: (i: number) => Labelled<unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  // Clear what an earlier, larger run left, and nothing else.
  for (const f of fs.readdirSync(dir)) if (/^\d{6}\.npy$/.test(f) || f === "labels.json") fs.rmSync(path.join(dir, f));
  const labels: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const { image, sample, label } = make(i);
    const name = `${String(i).padStart(6, "0")}.npy`;
    fs.writeFileSync(path.join(dir, name), encodeNpy(sample.dims, sample.data));
    labels[name] = label;
    if (i < png) {
      fs.mkdirSync(previews, { recursive: true });
      fs.writeFileSync(path.join(previews, `${split}_${name.replace(".npy", ".png")}`), toPng(image));
    }
  }
  fs.writeFileSync(path.join(dir, "labels.json"), JSON.stringify(labels, null, 1) + "\n");
}

/** PNG bytes of an RGBA image. */
export function toPng(image: Image): Uint8Array {
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(image.width, image.height);
  data.data.set(image.data);
  ctx.putImageData(data, 0, 0);
  return canvas.toBuffer("image/png");
}

function parseArgs(argv: readonly string[]): Partial<GenerateOptions> & { out: string } {
  const opts: Partial<GenerateOptions> = {};
  let out: string | undefined;
  const ints: Record<string, keyof GenerateOptions> = {
    "--seed": "seed", "--calib": "calib", "--eval": "eval", "--det-calib": "detCalib",
    "--det-eval": "detEval", "--det-size": "detSize", "--png": "png",
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i], value = argv[++i];
    if (value === undefined) throw new RangeError(`Option ${flag} needs a value`);
    if (flag === "--out") out = value;
    else if (flag === "--style") {
      if (!(STYLES as readonly string[]).includes(value)) throw new RangeError(`Unknown style "${value}": use ${STYLES.join(", ")}`);
      opts.style = value as Style;
    } else if (flag === "--tasks") {
      const tasks = value.split(",");
      for (const t of tasks) if (!["rec", "cls", "det"].includes(t)) throw new RangeError(`Unknown task "${t}": use rec, cls, det`);
      opts.tasks = tasks as Task[];
    } else if (flag in ints) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`Option ${flag} needs a non-negative integer, got "${value}"`);
      (opts as Record<string, number>)[ints[flag]] = n;
    } else throw new RangeError(`Unknown option ${flag}`);
  }
  if (!out) throw new RangeError("Missing --out DIR");
  return { ...opts, out };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = performance.now();
    const seconds = generate(opts);
    for (const [k, s] of Object.entries(seconds)) console.error(`${k}: ${s.toFixed(1)} s`);
    console.error(`Wrote ${opts.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(err instanceof RangeError ? err.message : err);
    process.exit(2);
  }
}
