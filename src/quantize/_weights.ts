/**
 * Constant inputs of quantized nodes as integer initializers + DequantizeLinear:
 * int8 weights (shared by every node reading the same weight on the same
 * axis), int32 biases (one per node: input scales differ), and
 * activation-typed constants from their own min/max.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { QdqEditor } from "./_edit.ts";
import type { NodePlan } from "./_plan.ts";
import { activationParams, activationQRange, type ScaleZeroPoint, weightQRange } from "./params.ts";
import { minMax, quantizeBias, quantizeValues, quantizeWeight } from "./quantize_tensor.ts";
import type { QuantizeReport } from "./report.ts";
import type { ActivationStorage, QuantizeOptions } from "./types.ts";

/** A quantized weight, reused by every node that reads the same weight on the same axis. */
export interface WeightDq {
  output: string;
  scale: Float32Array;
}

/** Replaces a node's weight (and bias) by int8 (int32) initializers + DequantizeLinear. */
export function quantizeNodeWeights(
  np: NodePlan,
  params: Map<string, ScaleZeroPoint>,
  o: QuantizeOptions,
  ed: QdqEditor,
  report: QuantizeReport,
  cache: Map<string, WeightDq>,
): void {
  const { node } = np;
  const spec = np.weight!;
  const wName = node.inputs[spec.input];
  const axis = spec.perChannel ? spec.axis : undefined;
  const floor = weightScaleFloor(np, wName, params.get(node.inputs[0])?.scale, axis === undefined ? 1 : ed.graph.constant(wName)!.dims[axis], o, ed.graph);
  // A weight is shared between nodes unless the guard must raise a scale
  // for this node's bias (then it gets a copy of its own).
  const key = `${wName}|${axis ?? ""}`;
  let wq = cache.get(key);
  if (!wq || (floor && floor.some((f, c) => f > wq!.scale[floor.length === 1 ? 0 : c]))) {
    const fresh = quantizeWeightTensor(node, wName, axis, o, ed, report, floor);
    if (!cache.has(key)) cache.set(key, fresh);
    wq = fresh;
  }
  node.inputs[spec.input] = wq.output;
  if (np.reason) report.bias.float.push({ node: node.label, reason: np.reason });
  if (np.bias !== undefined) quantizeNodeBias(np, params.get(node.inputs[0])!.scale, wq.scale, ed, report);
}

/**
 * The floor under a weight's scales: the bias-overflow guard's (when on and
 * the node has a bias) and the scales `o.weightScales` pins, the larger of
 * the two per channel; `undefined` when neither applies.
 */
export function weightScaleFloor(
  np: NodePlan,
  wName: string,
  inputScale: number | undefined,
  channels: number,
  o: QuantizeOptions,
  graph: Graph,
): Float64Array | undefined {
  const bias = o.biasOverflowGuard && np.bias !== undefined && inputScale !== undefined
    ? biasScaleFloor(np, inputScale, channels, graph)
    : undefined;
  const pinned = o.weightScales?.get(wName);
  if (!pinned || (pinned.length !== channels && pinned.length !== 1)) return bias;
  const floor = new Float64Array(channels);
  for (let c = 0; c < channels; c++) floor[c] = Math.max(bias ? bias[c] : 0, pinned[pinned.length === 1 ? 0 : c]);
  return floor;
}

/** Headroom below int32's limit, as ONNX Runtime's guard keeps (≈ 1.0001). */
const BIAS_LIMIT = (2 ** 31 - 1) / 1.0001;

/**
 * The smallest weight scale per weight channel that keeps the node's int32
 * bias in range: |b_i| / (multiplier · inputScale · s_w) ≤ BIAS_LIMIT, with
 * bias element i read against weight channel i mod `channels`.
 */
export function biasScaleFloor(np: NodePlan, inputScale: number, channels: number, graph: Graph): Float64Array {
  const { node } = np;
  const b = graph.constant(node.inputs[np.bias!])!.toFloat32();
  const beta = node.opType === "Gemm" ? Math.abs(node.attrFloat("beta", 1)) : 1;
  const denom = (np.weight!.biasMultiplier ?? 1) * inputScale * BIAS_LIMIT;
  const floor = new Float64Array(channels);
  for (let i = 0; i < b.length; i++) {
    const need = (Math.abs(b[i]) * beta) / denom;
    const c = i % channels;
    if (need > floor[c]) floor[c] = need;
  }
  return floor;
}

