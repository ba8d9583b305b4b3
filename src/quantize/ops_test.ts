// One small graph per op family, checked as ORT's quantization tests check
// theirs: Q/DQ counts, dtypes, and closeness to the float model in
// onnxruntime-node and onnxruntime-web. Closeness bounds sit just below what
// was measured (worst cosine 0.99982, worst relative max error 0.041).
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { dqOf, nodesOf, qdqProblems, quantizeAndCompare } from "./_testing_check.ts";
import { Builder, float, int, ints, str } from "./_testing_graphs.ts";
import { randomInput } from "./_testing.ts";
import { softmaxParams } from "./params.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { decodeModel } from "../onnx/decode.ts";
import { encodeModel } from "../onnx/encode.ts";
import { tempDir } from "../../tests/fixtures/onnx_models.ts";

const Ops = suite("quantize op families");

const feeds = (dims: Record<string, readonly number[]>, n = 3, seed = 10) =>
  Array.from({ length: n }, (_, i) => Object.fromEntries(Object.entries(dims).map(([k, d], j) => [k, randomInput(d, seed + 7 * i + j)])));

/** The [scale, zero point] initializer names the QuantizeLinear of `value` uses. */
function qParams(g: Graph, value: string): string[] {
  const q = g.nodes.find((n) => n.opType === "QuantizeLinear" && (n.inputs[0] === value || n.inputs[0] === `${value}_QuantizeLinear_Input`));
  assert.ok(q, `a QuantizeLinear on "${value}"`);
  return q!.inputs.slice(1);
}

function assertClose(r: { cos: Record<string, number>; rel: Record<string, number>; nan: boolean }, cos: number, rel: number) {
  assert.not.ok(r.nan, "no NaN");
  for (const rt of ["node", "web"]) {
    assert.ok(r.cos[rt] >= cos, `${rt} cosine ${r.cos[rt]} ≥ ${cos}`);
    assert.ok(r.rel[rt] <= rel, `${rt} relative max error ${r.rel[rt]} ≤ ${rel}`);
  }
}

function convModel() {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const w1 = new Float32Array(6 * 4 * 9).map((_, i) => Math.sin(i * 1.7) * 0.5);
  w1.fill(0, 2 * 36, 3 * 36); // channel 2: exact zeros
  w1.fill(1e-40, 4 * 36, 5 * 36); // channel 4: denormal, as in the PP-OCR recognizer
  b.init("w1", [6, 4, 3, 3], w1);
  b.weight("b1", [6], 0.2);
  b.weight("w2", [6, 1, 3, 3], 0.5);
  b.weight("b2", [6], 0.2);
  const pads = { pads: ints([1, 1, 1, 1]) };
  b.node("Conv", ["x", "w1", "b1"], "c1", pads);
  b.node("Relu", ["c1"], "r1");
  b.node("Conv", ["r1", "w2", "b2"], "y", { ...pads, group: int(6) });
  return b.model(["y"]);
}

