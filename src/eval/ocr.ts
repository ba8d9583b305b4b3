/**
 * Task metrics for PaddleOCR's three models, as {@linkcode TaskMetric}
 * plug-ins: the recognizer's exact match and character accuracy (greedy CTC
 * decoding over the model's key file), the direction classifier's accuracy,
 * and the text detector's box precision/recall/F1 at IoU 0.5 and pixel F1.
 *
 * @module
 */
import type { TensorValue } from "../runtime/types.ts";
import type { MetricFactory, TaskMetric } from "./types.ts";

/** An axis-aligned box in input pixels: `[x0, y0, x1, y1]`, end exclusive. */
export type Box = readonly [number, number, number, number];

/** The label of one detector sample: the ink box of every text line. */
export interface DetLabel {
  readonly boxes: readonly Box[];
}

/** The label of one classifier sample: how far the line is rotated. */
export type ClsLabel = "0" | "180";

/**
 * The recognizer's classes from its key file, as PaddleOCR's CTCLabelDecode
 * builds them: index 0 is the CTC blank, then one class per dictionary line,
 * then a space when `useSpaceChar` (PP-OCR's default). For ppocr_keys_v1.txt
 * that is 1 + 6623 + 1 = 6625, the recognizer's output width.
 *
 * @example
 * ```ts
 * ctcClasses("a\nb\n"); // ["", "a", "b", " "]
 * ```
 */
export function ctcClasses(dictionary: string, useSpaceChar = true): string[] {
  const lines = dictionary.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop(); // a final newline ends the last line, it adds no key
  return ["", ...lines, ...(useSpaceChar ? [" "] : [])];
}

/**
 * Greedy CTC decoding of one sequence: the best class per time step, repeats
 * merged, blanks (class 0) dropped. `scores` holds `steps` rows of
 * `classes.length` scores from `offset` on.
 *
 * @example
 * ```ts
 * const classes = ctcClasses("a\nb"); // ["", "a", "b", " "]: the blank first, the space last
 * ctcGreedyDecode(scores, 40, classes); // best class per step, repeats and blanks dropped
 * ```
 */
export function ctcGreedyDecode(scores: Float32Array, steps: number, classes: readonly string[], offset = 0): string {
  const n = classes.length;
  let text = "";
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * n;
    let best = 0;
    for (let c = 1; c < n; c++) if (scores[row + c] > scores[row + best]) best = c;
    if (best !== 0 && best !== prev) text += classes[best];
    prev = best;
  }
  return text;
}

/**
 * Levenshtein distance between `a` and `b`, counted in code points.
 *
 * @example
 * ```ts
 * editDistance("kitten", "sitting"); // 3
 * ```
 */
export function editDistance(a: string, b: string): number {
  const x = Array.from(a), y = Array.from(b);
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[y.length];
}

/**
 * Intersection over union of two boxes (0 when either is empty).
 *
 * @example
 * ```ts
 * iou([0, 0, 2, 2], [1, 1, 3, 3]); // 1/7
 * ```
 */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * How many predicted boxes match a distinct true box with IoU ≥ `threshold` (greedy, best pairs first).
 *
 * @example
 * ```ts
 * matchBoxes([[0, 0, 10, 10]], [[1, 0, 10, 10], [20, 20, 30, 30]]); // 1
 * ```
 */
export function matchBoxes(predicted: readonly Box[], truth: readonly Box[], threshold = 0.5): number {
  const pairs: [number, number, number][] = [];
  predicted.forEach((p, i) => truth.forEach((t, j) => {
    const v = iou(p, t);
    if (v >= threshold) pairs.push([v, i, j]);
  }));
  pairs.sort((a, b) => b[0] - a[0]);
  const usedP = new Set<number>(), usedT = new Set<number>();
  for (const [, i, j] of pairs) {
    if (usedP.has(i) || usedT.has(j)) continue;
    usedP.add(i);
    usedT.add(j);
  }
  return usedP.size;
}

/** Options of PaddleOCR's DB post-processing, with PP-OCRv4's defaults. */
export interface DbOptions {
  /** Probability above which a pixel is text. @default 0.3 */
  thresh: number;
  /** Minimum mean probability inside a box to keep it. @default 0.6 */
  boxThresh: number;
  /** Box growth: each side moves out by area · ratio / perimeter. @default 1.5 */
  unclipRatio: number;
}

const DB_DEFAULTS: DbOptions = { thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5 };
const MIN_SIZE = 3;

/**
 * Text boxes from a detector probability map (`height`×`width`, row-major),
 * a simplified DBPostProcess: 8-connected components of `prob > thresh`,
 * their bounding boxes scored by mean probability, then unclipped.
 *
 * @example
 * ```ts
 * const boxes = dbBoxes(probabilityMap, 320, 320); // [[x0, y0, x1, y1], …]
 * ```
 */
