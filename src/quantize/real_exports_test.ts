/**
 * What exports from other frameworks bring: an NHWC input behind a
 * Transpose, a host/device split around ops the target lacks, weight
 * channels of 1e-20, and models ONNX Runtime refuses.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { memoryDataset } from "../calibrate/_testing.ts";
import { RuntimeModelError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { cloneModel } from "../ir/clone.ts";
import { Tensor } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";
import { decodeModel } from "../onnx/decode.ts";
import { getRuntime } from "../runtime/mod.ts";
import { loadTarget } from "../targets/load.ts";
import { validateModel } from "../validate/validate.ts";
import { recordShapes } from "../normalize/shapes.ts";
import { cosine, randomInput, runModel } from "./_testing.ts";
import { Builder, int, ints } from "./_testing_graphs.ts";
import { quantizeModel } from "./pipeline.ts";
import { cutModel, planSplit } from "./split.ts";
import { quantizeOptionsFor } from "./target_options.ts";

const NPU = loadTarget("npu-int8-only");
const samples = (dims: number[], n: number, lo = -1, hi = 1) => Array.from({ length: n }, (_, i) => randomInput(dims, 100 + i, lo, hi) as never);
const errorsOf = (m: Model) => validateModel(m, NPU).rules.flatMap((r) => r.violations).filter((v) => v.severity === "error").map((v) => `${v.rule}: ${v.message}`);

/** tf2onnx's shape: NHWC input → Transpose → Conv → Relu → Conv → Transpose → NHWC output. */
function nhwcModel(): Model {
  const b = new Builder();
  b.input("x", [1, 8, 8, 3]);
  const t = b.node("Transpose", ["x"], "nchw", { perm: ints([0, 3, 1, 2]) });
  const c1 = b.node("Conv", [t, b.weight("w1", [8, 3, 3, 3], 0.5), b.weight("b1", [8], 0.1)], "c1", { pads: ints([1, 1, 1, 1]) });
  const r = b.node("Relu", [c1], "r1");
  const c2 = b.node("Conv", [r, b.weight("w2", [4, 8, 1, 1], 0.5), b.weight("b2", [4], 0.1)], "c2");
  b.node("Transpose", [c2], "y", { perm: ints([0, 2, 3, 1]) });
  return b.model(["y"]);
}

test("an NHWC export quantizes integer end to end for npu-int8-only: one QuantizeLinear at the input, one DequantizeLinear at the output", async () => {
  const model = nhwcModel();
  const fp32 = cloneModel(model);
  const calib = samples([1, 8, 8, 3], 8);
  await quantizeModel(model, memoryDataset("x", calib), { ...quantizeOptionsFor(NPU).options, profile: NPU });
  const g = model.graph;
  assert.equal(g.consumers("x").map((n) => n.opType), ["QuantizeLinear"]);
  assert.is(g.producer("y")!.opType, "DequantizeLinear");
  assert.is(g.nodes.filter((n) => n.opType === "Transpose").length, 2);
  for (const n of g.nodes.filter((n) => n.opType === "Transpose")) {
    assert.is(g.producer(n.inputs[0])!.opType, "DequantizeLinear", `${n.name} reads a dequantized value`);
    assert.equal(g.consumers(n.outputs[0]).map((c) => c.opType), ["QuantizeLinear"], `${n.name} is requantized`);
  }
  assert.equal(errorsOf(model), []);
  const feeds = samples([1, 8, 8, 3], 4).map((x) => ({ x }));
  const [a, b] = [await runModel(fp32, feeds), await runModel(model, feeds)];
  for (let i = 0; i < feeds.length; i++) assert.ok(cosine(a[i].y.data as Float32Array, b[i].y.data as Float32Array) > 0.995);
});

