import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { cloneModel } from "../ir/clone.ts";
import { encodeModel } from "../onnx/encode.ts";
import { dqOf, nodesOf, qdqProblems } from "./_testing_check.ts";
import { Builder, int, ints } from "./_testing_graphs.ts";
import { planQuantization } from "./plan.ts";
import { quantize } from "./quantize.ts";
import { registeredOpTypes, ruleFor } from "./registry.ts";
import type { Range } from "../calibrate/types.ts";

const Plan = suite("quantize plan and edge cases");

/** x → Conv(w, b) → c1 → Relu → r; x → Sigmoid → s → Conv(w, b) → c2; out = c1 + c2 (two convs share w and b). */
function sharedBiasModel(opset = 13) {
  const b = new Builder();
  b.input("x", [1, 2, 4, 4]);
  b.weight("w", [3, 2, 1, 1], 0.5);
  b.weight("b", [3], 0.5);
  b.node("Conv", ["x", "w", "b"], "c1");
  b.node("Sigmoid", ["x"], "s");
  b.node("Conv", ["s", "w", "b"], "c2");
  b.node("Add", ["c1", "c2"], "out");
  return b.model(["out"], opset);
}

const rangesFor = (values: string[], r: Range = { min: -2, max: 3 }) => new Map(values.map((v, i) => [v, { min: r.min * (i + 1), max: r.max }]));

Plan("planning does not change the model and lists each calibrated value once, in graph order", () => {
  const m = sharedBiasModel();
  const before = encodeModel(m).bytes;
  const plan = planQuantization(m);
  assert.equal(encodeModel(m).bytes, before);
  assert.equal(plan.activations, ["x", "c1", "s", "c2", "out"]);
  assert.equal(plan.options.activations, "uint8");
  assert.ok(plan.nodes.every((n) => n.quantized));
});

Plan("a bias shared by two nodes with different input scales is duplicated per node; the weight is shared", () => {
  const m = sharedBiasModel();
  const plan = planQuantization(m);
  quantize(m, rangesFor(plan.activations));
  const g = m.graph;
  assert.equal(qdqProblems(m, "uint8"), []);
  const [c1, c2] = nodesOf(g, "Conv");
  assert.is.not(c1.inputs[2], c2.inputs[2], "one int32 bias per node");
  assert.is(c1.inputs[1], c2.inputs[1], "one int8 weight for both");
  const s1 = g.constant(dqOf(g, c1.inputs[2])!.inputs[1])!.toFloat32(), s2 = g.constant(dqOf(g, c2.inputs[2])!.inputs[1])!.toFloat32();
  assert.not.equal(Array.from(s1), Array.from(s2));
  assert.not.ok(g.constant("b") || g.constant("w"), "float weight and bias are gone");
});

Plan("quantizing is deterministic: two copies give the same bytes, names follow ORT", () => {
  const a = sharedBiasModel(), b = cloneModel(a);
  const r = rangesFor(planQuantization(a).activations);
  quantize(a, r);
  quantize(b, r);
  assert.equal(encodeModel(a).bytes, encodeModel(b).bytes);
  for (const name of ["w_quantized", "w_scale", "w_zero_point", "b_quantized", "b_quantized_1", "x_scale", "x_zero_point"]) {
    assert.ok(a.graph.constant(name), name);
  }
  assert.ok(a.graph.nodes.some((n) => n.outputs.includes("x_dequantized")));
});

Plan("excluded nodes stay float, with their float weights", () => {
  const m = sharedBiasModel();
  const opts = { exclude: ["Conv_c2"] };
  const plan = planQuantization(m, opts);
  assert.equal(plan.nodes.find((n) => n.node === "Conv_c2"), {
    node: "Conv_c2",
    opType: "Conv",
    kind: "weighted",
    quantized: false,
    reason: "excluded by options",
  });
  const report = quantize(m, rangesFor(plan.activations), opts);
  const c2 = nodesOf(m.graph, "Conv")[1];
  assert.equal(c2.inputs.slice(1), ["w", "b"]);
  assert.is(m.graph.constant("w")?.dtype, "float32");
  assert.equal(report.skipped.map((s) => s.node), ["Conv_c2"]);
});

Plan("opset below 13 is refused with an InputError", () => {
  const m = sharedBiasModel(12);
  for (const f of [() => planQuantization(m), () => quantize(m, new Map())]) {
    assert.throws(f, (e: Error) => e instanceof InputError && /opset 12/.test(e.message) && !/\n/.test(e.message));
  }
});

