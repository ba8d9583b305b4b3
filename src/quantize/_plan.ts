/**
 * The planner's full result, with graph references: which values get
 * QuantizeLinear → DequantizeLinear and where their parameters come from,
 * what each node does with its inputs, and which Relu/Clip fold away.
 * Pure: reads the model, changes nothing.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { Graph } from "../ir/graph.ts";
import { topologicalOrder } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { dtypeResolver } from "./_dtypes.ts";
import { type ScaleZeroPoint, softmaxParams, wideType } from "./params.ts";
import { type OpRule, type OutputParams, ruleFor, type WeightSpec } from "./registry.ts";
import type { QuantizeOptions } from "./types.ts";

/** Ops whose input must not be rounded to a linear int8 grid near 0. */
export const LOG_DOMAIN: ReadonlySet<string> = new Set(["Log", "Reciprocal"]);
/** Ops through which what a Log reads is computed, and stays float with it. */
export const LOG_CHAIN: ReadonlySet<string> = new Set([
  "Add", "Sub", "Mul", "Div", "Sqrt", "Pow", "Abs", "Clip", "Max", "Min", "Relu", "MatMul", "Gemm", "Conv",
  "Slice", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Gather", "Split", "Flatten",
]);

/** Where a quantized value's scale and zero point come from. */
export type ParamSource =
  | { kind: "calibrated" }
  | { kind: "shared"; from: string }
  | { kind: "fixed"; params: ScaleZeroPoint };

/** A float value that gets QuantizeLinear → DequantizeLinear. */
export interface ValuePlan {
  name: string;
  source: ParamSource;
  /** The node whose rule asked for it (reports count its Q/DQ there). */
  owner: Node;
}

/** What one node does. */
export interface NodePlan {
  node: Node;
  rule: OpRule;
  quantized: boolean;
  /** Why the node (or its bias) stays float. */
  reason?: string;
  /** Constant float inputs quantized as activation-typed initializers. */
  constants: number[];
  /** The constant weight, quantized int8; `outputs` is the op's output channel count. */
  weight?: WeightSpec & { perChannel: boolean; outputs: number };
  /** Input index of a bias quantized int32. */
  bias?: number;
  /** Relu/Clip folded into this producer. */
  foldedInto?: Node;
}

/** A Relu/Clip removed: its producer writes `to` instead of `from`. */
export interface Fold {
  node: Node;
  producer: Node;
  from: string;
  to: string;
}

/** Everything {@linkcode quantize} needs to act. */
export interface DetailedPlan {
  values: Map<string, ValuePlan>;
  /** In topological order. */
  nodes: NodePlan[];
  folds: Fold[];
  /** Topological position of each value (graph inputs first), for ordering. */
  position: Map<string, number>;
  /** Float nodes that compute what a Log reads: they keep reading the unquantized value. */
  logDomain: Set<Node>;
}

/**
 * Plans QDQ for `model` (opset ≥ 13, normalized). Throws InputError below
 * opset 13, since per-channel QuantizeLinear/DequantizeLinear need 13.
 */