/** Exp (no kernel on the NPU) → MatMul → Relu → Add → Erf (none either; or `tail`) → Mul: a host head and a host tail. */
function splitModel(tailOp = "Erf"): Model {
  const b = new Builder();
  b.input("x", [1, 16]);
  const e = b.node("Exp", ["x"], "e");
  const m = b.node("MatMul", [e, b.weight("w", [16, 8], 0.5)], "m");
  const r = b.node("Relu", [m], "r");
  const a = b.node("Add", [r, b.scalar("one", 1)], "a");
  const l = b.node(tailOp, [a], "l");
  b.node("Mul", [l, b.scalar("two", 2)], "y");
  return b.model(["y"]);
}

test("--split: the head takes Exp, the tail Erf and what follows; the device part validates clean; the parts in sequence compute the quantized whole", async () => {
  const model = splitModel();
  const fp32 = cloneModel(model);
  assert.ok(errorsOf(model).some((e) => e.includes("no integer kernel for Exp")));
  const plan = planSplit(model, NPU)!;
  assert.equal(plan.unsupported.map((u) => [u.opType, u.side]), [["Exp", "head"], ["Erf", "tail"]]);
  assert.equal(plan.head, ["Exp_e"]);
  assert.equal(plan.tail, ["Erf_l", "Mul_y"]);
  // A host Log keeps what computes its input: int8 would round its small values to 0.
  const log = planSplit(splitModel("Log"), NPU)!;
  assert.equal(log.tail, ["MatMul_m", "Relu_r", "Add_a", "Log_l", "Mul_y"]);
  assert.is(log.device, 0);
  const options = { ...quantizeOptionsFor(NPU).options, exclude: [...plan.head, ...plan.tail] };
  await quantizeModel(model, memoryDataset("x", samples([1, 16], 16)), { ...options, profile: NPU });
  await recordShapes(model, {});
  const parts = cutModel(model, plan);
  assert.equal(parts.cut, { headToDevice: ["e"], deviceToTail: ["a_dequantized"], headToTail: [] });
  assert.equal(errorsOf(parts.device), []);
  assert.equal(parts.device.graph.inputs.map((v) => [v.name, v.shape]), [["e", [1, 16]]]);
  assert.equal(parts.head!.graph.nodes.map((n) => n.opType), ["Exp"]);
  assert.equal(parts.tail!.graph.nodes.map((n) => n.opType), ["Erf", "Mul"]);
  const feeds = samples([1, 16], 6).map((x) => ({ x }));
  const whole = await runModel(model, feeds);
  const reference = await runModel(fp32, feeds);
  const h = await runModel(parts.head!, feeds);
  const d = await runModel(parts.device, h.map((o) => ({ e: o.e })));
  const t = await runModel(parts.tail!, d.map((o) => ({ a_dequantized: o.a_dequantized })));
  for (let i = 0; i < feeds.length; i++) {
    assert.equal(Array.from(t[i].y.data as Float32Array), Array.from(whole[i].y.data as Float32Array), "the chain is the quantized whole");
    assert.ok(cosine(t[i].y.data as Float32Array, reference[i].y.data as Float32Array) > 0.999);
  }
});

test("--split: an op the target has, but not with these attributes (a 32-tap Conv), goes to a side with what exceeds its limits; one it lacks has no such line", () => {
  const b = new Builder();
  b.input("x", [1, 1, 64]);
  const c = b.node("Conv", ["x", b.weight("w", [4, 1, 32], 0.2)], "c", { kernel_shape: { type: "ints", value: [32] } });
  const r = b.node("Relu", [c], "r");
  const e = b.node("Exp", [r], "e");
  b.node("Add", [e, b.scalar("one", 1)], "y");
  const plan = planSplit(b.model(["y"]), NPU)!;
  assert.equal(plan.unsupported.map((u) => [u.node, u.side]), [["Conv_c", "head"], ["Exp_e", "tail"]]);
  assert.is(plan.unsupported[0].why, "kernel 32 exceeds 16×16");
  assert.is(plan.unsupported[1].why, undefined);
});