Ops("Conv: int8 per-channel weights (axis 0), int32 bias, Relu folded, zero and denormal channels finite", async () => {
  const r = await quantizeAndCompare(convModel(), {}, feeds({ x: [1, 4, 6, 6] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  assert.is(nodesOf(g, "Relu").length, 0, "Relu folded into the first Conv");
  assert.equal(r.report.folded, [{ node: "Relu_r1", into: "Conv_c1" }]);
  assert.equal(r.plan.activations, ["x", "r1", "y"]);
  assert.is(nodesOf(g, "QuantizeLinear").length, 3);
  assert.is(nodesOf(g, "DequantizeLinear").length, 3 + 2 + 2, "3 activations, 2 weights, 2 biases");
  assert.equal(r.report.ops.Conv, { nodes: 2, quantized: 2, quantizeLinear: 3, dequantizeLinear: 7 });
  for (const conv of nodesOf(g, "Conv")) {
    const [x, w, bias] = conv.inputs.map((v) => dqOf(g, v)!);
    assert.is(g.producer(x.inputs[0])?.opType, "QuantizeLinear");
    assert.is(g.constant(w.inputs[0])?.dtype, "int8");
    assert.is(w.attrInt("axis"), 0);
    assert.is(g.constant(w.inputs[1])?.size, 6);
    assert.is(g.constant(bias.inputs[0])?.dtype, "int32");
    assert.is(g.constant(bias.inputs[1])?.size, 6);
  }
  assert.equal(r.report.weights.zeroChannels, [{ node: "Conv_c1", weight: "w1", channels: [2] }]);
  assert.equal(r.report.weights.tinyChannels, [{ node: "Conv_c1", weight: "w1", channels: [4] }]);
  assert.is(g.outputs[0].name, "y");
  assert.is(g.producer("y")?.opType, "DequantizeLinear", "the graph output keeps its name, written by a DQ");
  assertClose(r, 0.9995, 0.02);
});

Ops("Conv per tensor: one weight scale, one bias scale, no axis", async () => {
  const r = await quantizeAndCompare(convModel(), { perChannel: false, activations: "int8" }, feeds({ x: [1, 4, 6, 6] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "int8"), []);
  for (const dq of nodesOf(g, "DequantizeLinear")) {
    assert.is(dq.attrInt("axis"), undefined);
    assert.is(g.constant(dq.inputs[1])?.size, 1);
  }
  assert.is(r.report.weights.perChannel, 0);
  assertClose(r, 0.9995, 0.025);
});

Ops("ConvTranspose grouped: weight axis 1 with M/g scales, bias scales repeat per group", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 3, 3]);
  b.weight("w", [4, 3, 2, 2], 0.5);
  b.weight("bias", [6], 0.3);
  b.node("ConvTranspose", ["x", "w", "bias"], "y", { group: int(2), strides: ints([2, 2]) });
  const r = await quantizeAndCompare(b.model(["y"]), {}, feeds({ x: [1, 4, 3, 3] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  const ct = nodesOf(g, "ConvTranspose")[0];
  const [x, w, bias] = ct.inputs.map((v) => dqOf(g, v)!);
  assert.is(w.attrInt("axis"), 1);
  const ws = g.constant(w.inputs[1])!.toFloat32(), bs = g.constant(bias.inputs[1])!.toFloat32();
  const xs = g.constant(x.inputs[1])!.toFloat32()[0];
  assert.is(ws.length, 3);
  assert.is(bs.length, 6);
  bs.forEach((s, m) => assert.is(s, Math.fround(xs * ws[m % 3]), `bias scale ${m}`));
  assertClose(r, 0.9998, 0.02);
});

Ops("Gemm (transB and not, scalar bias with alpha/beta) and MatMul (constant B, two activations)", async () => {
  const b = new Builder();
  b.input("x", [2, 8]);
  b.input("x2", [8, 3]);
  b.weight("B1", [5, 8], 0.5);
  b.weight("C1", [5], 0.2);
  b.weight("B2", [5, 3], 0.5);
  b.init("C2", [1], new Float32Array([0.25]));
  b.weight("Bm", [8, 4], 0.5);
  b.node("Gemm", ["x", "B1", "C1"], "g1", { transB: int(1) });
  b.node("Gemm", ["g1", "B2", "C2"], "g2", { alpha: float(0.5), beta: float(2) });
  b.node("MatMul", ["x", "Bm"], "m1");
  b.node("MatMul", ["x", "x2"], "m2");
  const r = await quantizeAndCompare(b.model(["g2", "m1", "m2"]), {}, feeds({ x: [2, 8], x2: [8, 3] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  const [g1, g2] = nodesOf(g, "Gemm");
  assert.is(dqOf(g, g1.inputs[1])!.attrInt("axis"), 0, "transB: axis 0");
  assert.is(dqOf(g, g2.inputs[1])!.attrInt("axis"), 1, "no transB: axis 1");
  const c2 = g.constant(dqOf(g, g2.inputs[2])!.inputs[0])!;
  assert.equal([c2.dtype, ...c2.dims], ["int32", 3], "size-1 bias expanded to one value per channel");
  assert.is(g2.attrFloat("beta"), 1, "beta folded into the bias");
  const [m1, m2] = nodesOf(g, "MatMul");
  assert.is(dqOf(g, m1.inputs[1])!.attrInt("axis"), 1, "constant B: last axis");
  assert.is(g.constant(dqOf(g, m1.inputs[1])!.inputs[0])?.dtype, "int8");
  for (const i of m2.inputs) assert.is(g.producer(dqOf(g, i)!.inputs[0])?.opType, "QuantizeLinear", "both activations get QDQ");
  assert.equal(r.report.ops.MatMul.dequantizeLinear, 1 + 1 + 1 + 1, "x2, m1, m2, Bm (x counted for Gemm)");
  assertClose(r, 0.9998, 0.02);
});

Ops("element-wise: constants become uint8 initializers + DQ, Pow's exponent stays float", async () => {
  const b = new Builder();
  b.input("x", [1, 3, 4, 4]);
  b.input("y", [1, 3, 4, 4]);
  b.weight("cvec", [1, 3, 1, 1], 2);
  b.scalar("half", 0.5);
  b.scalar("four", 4);
  b.scalar("two", 2);
  b.node("Add", ["x", "cvec"], "a");
  b.node("Mul", ["a", "half"], "m");
  b.node("Sub", ["m", "y"], "s");
  b.node("Div", ["s", "four"], "d");
  b.node("Pow", ["x", "two"], "p");
  b.node("Sqrt", ["p"], "q");
  b.node("Concat", ["d", "q"], "out", { axis: int(1) });
  const r = await quantizeAndCompare(b.model(["out"]), {}, feeds({ x: [1, 3, 4, 4], y: [1, 3, 4, 4] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  for (const c of ["cvec", "half", "four"]) {
    const q = g.constant(`${c}_quantized`);
    assert.ok(q && q.dtype === "uint8", `${c} quantized as uint8`);
  }
  assert.equal(g.constant("cvec_quantized")!.dims, [1, 3, 1, 1]);
  assert.is(nodesOf(g, "Pow")[0].inputs[1], "two", "exponent read as is");
  assert.is(g.constant("two")?.dtype, "float32");
  assert.equal(r.plan.activations, ["x", "y", "a", "m", "s", "d", "p", "q", "out"]);
  for (const op of ["Add", "Mul", "Sub", "Div", "Pow", "Sqrt", "Concat"]) assert.is(r.report.ops[op].quantized, 1, op);
  assertClose(r, 0.9995, 0.06);
});

Ops("activations: Clip(0,6) folds, Clip(0.5,2) does not; Softmax output has fixed parameters", async () => {
  const b = new Builder();
  b.input("x", [2, 10]);
  b.scalar("three", 3);
  b.scalar("zero", 0);
  b.scalar("six", 6);
  b.scalar("lo", 0.5);
  b.scalar("hi", 2);
  b.node("Add", ["x", "three"], "a");
  b.node("Clip", ["a", "zero", "six"], "c");
  b.node("Mul", ["x", "c"], "hs6");
  b.node("Div", ["hs6", "six"], "hs");
  b.node("Sigmoid", ["x"], "sg");
  b.node("HardSigmoid", ["x"], "hsg", { alpha: float(1 / 6), beta: float(0.5) });
  b.node("HardSwish", ["x"], "hsw");
  b.node("Tanh", ["x"], "th");
  b.node("LeakyRelu", ["x"], "lr", { alpha: float(0.1) });
  b.node("Clip", ["th", "lo", "hi"], "c2");
  b.node("Softmax", ["x"], "sm", { axis: int(-1) });
  const r = await quantizeAndCompare(b.model(["hs", "sg", "hsg", "hsw", "lr", "c2", "sm"], 14), {}, feeds({ x: [2, 10] }, 3, 3));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  assert.equal(r.report.folded, [{ node: "Clip_c", into: "Add_a" }]);
  assert.is(nodesOf(g, "Clip").length, 1);
  assert.equal(nodesOf(g, "Clip")[0].inputs.slice(1), ["lo", "hi"], "Clip min/max stay float");
  assert.not.ok(r.plan.activations.includes("sm"), "Softmax output needs no range");
  const [s, z] = qParams(g, "sm");
  assert.is(g.constant(s)!.toFloat32()[0], softmaxParams("uint8", false).scale);
  assert.is(g.constant(z)!.view()[0], 0);
  for (const op of ["Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "LeakyRelu", "Softmax"]) {
    assert.is(r.report.ops[op].quantized, 1, op);
  }
  assertClose(r, 0.9997, 0.02);
});

Ops("symmetric activations: nothing folds, int8 zero points are 0, uint8 ones 128", async () => {
  for (const activations of ["int8", "uint8"] as const) {
    const r = await quantizeAndCompare(convModel(), { activations, symmetricActivations: true }, feeds({ x: [1, 4, 6, 6] }));
    const g = r.model.graph;
    assert.equal(qdqProblems(r.model, activations), []);
    assert.equal(r.report.folded, []);
    for (const q of nodesOf(g, "QuantizeLinear")) assert.is(Number(g.constant(q.inputs[2])!.view()[0]), activations === "int8" ? 0 : 128);
    assertClose(r, 0.9995, 0.03);
  }
});

Ops("pools: MaxPool shares its input's parameters, AveragePool/GlobalAveragePool/ReduceMean get their own", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 8, 8]);
  const k = { kernel_shape: ints([2, 2]), strides: ints([2, 2]) };
  b.node("MaxPool", ["x"], "mp", k);
  b.node("AveragePool", ["mp"], "ap", k);
  b.node("GlobalAveragePool", ["ap"], "gp");
  b.node("ReduceMean", ["x"], "rm", { axes: ints([-1]) });
  const r = await quantizeAndCompare(b.model(["gp", "rm"]), {}, feeds({ x: [1, 4, 8, 8] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  assert.equal(qParams(g, "mp"), qParams(g, "x"), "MaxPool output reuses x's scale and zero point");
  assert.not.equal(qParams(g, "ap"), qParams(g, "x"));
  assert.equal(r.plan.shared, { mp: "x" });
  assert.equal(r.plan.activations, ["x", "ap", "gp", "rm"]);
  assertClose(r, 0.9998, 0.015);
});

Ops("data movement shares parameters: Reshape, Transpose, (Un)Squeeze, Flatten, Slice, Gather, Split, Resize", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 4, 6]);
  b.ints("shape", [1, 4, 24]);
  b.ints("ax1", [1]);
  b.ints("starts", [1]);
  b.ints("ends", [3]);
  b.ints("idx", [0, 2]);
  b.init("scales", [4], new Float32Array([1, 1, 2, 2]));
  b.node("Sigmoid", ["x"], "s");
  b.node("Reshape", ["s", "shape"], "r");
  b.node("Transpose", ["r"], "t", { perm: ints([0, 2, 1]) });
  b.node("Unsqueeze", ["t", "ax1"], "u");
  b.node("Squeeze", ["u", "ax1"], "sq");
  b.node("Flatten", ["sq"], "f");
  b.node("Slice", ["s", "starts", "ends", "ax1"], "sl");
  b.node("Gather", ["s", "idx"], "ga", { axis: int(1) });
  b.node("Split", ["s"], ["sp0", "sp1"], { axis: int(1) });
  b.node("Resize", ["s", "", "scales"], "rz", { mode: str("nearest") });
  b.node("Resize", ["s", "", "scales"], "rl", { mode: str("linear") });
  const outs = ["f", "sl", "ga", "sp0", "sp1", "rz", "rl"];
  const r = await quantizeAndCompare(b.model(outs), {}, feeds({ x: [1, 4, 4, 6] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), []);
  assert.equal(r.plan.activations, ["x", "s"]);
  for (const v of ["r", "t", "u", "sq", ...outs]) assert.equal(qParams(g, v), qParams(g, "s"), `${v} shares s's parameters`);
  assert.is(g.constant("scales")?.dtype, "float32", "Resize scales untouched");
  assertClose(r, 0.99999, 0.01);
});

Ops("non-float values and unknown ops: no QuantizeLinear on int64, Shape/Cast/Round stay float", async () => {
  const b = new Builder();
  b.input("x", [2, 2]);
  b.node("Relu", ["x"], "r");
  b.node("Shape", ["r"], "sh");
  b.node("Reshape", ["r", "sh"], "rs");
  b.node("Cast", ["sh"], "shf", { to: int(1) });
  b.node("Round", ["r"], "rd");
  b.node("Add", ["rs", "shf"], "a");
  b.node("Add", ["a", "rd"], "out");
  const r = await quantizeAndCompare(b.model(["out"]), {}, feeds({ x: [2, 2] }));
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "uint8"), [], "every QuantizeLinear reads a float32 value");
  const skipped = Object.fromEntries(r.report.skipped.map((s) => [s.opType, s.reason]));
  assert.match(skipped.Shape, /shapes/);
  assert.match(skipped.Cast, /element type/);
  assert.is(skipped.Round, "edgeq has no quantization rule for Round");
  assert.is(nodesOf(g, "Round")[0].inputs[0], "r_dequantized", "a float op reads the dequantized value");
  assert.ok(r.plan.activations.includes("shf") && r.plan.activations.includes("rd"), "float outputs read by Add get QDQ");
  assertClose(r, 0.99999, 0.005);
});

/** Op types of the model ORT actually runs after its graph optimizations (QDQ fusions included). */
async function ortOptimizedOps(model: Model): Promise<string[]> {
  const dir = tempDir("edgeq-qdq-");
  try {
    const file = path.join(dir, "optimized.onnx");
    const s = await ort.InferenceSession.create(encodeModel(model).bytes, {
      graphOptimizationLevel: "extended",
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await s.release();
    return decodeModel(fs.readFileSync(file)).graph.nodes.map((n) => n.opType);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

Ops("ORT fuses the uint8 QDQ model into integer kernels (QLinearConv/MatMul/Add/Softmax): conventions hold", async () => {
  const b = new Builder();
  b.input("x", [2, 8]);
  b.weight("Bm", [8, 4], 0.5);
  b.weight("c", [4], 0.5);
  b.node("MatMul", ["x", "Bm"], "m");
  b.node("Add", ["m", "c"], "a");
  b.node("Softmax", ["a"], "sm", { axis: int(-1) });
  for (const [model, dims, want] of [
    [convModel(), { x: [1, 4, 6, 6] }, ["QLinearConv", "QLinearConv"]],
    [b.model(["sm"]), { x: [2, 8] }, ["QLinearMatMul", "QLinearAdd", "QLinearSoftmax"]],
  ] as const) {
    const r = await quantizeAndCompare(model, {}, feeds(dims));
    const ops = await ortOptimizedOps(r.model);
    for (const op of want) assert.ok(ops.includes(op), `${op} in ${ops.join(",")}`);
    for (const op of ["Conv", "MatMul", "Add", "Softmax"]) assert.not.ok(ops.includes(op), `float ${op} left in ${ops.join(",")}`);
  }
});

Ops.run();
