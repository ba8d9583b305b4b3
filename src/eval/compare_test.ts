import { test } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { encodeModel } from "../onnx/encode.ts";
import type { TensorValue } from "../runtime/types.ts";
import { compareModels } from "./compare.ts";
import { formatEvalReport } from "./format.ts";
import type { TaskMetric } from "./types.ts";
import { addModel, memoryDataset } from "./_testing.ts";

const DIMS = [2, 3, 4]; // [N, T, classes], like the recognizer's output
const CLASSES = 4;
const firstMax = (a: ArrayLike<number>, off: number) => {
  let best = 0;
  for (let j = 1; j < CLASSES; j++) if (a[off + j] > a[off + best]) best = j;
  return best;
};

/** Accuracy of the first row's argmax against a label. */
function firstRowAccuracy(): TaskMetric<number> {
  let hits = 0, n = 0;
  return {
    name: "first-row",
    update(outputs: Readonly<Record<string, TensorValue>>, label: number) {
      n++;
      if (firstMax(outputs.y.data as Float32Array, 0) === label) hits++;
    },
    result: () => ({ accuracy: hits / n, count: n }),
  };
}

test("adding a known constant to one class gives the hand-computed SQNR, cosine, max |Δ|, agreement and metric drop", async () => {
  const data = memoryDataset(8, DIMS, (x) => firstMax(x, 0));
  const c = new Float32Array([0, 0, 0, 0.5]);
  const progress: string[] = [];
  const report = await compareModels(encodeModel(addModel(new Float32Array(CLASSES), DIMS)).bytes, addModel(c, DIMS), data, {
    samples: 5,
    metrics: { acc: firstRowAccuracy },
    onProgress: (done, total) => progress.push(`${done}/${total}`),
  });

  let rr = 0, ee = 0, rt = 0, tt = 0, max = 0, agree = 0, rows = 0, hits = 0;
  for (const x of data.data.slice(0, 5)) {
    const y = x.map((v, i) => v + c[i % CLASSES]); // float32 rounding, as ORT's Add
    for (let i = 0; i < x.length; i++) {
      rr += x[i] * x[i];
      tt += y[i] * y[i];
      rt += x[i] * y[i];
      ee += (x[i] - y[i]) ** 2;
      max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    for (let off = 0; off < x.length; off += CLASSES, rows++) if (firstMax(x, off) === firstMax(y, off)) agree++;
    if (firstMax(y, 0) === firstMax(x, 0)) hits++;
  }

  assert.is(report.samples, 5);
  assert.equal(progress, ["1/5", "2/5", "3/5", "4/5", "5/5"]);
  assert.is(report.outputs.length, 1);
  const y = report.outputs[0];
  assert.is(y.name, "y");
  assert.equal(y.dims, DIMS);
  assert.is(y.elements, 5 * 24);
  assert.ok(Math.abs(y.sqnrDb - 10 * Math.log10(rr / ee)) < 1e-9, `SQNR ${y.sqnrDb}`);
  assert.ok(Math.abs(y.cosine - rt / Math.sqrt(rr * tt)) < 1e-12, `cosine ${y.cosine}`);
  assert.is(y.maxAbsDiff, max);
  assert.ok(Math.abs(max - 0.5) < 1e-7, "max |Δ| is the constant");
  assert.is(y.rows, rows);
  assert.is(y.rows, 30);
  assert.is(y.top1Agreement, agree / rows);
  assert.ok(agree < rows, "the constant flips some rows");

  const acc = report.metrics.find((m) => m.name === "accuracy")!;
  assert.equal(acc, { metric: "acc", name: "accuracy", fp32: 1, quantized: hits / 5, drop: 1 - hits / 5 });
  assert.equal(report.metrics.find((m) => m.name === "count"), { metric: "acc", name: "count", fp32: 5, quantized: 5, drop: 0 });
  assert.ok(report.timing.fp32Ms > 0 && report.timing.quantizedMs > 0);

  const text = formatEvalReport(report);
  assert.match(text, /^5 samples/);
  assert.match(text, new RegExp(`y\\s+\\[2, 3, 4\\]\\s+${y.sqnrDb.toFixed(1)}`));
  assert.match(text, /acc\.accuracy\s+1\.0000/);
});

test("identical models: SQNR +inf, cosine 1, no difference, full agreement", async () => {
  const m = addModel(new Float32Array([0.1, 0.2, 0.3, 0.4]), DIMS);
  // Fields given as undefined (as a CLI passes unset flags) keep their defaults.
  const r = await compareModels(m, m, memoryDataset(3, DIMS), { runtime: undefined, metrics: undefined, session: undefined });
  const [y] = r.outputs;
  assert.is(r.samples, 3);
  assert.is(y.sqnrDb, Infinity);
  assert.is(y.cosine, 1);
  assert.is(y.maxAbsDiff, 0);
  assert.is(y.top1Agreement, 1);
  assert.equal(r.metrics, []);
  assert.match(formatEvalReport(r), /\binf\b/);
});

test("top1Outputs turns agreement off for outputs not listed", async () => {
  const m = addModel(new Float32Array(CLASSES), DIMS);
  const r = await compareModels(m, m, memoryDataset(2, DIMS), { top1Outputs: [] });
  assert.is(r.outputs[0].top1Agreement, undefined);
  assert.is(r.outputs[0].rows, 0);
});

test("a sample without the model's input fails with an InputError naming the sample", async () => {
  const m = addModel(new Float32Array(CLASSES), DIMS);
  const data = { ...memoryDataset(2, DIMS), get: () => Promise.resolve({ image: { dtype: "float32" as const, dims: DIMS, data: new Float32Array(24) } }) };
  const err = await compareModels(m, m, data).catch((e: unknown) => e);
  assert.instance(err, InputError);
  assert.is((err as Error).message, `Sample "sample0" has no input "x": it provides "image"`);
  const empty = await compareModels(m, m, memoryDataset(0, DIMS)).catch((e: unknown) => e);
  assert.instance(empty, InputError);
  assert.match((empty as Error).message, /the dataset has no samples/);
});

test.run();