test("on a target with float fallback, what a float Log reads (back through MatMul and elementwise ops) stays float: no log(0) = −∞", async () => {
  // A power spectrum: (x·W)² → + 1e-10 → Log → ·10: values over eight decades before the Log.
  const b = new Builder();
  b.input("x", [1, 16]);
  const m = b.node("MatMul", ["x", b.weight("w", [16, 8], 0.5)], "m");
  const p = b.node("Pow", [m, b.scalar("two", 2)], "p");
  const a = b.node("Add", [p, b.scalar("eps", 1e-10)], "a");
  const l = b.node("Log", [a], "l");
  b.node("Mul", [l, b.scalar("ten", 10)], "y");
  const model = b.model(["y"]);
  const fp32 = cloneModel(model);
  const cpu = loadTarget("cpu-mixed");
  const calib = Array.from({ length: 8 }, (_, i) => randomInput([1, 16], 300 + i, -(10 ** (i % 4)), 10 ** (i % 4)) as never);
  const r = await quantizeModel(model, memoryDataset("x", calib), { ...quantizeOptionsFor(cpu).options, profile: cpu });
  const g = model.graph;
  for (const op of ["MatMul", "Pow", "Add"]) {
    const n = g.nodes.find((x) => x.opType === op)!;
    assert.ok(n.inputs.every((i) => g.producer(i)?.opType !== "DequantizeLinear"), `${op} reads float values`);
    assert.ok(r.quantize.skipped.some((s) => s.node === n.name && /Log reads/.test(s.reason)), `${op} reported kept float`);
  }
  assert.is(g.producer("y")!.opType, "DequantizeLinear", "what follows the Log is quantized");
  const feeds = calib.slice(0, 4).map((x) => ({ x }));
  const [ref, got] = [await runModel(fp32, feeds), await runModel(model, feeds)];
  for (let i = 0; i < feeds.length; i++) {
    const y = got[i].y.data as Float32Array;
    assert.ok(y.every(Number.isFinite));
    assert.ok(cosine(ref[i].y.data as Float32Array, y) > 0.999);
  }
});

test("float fallback: a Sqrt reads float, with the STFT-like chain before it (silero_vad's magnitude); integer-only targets quantize it all", async () => {
  // |X| = √(re² + im²) from a Conv, then read by a quantized Conv as well as by a Log: small bins span decades.
  const build = () => {
    const b = new Builder();
    b.input("x", [1, 1, 64]);
    const f = b.node("Conv", ["x", b.weight("basis", [8, 1, 16], 1)], "f", { strides: ints([4]) });
    const re = b.node("Slice", [f, b.ints("s0", [0]), b.ints("e0", [4]), b.ints("a0", [1])], "re");
    const im = b.node("Slice", [f, b.ints("s1", [4]), b.ints("e1", [8]), b.ints("a1", [1])], "im");
    const p = b.node("Add", [b.node("Pow", [re, b.scalar("two", 2)], "re2"), b.node("Pow", [im, b.scalar("two2", 2)], "im2")], "p");
    const mag = b.node("Sqrt", [p], "mag");
    b.node("Conv", [mag, b.weight("w", [4, 4, 3], 0.5), b.weight("bias", [4], 0.1)], "y", { pads: ints([1, 1]) });
    return b.model(["y"]);
  };
  const calib = memoryDataset("x", Array.from({ length: 8 }, (_, i) => randomInput([1, 1, 64], 400 + i, -(10 ** -(i % 4)), 10 ** -(i % 4)) as never));
  const quantized = async (target: string) => {
    const model = build();
    const profile = loadTarget(target);
    const r = await quantizeModel(model, calib, { ...quantizeOptionsFor(profile).options, profile });
    const g = model.graph;
    const readsDq = (op: string) => g.nodes.filter((n) => n.opType === op).every((n) => g.producer(n.inputs[0])?.opType === "DequantizeLinear");
    return { r, g, readsDq };
  };
  const cpu = await quantized("cpu-mixed");
  for (const op of ["Sqrt", "Add", "Pow", "Slice"]) assert.not.ok(cpu.readsDq(op), `cpu-mixed: ${op} reads float`);
  assert.ok(cpu.r.quantize.skipped.some((s) => s.node === cpu.g.nodes.find((n) => n.opType === "Sqrt")!.name && /Sqrt reads float/.test(s.reason)));
  const second = cpu.g.nodes.find((n) => n.opType === "Conv" && n.inputs[0] !== "x" && n.inputs[0].startsWith("mag"))!;
  assert.is(cpu.g.producer(second.inputs[0])!.opType, "DequantizeLinear", "the Conv after the Sqrt reads it quantized");
  const npu = await quantized("npu-int8-only");
  for (const op of ["Sqrt", "Add", "Pow"]) assert.ok(npu.readsDq(op), `npu-int8-only: ${op} quantized`);
});