function quantizeWeightTensor(
  node: Node,
  wName: string,
  axis: number | undefined,
  o: QuantizeOptions,
  ed: QdqEditor,
  report: QuantizeReport,
  minScale?: Float64Array,
): WeightDq {
  const g = ed.graph;
  const w = g.constant(wName)!;
  let q;
  try {
    q = quantizeWeight(w.toFloat32(), w.dims, { axis, q: weightQRange(o.reduceRange), powerOfTwo: o.powerOfTwoScales, minScale });
  } catch (e) {
    throw new InputError(`Cannot quantize weight "${wName}" of node "${node.label}": ${(e as Error).message}`);
  }
  const cdims = axis === undefined ? [] : [q.scale.length];
  const qName = ed.init(`${wName}_quantized`, w.dims, q.values, "int8");
  const sName = ed.init(`${wName}_scale`, cdims, q.scale);
  const zName = ed.init(`${wName}_zero_point`, cdims, new Int8Array(q.scale.length), "int8");
  const dqOut = ed.name(`${wName}_dequantized`);
  g.addNode(ed.qdq("DequantizeLinear", wName, [qName, sName, zName], dqOut, node.opType, axis), { before: node });
  report.weights.tensors++;
  if (axis !== undefined) report.weights.perChannel++;
  if (q.zeroChannels.length) report.weights.zeroChannels.push({ node: node.label, weight: wName, channels: q.zeroChannels });
  if (q.tinyChannels.length) report.weights.tinyChannels.push({ node: node.label, weight: wName, channels: q.tinyChannels });
  // A pinned scale is the pinning pass's choice, not a raise: only channels the bias floor lifted above the pin count.
  const pinned = o.weightScales?.get(wName);
  const raised = pinned ? q.raisedChannels.filter((c) => !(q.scale[c] <= pinned[pinned.length === 1 ? 0 : c])) : q.raisedChannels;
  if (raised.length) report.weights.raisedChannels.push({ node: node.label, weight: wName, channels: raised });
  return { output: dqOut, scale: q.scale };
}

function quantizeNodeBias(
  np: NodePlan,
  inputScale: number,
  weightScale: Float32Array,
  ed: QdqEditor,
  report: QuantizeReport,
): void {
  const { node } = np;
  const g = ed.graph;
  const bName = node.inputs[np.bias!];
  const b = g.constant(bName)!;
  let data = b.toFloat32();
  let dims = [...b.dims];
  const beta = node.opType === "Gemm" ? node.attrFloat("beta", 1) : 1;
  if (beta !== 1) data = data.map((x) => x * beta);
  if (weightScale.length > 1 && data.length === 1) {
    // A size-1 Gemm bias broadcasts; per-channel scales need one element each.
    data = new Float32Array(np.weight!.outputs).fill(data[0]);
    dims = [data.length];
  }
  const qb = quantizeBias(data, inputScale, weightScale, np.weight!.biasMultiplier ?? 1);
  if (qb.underflow) {
    report.bias.float.push({ node: node.label, reason: "bias kept float: its scale underflows float32" });
    return;
  }
  if (beta !== 1) node.attrs.set("beta", { type: "float", value: 1 });
  const axis = qb.scale.length > 1 ? dims.length - 1 : undefined;
  const cdims = axis === undefined ? [] : [qb.scale.length];
  const qName = ed.init(`${bName}_quantized`, dims, qb.values, "int32");
  const sName = ed.init(`${bName}_scale`, cdims, qb.scale);
  const zName = ed.init(`${bName}_zero_point`, cdims, new Int32Array(qb.scale.length), "int32");
  const dqOut = ed.name(`${bName}_dequantized`);
  g.addNode(ed.qdq("DequantizeLinear", bName, [qName, sName, zName], dqOut, node.opType, axis), { before: node });
  node.inputs[np.bias!] = dqOut;
  report.bias.tensors++;
  report.bias.values += data.length;
  report.bias.saturated += qb.saturated;
  if (qb.saturated) report.bias.saturatedTensors.push(bName);
}

/** A constant non-weight input as an activation-typed initializer + DequantizeLinear; returns the DQ output. */
export function quantizeConstant(c: string, node: Node, o: QuantizeOptions, ed: QdqEditor): string {
  const t = ed.graph.constant(c)!;
  const data = t.toFloat32();
  let r;
  try {
    r = minMax(data);
  } catch (e) {
    throw new InputError(`Cannot quantize constant "${c}" of node "${node.label}": ${(e as Error).message}`);
  }
  const p = activationParams(r, o.activations, o.symmetricActivations, o.powerOfTwoScales);
  const q = activationQRange(o.activations, o.symmetricActivations);
  const qName = ed.init(`${c}_quantized`, t.dims, quantizeValues(data, p, q), o.activations);
  const sName = ed.init(`${c}_scale`, [], new Float32Array([p.scale]));
  const zName = ed.init(`${c}_zero_point`, [], zeroPointArray(o.activations, p.zeroPoint), o.activations);
  const dqOut = ed.name(`${c}_dequantized`);
  ed.graph.addNode(ed.qdq("DequantizeLinear", c, [qName, sName, zName], dqOut, node.opType), { before: node });
  return dqOut;
}

/** A one-element zero point array of the activation type. */
export function zeroPointArray(type: ActivationStorage, zp: number): Int8Array | Uint8Array | Int16Array | Uint16Array {
  switch (type) {
    case "int8":
      return new Int8Array([zp]);
    case "int16":
      return new Int16Array([zp]);
    case "uint16":
      return new Uint16Array([zp]);
    default:
      return new Uint8Array([zp]);
  }
}