Plan("a missing or non-finite range is an InputError naming the value, and nothing changes", () => {
  const m = sharedBiasModel();
  const before = encodeModel(m).bytes;
  const r = rangesFor(planQuantization(m).activations);
  r.delete("s");
  assert.throws(() => quantize(m, r), (e: Error) => e instanceof InputError && e.message.includes('"s"'));
  r.set("s", { min: 0, max: NaN });
  assert.throws(() => quantize(m, r), (e: Error) => e instanceof InputError && e.message.includes('"s"'));
  r.set("s", { min: 1, max: 0 });
  assert.throws(() => quantize(m, r), /min ≤ max/);
  assert.equal(encodeModel(m).bytes, before);
});

Plan("constant [0,0] ranges and all-zero constants give scale 1, never 0, inf or NaN", () => {
  const b = new Builder();
  b.input("x", [1, 2, 2, 2]);
  b.init("zeros", [1, 2, 1, 1], new Float32Array(2));
  b.init("w", [2, 2, 1, 1], new Float32Array(4));
  b.node("Mul", ["x", "zeros"], "z");
  b.node("Conv", ["z", "w"], "y");
  const m = b.model(["y"]);
  const plan = planQuantization(m);
  const report = quantize(m, new Map(plan.activations.map((v) => [v, { min: 0, max: 0 }])));
  assert.equal(qdqProblems(m, "uint8"), []);
  for (const t of m.graph.initializers.values()) if (t.name.endsWith("_scale")) assert.equal(Array.from(t.toFloat32()).every((s) => s === 1), true, t.name);
  assert.equal(report.weights.zeroChannels, [{ node: "Conv_y", weight: "w", channels: [0, 1] }]);
});

Plan("without the bias-overflow guard, channels whose int32 bias overflows are saturated, counted and named", () => {
  const b = new Builder();
  b.input("x", [1, 2, 2, 2]);
  b.init("w", [2, 2, 1, 1], new Float32Array([1, -1, 1e-20, 1e-20]));
  b.init("bias", [2], new Float32Array([0.5, 0.5]));
  b.node("Conv", ["x", "w", "bias"], "y");
  const m = b.model(["y"]);
  const report = quantize(m, rangesFor(planQuantization(m).activations), { biasOverflowGuard: false });
  assert.is(report.bias.saturated, 1, "0.5 / (x_scale · 1e-20/127) does not fit int32");
  assert.equal(report.bias.saturatedTensors, ["bias"]);
  const q = m.graph.constant("bias_quantized")!.view() as Int32Array;
  assert.is(q[1], 2 ** 31 - 1, "clamped, not wrapped");
});

Plan("grouped and weightless cases: non-constant weights make both inputs activations, bias stays float", () => {
  const b = new Builder();
  b.input("x", [1, 2, 3, 3]);
  b.input("wdyn", [2, 2, 1, 1]);
  b.weight("bias", [2], 0.1);
  b.node("Conv", ["x", "wdyn", "bias"], "y", { pads: ints([0, 0, 0, 0]), group: int(1) });
  const m = b.model(["y"]);
  const plan = planQuantization(m);
  assert.equal(plan.activations, ["x", "wdyn", "y"]);
  const report = quantize(m, rangesFor(plan.activations));
  assert.is(nodesOf(m.graph, "Conv")[0].inputs[2], "bias");
  assert.equal(report.weights.tensors, 0);
  assert.equal(qdqProblems(m, "uint8"), []);
});

Plan("a graph input that is also a graph output stays as it is; its other readers get QDQ", () => {
  const b = new Builder();
  b.input("x", [2, 3]);
  b.node("Sigmoid", ["x"], "y");
  const m = b.model(["x", "y"]);
  quantize(m, rangesFor(planQuantization(m).activations));
  assert.equal(m.graph.outputs.map((o) => o.name), ["x", "y"]);
  assert.is(nodesOf(m.graph, "Sigmoid")[0].inputs[0], "x_dequantized");
  assert.is(m.graph.producer("y")?.opType, "DequantizeLinear");
  assert.equal(qdqProblems(m, "uint8"), []);
});

Plan("registry: every op of the normalized PP-OCR models has an explicit rule", () => {
  const ops = ["Conv", "ConvTranspose", "MatMul", "Add", "Mul", "Sub", "Div", "Pow", "Sqrt", "Concat", "GlobalAveragePool",
    "AveragePool", "MaxPool", "HardSigmoid", "Sigmoid", "Relu", "Clip", "Resize", "Reshape", "Transpose", "Squeeze", "Slice",
    "Shape", "Cast", "Softmax", "ReduceMean", "Gemm", "HardSwish", "Unsqueeze", "Gather", "Flatten"];
  const registered = new Set(registeredOpTypes());
  for (const op of ops) assert.ok(registered.has(op), op);
  assert.is(ruleFor("Conv").kind, "weighted");
  assert.is(ruleFor("Reshape").kind, "shared");
  assert.is(ruleFor("Shape").kind, "float");
  assert.is(ruleFor("NoSuchOp").kind, "float");
  assert.is(ruleFor("Conv", "com.microsoft").kind, "float");
});

Plan.run();
