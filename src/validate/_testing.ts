/**
 * Test helpers (not part of the API): profiles shaped like the built-in
 * ones, built in code so the rules' tests do not depend on profile files,
 * and a small conv net with QDQ versions of it to break rule by rule.
 *
 * @module
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { Tensor, type TypedArray } from "../ir/tensor.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import { planQuantization } from "../quantize/plan.ts";
import { quantize } from "../quantize/quantize.ts";
import type { QuantizeOptions } from "../quantize/types.ts";
import type { OpLimits, PassName, PassRule, TargetProfile } from "../targets/types.ts";

const INTEGER_OPS = [
  "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu", "PRelu",
  "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softmax", "GlobalAveragePool", "AveragePool", "MaxPool",
  "ReduceMean", "Concat", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Split",
  "Resize", "Pad", "Pow", "Sqrt",
];

function passes(allowed: Partial<Record<PassName, boolean>>): Record<PassName, PassRule> {
  const names: PassName[] = ["cross-layer-equalization", "smoothquant", "bias-overflow-guard", "bias-correction", "float-fallback"];
  return Object.fromEntries(names.map((n) => [n, { allowed: allowed[n] ?? true, default: false }])) as Record<PassName, PassRule>;
}

/** Ops with no limits, plus `limits` for some. */
export function opsWith(limits: Record<string, OpLimits> = {}): Record<string, OpLimits> {
  return { ...Object.fromEntries(INTEGER_OPS.map((o) => [o, {}])), ...limits };
}

/** Like npu-int8-only: int8 symmetric everything, per-channel weights, int32 bias, no float. */
export function npuLike(over: Partial<TargetProfile> = {}): TargetProfile {
  return {
    name: "npu-test",
    description: "integer-only NPU (test)",
    weights: { dtype: "int8", symmetric: true, perChannel: true, narrowRange: true },
    activations: { dtype: "int8", symmetric: true },
    bias: "int32",
    powerOfTwoScales: false,
    floatFallback: false,
    ops: opsWith(),
    opset: { min: 13, max: 21 },
    staticShapes: true,
    passes: passes({ "float-fallback": false }),
    ...over,
  };
}

/** Like cpu-mixed: ONNX Runtime on a CPU, uint8 asymmetric activations, float fallback. */
export function cpuLike(over: Partial<TargetProfile> = {}): TargetProfile {
  return npuLike({
    name: "cpu-test",
    description: "ONNX Runtime CPU (test)",
    activations: { dtype: "uint8", symmetric: false },
    floatFallback: true,
    staticShapes: false,
    opset: { min: 13, max: 22 },
    passes: passes({}),
    ...over,
  });
}

/** Like asic-per-tensor: per-tensor symmetric weights, power-of-two scales, no float. */
export function asicLike(over: Partial<TargetProfile> = {}): TargetProfile {
  return npuLike({
    name: "asic-test",
    description: "per-tensor ASIC (test)",
    weights: { dtype: "int8", symmetric: true, perChannel: false, narrowRange: true },
    powerOfTwoScales: true,
    ...over,
  });
}

/**
 * x[1,4,8,8] → Conv "conv" (3×3, bias) → Relu → Conv "dw" (depthwise 3×3,
 * bias) → Add "add" (constant [1,6,1,1]) → y[1,6,8,8]; opset 13, static shapes.
 */
export function convNet(): Model {
  const b = new Builder();
  b.input("x", [1, 4, 8, 8]);
  b.weight("w1", [6, 4, 3, 3], 0.5);
  b.weight("b1", [6], 0.2);
  b.weight("w2", [6, 1, 3, 3], 0.5);
  b.weight("b2", [6], 0.2);
  b.weight("k", [1, 6, 1, 1], 1);
  const pads = { pads: ints([1, 1, 1, 1]) };
  named(b, "conv", "Conv", ["x", "w1", "b1"], "c1", pads);
  named(b, "relu", "Relu", ["c1"], "r1");
  named(b, "dw", "Conv", ["r1", "w2", "b2"], "c2", { ...pads, group: int(6) });
  named(b, "add", "Add", ["c2", "k"], "y");
  const m = b.model(["y"]);
  m.graph.outputs[0].shape = [1, 6, 8, 8];
  return m;
}

function named(b: Builder, name: string, op: string, inputs: string[], out: string, attrs = {}): void {
  b.node(op, inputs, out, attrs);
  b.g.nodes[b.g.nodes.length - 1].name = name;
}

/** A QDQ copy of `model`, every planned activation given the range [-3, 3] (no calibration run). */
export function qdq(model: Model, opts: Partial<QuantizeOptions> = {}): Model {
  const m = cloneModel(model);
  const plan = planQuantization(m, opts);
  quantize(m, new Map(plan.activations.map((v) => [v, { min: -3, max: 3 }])), opts);
  return m;
}

/** npu-like settings: int8 symmetric activations, per-channel weights. */
export const NPU_SETTINGS: Partial<QuantizeOptions> = { activations: "int8", symmetricActivations: true, perChannel: true };

/** The node named `name`. */
export function nodeNamed(model: Model, name: string): Node {
  const n = model.graph.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node "${name}"`);
  return n;
}

/** The DequantizeLinear feeding input `i` of node `name`. */
export function dqInput(model: Model, name: string, i: number): Node {
  const dq = model.graph.producer(nodeNamed(model, name).inputs[i]);
  if (dq?.opType !== "DequantizeLinear") throw new Error(`input ${i} of "${name}" is not dequantized`);
  return dq;
}

/** Replaces the initializer named `name` by `data`, keeping its dims when the size allows. */
export function setInit(model: Model, name: string, data: TypedArray): void {
  const old = model.graph.constant(name);
  if (!old) throw new Error(`no initializer "${name}"`);
  model.graph.addInitializer(Tensor.fromArray(name, old.size === data.length ? old.dims : [data.length], data));
}
