/**
 * Op type → how the op is quantized, like ONNX Runtime's `registry.py`, with
 * one file per op family under `ops/`. An op type without an entry gets
 * {@linkcode DEFAULT_RULE}: it stays float, and its neighbours put a
 * DequantizeLinear before it and a QuantizeLinear after it where they need one.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { ACTIVATION_RULES } from "./ops/activation.ts";
import { CONV_RULES } from "./ops/conv.ts";
import { ELEMENTWISE_RULES } from "./ops/elementwise.ts";
import { FLOAT_RULES } from "./ops/float.ts";
import { MATMUL_RULES } from "./ops/matmul.ts";
import { MOVEMENT_RULES } from "./ops/movement.ts";
import { POOL_RULES } from "./ops/pool.ts";

/**
 * How an op is quantized:
 * - `weighted`: Conv/ConvTranspose/Gemm/MatMul; a constant weight becomes an
 *   int8 initializer + DequantizeLinear, a constant bias int32, the float
 *   inputs and the output get QDQ.
 * - `compute`: arithmetic, activations, pools: float inputs and the output
 *   get QDQ, constant float inputs become quantized initializers.
 * - `shared`: data movement; quantized only when its data input is, and its
 *   output reuses the input's scale and zero point (no requantization).
 * - `float`: left alone (non-float data, or no integer form worth having).
 */
export type OpKind = "weighted" | "compute" | "shared" | "float";

/** Where a weighted op's constant weight and bias are. */
export interface WeightSpec {
  /** Input index of the weight. */
  input: number;
  /** Per-channel axis of the weight (its output channels); `undefined`: per tensor only. */
  axis: number | undefined;
  /** Input index of the bias, when the op has one. */
  bias?: number;
  /** Bias scale = multiplier × input scale × weight scale (Gemm's alpha). */
  biasMultiplier?: number;
}

/** How the output of a quantized op gets its scale and zero point. */
export type OutputParams = "calibrated" | "shared" | "softmax" | "none";

/** One registry entry. */
export interface OpRule {
  kind: OpKind;
  /** Inputs quantized when float: indices, or `"all"`. Default `[0]`. */
  inputs?: readonly number[] | "all";
  /** How the outputs are quantized. Default: `"calibrated"`, `"shared"` for `shared` ops. */
  output?: OutputParams | ((node: Node, graph: Graph) => OutputParams);
  /** `weighted` ops: the constant weight, or `undefined` when the weight is not a constant float32. */
  weight?: (node: Node, graph: Graph) => WeightSpec | undefined;
  /**
   * Relu and Clip: whether the node may be folded into the quantized op
   * before it (asymmetric activations only: the QuantizeLinear of that op,
   * with the activation's own range, clamps exactly as the node does).
   */
  foldable?: (node: Node, graph: Graph) => boolean;
  /** Why the op is quantized this way (docs and skip reasons). */
  note: string;
}

/** The rule of op types with no entry: stay float. */
export const DEFAULT_RULE: OpRule = { kind: "float", note: "no quantization rule for this op type" };

const RULES: ReadonlyMap<string, OpRule> = new Map<string, OpRule>([
  ...Object.entries(CONV_RULES),
  ...Object.entries(MATMUL_RULES),
  ...Object.entries(ELEMENTWISE_RULES),
  ...Object.entries(ACTIVATION_RULES),
  ...Object.entries(POOL_RULES),
  ...Object.entries(MOVEMENT_RULES),
  ...Object.entries(FLOAT_RULES),
]);

/**
 * The rule for a node's op type (default domain), or {@linkcode DEFAULT_RULE}.
 *
 * @example
 * ```ts
 * ruleFor("Conv").kind; // "weighted"
 * ruleFor("Reshape").kind; // "shared"
 * ruleFor("NoSuchOp").kind; // "float"
 * ruleFor("NoSuchOp").note; // "edgeq has no quantization rule for NoSuchOp"
 * ```
 */
export function ruleFor(opType: string, domain = ""): OpRule {
  if (domain !== "" && domain !== "ai.onnx") return { kind: "float", note: `custom domain "${domain}"` };
  return RULES.get(opType) ?? { ...DEFAULT_RULE, note: `edgeq has no quantization rule for ${opType}` };
}

/**
 * Every op type with an entry, sorted.
 *
 * @example
 * ```ts
 * registeredOpTypes().includes("Conv"); // true
 * ```
 */
export function registeredOpTypes(): string[] {
  return [...RULES.keys()].sort();
}