export function detailedPlan(model: Model, opts: QuantizeOptions): DetailedPlan {
  const opset = model.opset();
  if (opset < 13) {
    throw new InputError(`Cannot quantize a model at opset ${opset}: QDQ needs opset 13 or later (normalize it first)`);
  }
  const g = model.graph;
  const order = topologicalOrder(g);
  const dtype = dtypeResolver(g);
  const isFloat = (v: string | undefined): v is string => !!v && dtype(v) === "float32";
  const excluded = new Set(opts.exclude);
  const floatOut = new Set((opts.floatOutputs ?? []).filter((n) => excluded.has(n)));
  const fromExcluded = (v: string) => floatOut.size > 0 && floatOut.has(g.producer(v)?.name ?? "\0");
  const values = new Map<string, ValuePlan>();
  const plans = new Map<Node, NodePlan>();
  const folds: Fold[] = [];
  const foldedProducer = new Map<string, Node>();

  const request = (v: string, owner: Node, source: ParamSource = { kind: "calibrated" }, force = false) => {
    if (force || !values.has(v)) values.set(v, { name: v, source, owner });
  };
  const skip = (node: Node, rule: OpRule, reason: string): NodePlan => ({ node, rule, quantized: false, reason, constants: [] });

  // What a float Log reads, back through elementwise and data movement: computed in float.
  const logNodes = new Set<Node>();
  for (const node of [...order].reverse()) {
    if (LOG_CHAIN.has(node.opType) && !excluded.has(node.name) && node.outputs.every((o) => !o || !isFloat(o) || readInLogDomain(o))) {
      if (node.outputs.some((o) => isFloat(o))) logNodes.add(node);
    }
  }

  // Pass 1: weighted and compute ops in topological order, folding Relu/Clip.
  for (const node of order) {
    const rule = ruleFor(node.opType, node.domain);
    let plan: NodePlan;
    if (excluded.has(node.name)) plan = skip(node, rule, "excluded by options");
    else if (hasSubgraph(node)) plan = skip(node, rule, "has subgraphs");
    else if (logNodes.has(node)) plan = skip(node, rule, "computes what a Log reads (or a Sqrt, where floatSqrt is on): kept float (int8 rounds its small values to 0, where log is −∞ and √ steepest)");
    else if (node.opType === "Sqrt" && isFloatLog(node)) plan = skip(node, rule, "Sqrt reads float on float-fallback targets (int8 rounds what it reads near 0, where √ is steepest)");
    else if (rule.kind === "float") plan = skip(node, rule, rule.note);
    else if (rule.kind === "shared" && outputParams(rule, node, g) === "shared") continue; // pass 2
    else {
      const fold = tryFold(node, rule);
      plan = fold ?? planCompute(node, rule);
    }
    plans.set(node, plan);
  }

  function tryFold(node: Node, rule: OpRule): NodePlan | undefined {
    if (!rule.foldable || opts.symmetricActivations) return undefined;
    const u = node.inputs[0];
    const y = node.outputs[0];
    const producer = foldedProducer.get(u) ?? g.producer(u);
    if (!producer || !isFloat(u) || !isFloat(y) || g.isOutput(u) || g.consumers(u).length !== 1) return undefined;
    const pp = plans.get(producer);
    const owns = pp?.quantized && values.get(u)?.owner === producer && values.get(u)?.source.kind === "calibrated";
    if (!owns || !rule.foldable(node, g)) return undefined;
    values.delete(u);
    request(y, producer, { kind: "calibrated" }, true);
    foldedProducer.set(y, producer);
    folds.push({ node, producer, from: u, to: y });
    return { node, rule, quantized: true, constants: [], foldedInto: producer };
  }

  function planCompute(node: Node, rule: OpRule): NodePlan {
    const spec = rule.kind === "weighted" ? rule.weight?.(node, g) : undefined;
    const candidates = rule.inputs === "all" ? node.inputs.map((_, i) => i) : rule.inputs ?? [0];
    const acts: number[] = [];
    const constants: number[] = [];
    for (const i of candidates) {
      if (i === spec?.input || i === spec?.bias || !isFloat(node.inputs[i])) continue;
      (g.constant(node.inputs[i]) ? constants : acts).push(i);
    }
    if (acts.length === 0) return skip(node, rule, "no float activation input");
    // Rounding its other inputs would add error to a node that computes in float anyway.
    if (acts.some((i) => fromExcluded(node.inputs[i]))) return skip(node, rule, "reads a float output of an excluded node: kept float with it");
    const plan: NodePlan = { node, rule, quantized: true, constants };
    if (spec) {
      const perChannel = opts.perChannel && spec.axis !== undefined;
      plan.weight = { ...spec, perChannel, outputs: outputChannels(node, g) };
      // A float bias is what the options asked for, not a problem to report.
      if (spec.bias !== undefined && opts.bias === "int32") {
        const why = biasProblem(node, spec, acts.includes(0));
        if (why) plan.reason = why;
        else plan.bias = spec.bias;
      }
    }
    for (const i of acts) request(node.inputs[i], node);
    const out = node.outputs[0];
    const mode = outputParams(rule, node, g);
    if (isFloat(out) && mode === "calibrated" && !readInLogDomain(out)) request(out, node, { kind: "calibrated" }, true);
    if (isFloat(out) && mode === "softmax") {
      const type = opts.wideActivations?.includes(out) ? wideType(opts.activations) : opts.activations;
      request(out, node, { kind: "fixed", params: softmaxParams(type, opts.symmetricActivations, opts.powerOfTwoScales) }, true);
    }
    return plan;
  }

  /**
   * A Log/Reciprocal the target runs in float by its own rules, or a Sqrt
   * under `floatSqrt`, and not by exclusion. A value only such nodes read, or
   * the elementwise and data-movement nodes that compute such a value, stays
   * float: a linear int8 grid maps its small values to 0, and log(0) is −∞ (a
   * spectrum's magnitude in silero_vad spans 1e8). The op that starts the
   * chain still reads quantized inputs.
   */
  function isFloatLog(n: Node): boolean {
    if (excluded.has(n.name) || n.domain !== "") return false;
    return (LOG_DOMAIN.has(n.opType) && ruleFor(n.opType, n.domain).kind === "float") || (opts.floatSqrt === true && n.opType === "Sqrt");
  }

  function readInLogDomain(v: string): boolean {
    const readers = g.consumers(v);
    return !g.isOutput(v) && readers.length > 0 && readers.every((c) =>
      logNodes.has(c) || isFloatLog(c)
    );
  }

  function biasProblem(node: Node, spec: WeightSpec, inputQuantized: boolean): string | undefined {
    const b = g.constant(node.inputs[spec.bias!]);
    if (!b || b.dtype !== "float32") return "bias kept float: not a constant float32";
    if (!inputQuantized) return "bias kept float: input 0 is not a quantized activation";
    const m = outputChannels(node, g);
    const ok = b.dims.length <= 2 && (b.size === m || (node.opType === "Gemm" && b.size === 1)) &&
      (b.dims.length < 2 || b.dims[0] === 1);
    return ok ? undefined : `bias kept float: shape [${b.dims.join(",")}] is not [${m}]`;
  }

  // Pass 2a, backwards: a chain of data movement between an unquantized float
  // value (a graph input, say) and a quantized consumer moves the consumer's
  // quantization to the chain's start, so the chain runs on integers too
  // (an NHWC input's Transpose, a Flatten before the first Gemm).
  for (const node of [...order].reverse()) {
    if (plans.has(node) || excluded.has(node.name) || hasSubgraph(node)) continue;
    const data = node.inputs[0];
    if (!isFloat(data) || values.has(data) || g.constant(data) || fromExcluded(data)) continue;
    if (node.outputs.some((o) => isFloat(o) && values.has(o))) request(data, node);
  }

  // Pass 2: data movement, in order, so chains share one set of parameters.
  for (const node of order) {
    if (plans.has(node)) continue;
    const rule = ruleFor(node.opType, node.domain);
    const data = node.inputs[0];
    if (!values.has(data)) {
      plans.set(node, skip(node, rule, isFloat(data) ? "data input not quantized: stays float" : "data input is not float32"));
      continue;
    }
    for (const o of node.outputs) if (isFloat(o)) request(o, node, { kind: "shared", from: data }, true);
    plans.set(node, { node, rule, quantized: true, constants: [] });
  }

  const position = new Map<string, number>();
  g.inputs.forEach((v, i) => position.set(v.name, i - g.inputs.length));
  order.forEach((n, i) => n.outputs.forEach((o) => o && position.set(o, i)));
  for (const v of values.keys()) {
    if (!isFloat(v)) throw new Error(`planner bug: QuantizeLinear planned on non-float value "${v}"`);
  }
  const logDomain = new Set(logNodes);
  for (const n of order) if (isFloatLog(n)) logDomain.add(n);
  return { values, nodes: order.map((n) => plans.get(n)!), folds, position, logDomain };
}

/** The output mode of a rule for one node. */
export function outputParams(rule: OpRule, node: Node, graph: Graph): OutputParams {
  const o = rule.output;
  if (typeof o === "function") return o(node, graph);
  return o ?? (rule.kind === "shared" ? "shared" : rule.kind === "float" ? "none" : "calibrated");
}

/** Output channels of a weighted op (length its bias must have). */
export function outputChannels(node: Node, graph: Graph): number {
  const w = graph.constant(node.inputs[1])!;
  switch (node.opType) {
    case "ConvTranspose":
      return w.dims[1] * node.attrInt("group", 1);
    case "Gemm":
      return node.attrInt("transB", 0) ? w.dims[0] : w.dims[1];
    case "MatMul":
      return w.dims[w.dims.length - 1];
    default:
      return w.dims[0];
  }
}

function hasSubgraph(n: Node): boolean {
  for (const a of n.attrs.values()) if (a.type === "graph" || a.type === "graphs") return true;
  return false;
}
