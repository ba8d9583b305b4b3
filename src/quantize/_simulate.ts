/**
 * Weights as QDQ insertion will quantize them, before it runs: for passes
 * that correct the error quantization makes (bias correction). Same plan,
 * same scales (the bias-overflow guard's floors included), same rounding;
 * and constants as they will be stored, for passes that choose them.
 *
 * @module
 */
import type { Range } from "../calibrate/types.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import type { WeightQuantizer } from "../passes/types.ts";
import { detailedPlan } from "./_plan.ts";
import { weightScaleFloor } from "./_weights.ts";
import { activationParams, activationQRange, weightQRange } from "./params.ts";
import { resolveParams } from "./quantize.ts";
import { InputError } from "../errors.ts";
import { minMax, quantizeValues, quantizeWeight } from "./quantize_tensor.ts";
import type { QuantizeOptions } from "./types.ts";

/**
 * A {@linkcode WeightQuantizer} for `model` as it stands, with activation
 * `ranges` from calibration and options `o`. Each call quantizes afresh,
 * so a pass that changes biases sees the guard's floors move with them.
 */
export function weightQuantizer(
  model: Model,
  ranges: ReadonlyMap<string, Range>,
  o: QuantizeOptions,
  pinned?: Map<string, Float32Array>,
): WeightQuantizer {
  const plan = detailedPlan(model, o);
  const params = resolveParams(plan, ranges, o);
  const byNode = new Map(plan.nodes.map((np) => [np.node, np]));
  const g = model.graph;
  const opts: QuantizeOptions = pinned ? { ...o, weightScales: pinned } : o;
  const quantized = (node: Node) => {
    const np = byNode.get(node);
    if (!np?.quantized || !np.weight || np.foldedInto) return undefined;
    const name = node.inputs[np.weight.input];
    const w = g.constant(name);
    if (!w) return undefined;
    const axis = np.weight.perChannel ? np.weight.axis : undefined;
    const channels = axis === undefined ? 1 : w.dims[axis];
    const floor = weightScaleFloor(np, name, params.get(node.inputs[0])?.scale, channels, opts, g);
    const q = weightQRange(o.reduceRange);
    try {
      return { ...quantizeWeight(w.toFloat32(), w.dims, { axis, q, powerOfTwo: o.powerOfTwoScales, minScale: floor }), axis, dims: w.dims, range: q };
    } catch (e) {
      throw new InputError(`Cannot quantize weight "${name}" of node "${node.label}": ${(e as Error).message}`);
    }
  };
  return {
    dequantized(node) {
      const q = quantized(node);
      if (!q) return undefined;
      const { axis, dims } = q;
      const size = q.values.length, channels = q.scale.length;
      const inner = axis === undefined ? size : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const out = new Float32Array(size);
      // One run of `inner` values per channel index, in order (per tensor: one run).
      for (let start = 0, run = 0; start < size; start += inner, run++) {
        const scale = q.scale[run % channels];
        for (let i = start, end = start + inner; i < end; i++) out[i] = q.values[i] * scale;
      }
      return out;
    },
    quantized,
    pin(node, scale) {
      const np = byNode.get(node);
      if (!pinned || !np?.weight) throw new Error(`internal: cannot pin the weight scales of "${node.label}"`);
      pinned.set(node.inputs[np.weight.input], scale);
    },
  };
}

/**
 * A constant input of a quantized op as {@linkcode quantizeConstant} will
 * store it (activation type, from its own min and max), dequantized.
 */
export function constantQuantizer(o: QuantizeOptions): (values: Float32Array) => Float32Array {
  return (values) => {
    const p = activationParams(minMax(values), o.activations, o.symmetricActivations, o.powerOfTwoScales);
    const q = quantizeValues(values, p, activationQRange(o.activations, o.symmetricActivations));
    return Float32Array.from(q, (x) => (x - p.zeroPoint) * p.scale);
  };
}