test("weight channels of 1e-20 and 0 give finite, positive scales and finite outputs", async () => {
  const b = new Builder();
  b.input("x", [1, 3, 6, 6]);
  const w = b.weight("w", [4, 3, 3, 3], 0.5);
  const data = b.g.constant(w)!.toFloat32().slice();
  for (let i = 0; i < 27; i++) data[27 + i] *= 1e-20; // channel 1: max |w| ≈ 5e-21
  for (let i = 0; i < 27; i++) data[54 + i] = 0; // channel 2: all zero
  b.init("w", [4, 3, 3, 3], data);
  b.node("Conv", ["x", w, b.weight("b", [4], 0.1)], "y", { group: int(1) });
  const model = b.model(["y"]);
  const fp32 = cloneModel(model);
  await quantizeModel(model, memoryDataset("x", samples([1, 3, 6, 6], 8)), { ...quantizeOptionsFor(NPU).options, profile: NPU });
  for (const n of model.graph.nodes.filter((n) => n.opType === "DequantizeLinear")) {
    const s = model.graph.constant(n.inputs[1])!.toNumbers();
    assert.ok(s.every((v) => Number.isFinite(v) && v > 0), `${n.name}: scales ${s}`);
  }
  assert.equal(errorsOf(model), []);
  const feeds = samples([1, 3, 6, 6], 2).map((x) => ({ x }));
  const [a, q] = [await runModel(fp32, feeds), await runModel(model, feeds)];
  for (let i = 0; i < feeds.length; i++) {
    const y = q[i].y.data as Float32Array;
    assert.ok(y.every(Number.isFinite));
    assert.ok(cosine(a[i].y.data as Float32Array, y) > 0.995);
  }
});

test("a node reading a value nothing provides is refused when the model is read, naming node and value", () => {
  const m = splitModel();
  m.graph.nodes[1].inputs[1] = "batch_norm_11.w_0";
  const bytes = encodeModel(m).bytes;
  assert.throws(
    () => decodeModel(bytes, { source: "broken.onnx" }),
    (e: Error) => e.message === `Cannot read model "broken.onnx": node MatMul "MatMul_m" reads "batch_norm_11.w_0", which no node, initializer or graph input provides`,
  );
});

test("what ONNX Runtime refuses to open or run is a RuntimeModelError with one line", async () => {
  const rt = await getRuntime("node");
  const m = splitModel();
  m.graph.nodes[1].attrs.set("bogus", { type: "int", value: 1 });
  m.graph.initializers.set("w", Tensor.fromArray("w", [15, 8], new Float32Array(120)));
  const err = await rt.createSession(encodeModel(m).bytes, { modelName: "m.onnx" }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, RuntimeModelError);
  assert.match((err as Error).message, /^Cannot open model "m\.onnx": /);
  assert.not.match((err as Error).message, /\n/);
  const ok = await rt.createSession(encodeModel(splitModel()).bytes, { modelName: "ok.onnx" });
  try {
    const run = await ok.run({ x: { dtype: "float32", dims: [1, 15], data: new Float32Array(15) } }).then(() => undefined, (e: unknown) => e);
    assert.instance(run, RuntimeModelError);
    assert.match((run as Error).message, /^Cannot run model "ok\.onnx": .*x/);
  } finally {
    await ok.release();
  }
});

test.run();