export function dbBoxes(prob: Float32Array, width: number, height: number, options: Partial<DbOptions> = {}, offset = 0): Box[] {
  const { thresh, boxThresh, unclipRatio } = { ...DB_DEFAULTS, ...options };
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: Box[] = [];
  for (let start = 0; start < width * height; start++) {
    if (seen[start] || !(prob[offset + start] > thresh)) continue;
    let x0 = width, y0 = height, x1 = -1, y1 = -1, top = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width, y = (p - x) / width;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (!seen[q] && prob[offset + q] > thresh) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    const w = x1 + 1 - x0, h = y1 + 1 - y0;
    if (Math.min(w, h) < MIN_SIZE) continue;
    let sum = 0;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) sum += prob[offset + y * width + x];
    if (sum / (w * h) < boxThresh) continue;
    const d = (w * h * unclipRatio) / (2 * (w + h));
    const box: Box = [Math.max(0, x0 - d), Math.max(0, y0 - d), Math.min(width, x1 + 1 + d), Math.min(height, y1 + 1 + d)];
    if (Math.min(box[2] - box[0], box[3] - box[1]) >= MIN_SIZE + 2) boxes.push(box);
  }
  return boxes;
}

/**
 * The box shrunk as DB's training target is: each side moves in by area · (1 − r²) / perimeter.
 *
 * @example
 * ```ts
 * shrinkBox([0, 0, 100, 20]); // the box shrunk as DB labels shrink text regions
 * ```
 */
export function shrinkBox(box: Box, ratio = 0.4): Box {
  const w = box[2] - box[0], h = box[3] - box[1];
  const d = Math.min((w * h * (1 - ratio * ratio)) / (2 * (w + h)), w / 2, h / 2);
  return [box[0] + d, box[1] + d, box[2] - d, box[3] - d];
}

/** The named output, or the first one. */
function pickOutput(outputs: Readonly<Record<string, TensorValue>>, name: string | undefined, metric: string): TensorValue<"float32"> {
  const key = name ?? Object.keys(outputs)[0];
  const out = outputs[key];
  if (!out) throw new RangeError(`Metric "${metric}" needs output "${key}", got ${Object.keys(outputs).map((k) => `"${k}"`).join(", ") || "none"}`);
  if (out.dtype !== "float32") throw new TypeError(`Metric "${metric}" needs float32 output "${key}", got ${out.dtype}`);
  return out;
}

/** One label per batch row: an array of labels, or one label for a batch of 1. */
function perRow<L>(label: L | readonly L[], rows: number, metric: string): readonly L[] {
  if (label === undefined || label === null) throw new RangeError(`Metric "${metric}" needs a label for every sample (a labels.json beside the samples)`);
  const labels = Array.isArray(label) ? label as readonly L[] : [label as L];
  if (labels.length !== rows) throw new RangeError(`Metric "${metric}" got ${labels.length} label(s) for a batch of ${rows}`);
  return labels;
}

/** Options of {@linkcode recognizerMetric}. */
export interface RecognizerMetricOptions {
  /** Contents of the model's key file (e.g. ppocr_keys_v1.txt), one character a line. */
  dictionary: string;
  /** Whether the model has the trailing space class. @default true */
  useSpaceChar: boolean;
  /** Compare texts with spaces removed, as PaddleOCR's RecMetric does by default. @default true */
  ignoreSpace: boolean;
  /** Output holding the [N, T, classes] scores. @default the first output */
  output: string;
}

/**
 * Recognizer metric: `exactMatch` (fraction of lines decoded exactly) and
 * `charAccuracy` = 1 − Σ edit distance / Σ label length over all lines
 * (1 − character error rate, floored at 0), both after removing spaces
 * unless `ignoreSpace` is false.
 *
 * @example
 * ```ts
 * const make = recognizerMetric({ dictionary: fs.readFileSync("ppocr_keys_v1.txt", "utf8") });
 * const m = make();
 * m.update(await session.run({ x }), "合计：12.50");
 * m.result(); // { exactMatch: 1, charAccuracy: 1 }
 * ```
 */
export function recognizerMetric(options: Partial<RecognizerMetricOptions> & { dictionary: string }): MetricFactory<string | readonly string[]> {
  const classes = ctcClasses(options.dictionary, options.useSpaceChar ?? true);
  const ignoreSpace = options.ignoreSpace ?? true;
  const clean = (s: string) => (ignoreSpace ? s.replace(/ /g, "") : s);
  return () => {
    let lines = 0, exact = 0, errors = 0, chars = 0;
    return {
      name: "ocr-recognizer",
      update(outputs, label) {
        const out = pickOutput(outputs, options.output, this.name);
        const [rows, steps, width] = out.dims;
        if (out.dims.length !== 3 || width !== classes.length) {
          throw new RangeError(`Metric "${this.name}" needs scores [N, T, ${classes.length}] (blank + ${classes.length - 2} keys + space), got [${out.dims.join(", ")}]`);
        }
        perRow(label, rows, this.name).forEach((text, r) => {
          if (typeof text !== "string") throw new TypeError(`Metric "${this.name}" needs text labels, got ${JSON.stringify(text)}`);
          const got = clean(ctcGreedyDecode(out.data, steps, classes, r * steps * width));
          const want = clean(text);
          lines++;
          if (got === want) exact++;
          errors += editDistance(got, want);
          chars += Array.from(want).length;
        });
      },
      result: () => ({
        exactMatch: lines ? exact / lines : 0,
        charAccuracy: chars ? Math.max(0, 1 - errors / chars) : 0,
      }),
    } satisfies TaskMetric<string | readonly string[]>;
  };
}

/**
 * Classifier metric: `accuracy` of the [N, 2] scores, class 0 = "0" and class 1 = "180" (PaddleOCR's label_list).
 *
 * @example
 * ```ts
 * const r = await compareModels("cls.onnx", "cls.int8.onnx", data, { metrics: { cls: classifierMetric() } });
 * r.metrics; // [{ metric: "cls", name: "accuracy", fp32, quantized, drop }]
 * ```
 */
export function classifierMetric(options: { output?: string } = {}): MetricFactory<ClsLabel | readonly ClsLabel[]> {
  return () => {
    let n = 0, hits = 0;
    return {
      name: "ocr-classifier",
      update(outputs, label) {
        const out = pickOutput(outputs, options.output, this.name);
        if (out.dims.length !== 2 || out.dims[1] !== 2) throw new RangeError(`Metric "${this.name}" needs scores [N, 2], got [${out.dims.join(", ")}]`);
        perRow(label, out.dims[0], this.name).forEach((want, r) => {
          const got = out.data[2 * r + 1] > out.data[2 * r] ? "180" : "0";
          n++;
          if (got === String(want)) hits++;
        });
      },
      result: () => ({ accuracy: n ? hits / n : 0 }),
    } satisfies TaskMetric<ClsLabel | readonly ClsLabel[]>;
  };
}

/** Options of {@linkcode detectorMetric}: DB post-processing plus matching. */
export interface DetectorMetricOptions extends DbOptions {
  /** IoU at which a predicted box matches a true one. @default 0.5 */
  iouThreshold: number;
  /** DB's shrink ratio for the pixel target. @default 0.4 */
  shrinkRatio: number;
  /** Output holding the [N, 1, H, W] probability map. @default the first output */
  output: string;
}

/**
 * Detector metric over the [N, 1, H, W] probability map, summed over all
 * samples: `boxPrecision`, `boxRecall` and `boxF1` of {@linkcode dbBoxes}
 * against the true line boxes at IoU ≥ 0.5, and `pixelF1` of the map
 * thresholded at 0.3 against the true boxes shrunk as DB's training target
 * is (the map marks text cores, not whole boxes).
 *
 * @example
 * ```ts
 * const r = await compareModels("det.onnx", "det.int8.onnx", pages, { metrics: { det: detectorMetric() } });
 * r.metrics.map((m) => m.name); // ["boxPrecision", "boxRecall", "boxF1", "pixelF1"]
 * ```
 */
export function detectorMetric(options: Partial<DetectorMetricOptions> = {}): MetricFactory<DetLabel | readonly DetLabel[]> {
  const iouThreshold = options.iouThreshold ?? 0.5;
  const thresh = options.thresh ?? DB_DEFAULTS.thresh;
  return () => {
    let predicted = 0, truth = 0, matched = 0, tp = 0, fp = 0, fn = 0;
    return {
      name: "ocr-detector",
      update(outputs, label) {
        const out = pickOutput(outputs, options.output, this.name);
        const [rows, channels, height, width] = out.dims;
        if (out.dims.length !== 4 || channels !== 1) throw new RangeError(`Metric "${this.name}" needs a map [N, 1, H, W], got [${out.dims.join(", ")}]`);
        perRow(label, rows, this.name).forEach((want, r) => {
          if (!Array.isArray(want?.boxes)) throw new TypeError(`Metric "${this.name}" needs labels like {"boxes": [[x0, y0, x1, y1], …]}, got ${JSON.stringify(want)}`);
          const offset = r * height * width;
          const boxes = dbBoxes(out.data, width, height, options, offset);
          predicted += boxes.length;
          truth += want.boxes.length;
          matched += matchBoxes(boxes, want.boxes, iouThreshold);
          const mask = new Uint8Array(width * height);
          for (const b of want.boxes) {
            const [x0, y0, x1, y1] = shrinkBox(b, options.shrinkRatio ?? 0.4).map(Math.round);
            for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) mask.fill(1, y * width + Math.max(0, x0), y * width + Math.min(width, x1));
          }
          for (let i = 0; i < mask.length; i++) {
            const on = out.data[offset + i] > thresh;
            if (on && mask[i]) tp++;
            else if (on) fp++;
            else if (mask[i]) fn++;
          }
        });
      },
      result() {
        const p = predicted ? matched / predicted : 0, r = truth ? matched / truth : 0;
        return {
          boxPrecision: p,
          boxRecall: r,
          boxF1: p + r > 0 ? (2 * p * r) / (p + r) : 0,
          pixelF1: tp ? (2 * tp) / (2 * tp + fp + fn) : 0,
        };
      },
    } satisfies TaskMetric<DetLabel | readonly DetLabel[]>;
  };
}
