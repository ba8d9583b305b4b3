/**
 * Mean-centering folded into the linear layer before it: a Gemm or MatMul
 * whose output y is read only by `d = y − ReduceMean(y, last axis)` (a
 * decomposed LayerNorm's first step) computes d itself, since the mean over
 * output channels is linear too:
 *
 *   d = x·(W − W̄) + (b − b̄)     W̄: the mean of W over output channels, per input channel
 *
 * Exact up to float rounding, and what an integer-only target needs: y
 * carries an offset common to its channels that the Sub cancels (hey_mycroft:
 * y ≈ 2700 ± 1000, d's median 95), so an int8 y loses d's small values
 * before the Sub ever runs (24 dB at that Sub). Folded, only d is quantized.
 *
 * The same holds where the only reader is a LayerNormalization over the last
 * axis (the fused form, on targets that list it): it subtracts the mean
 * itself, so LN(y) = LN(d), and the layer is centered in place so that the
 * quantized tensor between the two is d, not y.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import { Tensor } from "../../ir/tensor.ts";
import { biasOf, type Linear, linearOf, setBias, setInput, weightOf } from "../_linear.ts";
import { trailingAxes } from "./layernorm.ts";

/** Folds every such centering; returns the names of the layers that now compute d. */
export function foldCentering(graph: Graph): string[] {
  const made: string[] = [];
  for (const node of [...graph.nodes]) {
    const l = linearOf(graph, node);
    if (!l || (l.kind !== "gemm" && l.kind !== "matmul")) continue;
    const y = node.outputs[0];
    if (graph.isOutput(y)) continue;
    const readers = graph.consumers(y);
    if (readers.length === 1 && readsLastAxis(graph, readers[0], y)) {
      if (center(graph, l, true)) made.push(node.name);
      continue;
    }
    if (readers.length !== 2) continue;
    const mean = readers.find((r) => r.opType === "ReduceMean" && r.domain === "");
    const sub = readers.find((r) => r.opType === "Sub" && r.domain === "");
    if (!mean || !sub || mean.inputs[0] !== y || sub.inputs[0] !== y || sub.inputs[1] !== mean.outputs[0]) continue;
    const axes = trailingAxes(graph, mean) ?? (l.kind === "gemm" && mean.attrInt("keepdims", 1) === 1 && sameAxes(mean.attrInts("axes"), [1]) ? [-1] : undefined);
    if (!axes || axes.length !== 1 || axes[0] !== -1) continue;
    if (graph.isOutput(mean.outputs[0]) || graph.consumers(mean.outputs[0]).length !== 1) continue;
    if (!center(graph, l)) continue;
    node.outputs[0] = sub.outputs[0];
    graph.removeNodes([mean, sub]);
    made.push(node.name);
  }
  if (made.length) graph.prune();
  return made;
}

/**
 * Subtracts from the layer's weights and bias their mean over output
 * channels; false when its bias is not a constant, or (`unlessCentered`)
 * when they already have about zero mean, where centering again changes
 * nothing.
 */
function center(graph: Graph, l: Linear, unlessCentered = false): boolean {
  // A MatMul's bias is a following Add, which a reader of the MatMul's output does not see: no bias to center.
  const b = biasOf(graph, l);
  if (!b) return false;
  const node = l.node;
  const w = weightOf(graph, l);
  const inOf = l.inOf;
  const sums = new Float64Array(l.inputs);
  let big = 0;
  for (let i = 0; i < w.length; i++) {
    sums[inOf[i]] += w[i];
    big = Math.max(big, Math.abs(w[i]));
  }
  const bm = b.reduce((s, x) => s + x, 0) / l.outputs;
  if (unlessCentered) {
    const bigB = b.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const tol = 1e-6 * big * Math.sqrt(l.outputs);
    if (sums.every((x) => Math.abs(x) <= tol) && Math.abs(bm) <= 1e-6 * bigB) return false;
  }
  const nw = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) nw[i] = w[i] - sums[inOf[i]] / l.outputs;
  setInput(graph, node, 1, Tensor.fromArray(node.inputs[1], graph.constant(node.inputs[1])!.dims, nw));
  if (l.biasSlot >= 0 && (bm !== 0 || node.inputs[l.biasSlot])) setBias(graph, l, b.map((x) => x - bm));
  return true;
}

/** A LayerNormalization that normalizes `x` over its last axis only (so it removes each row's mean over the layer's output channels). */
function readsLastAxis(graph: Graph, node: Node, x: string): boolean {
  if (node.opType !== "LayerNormalization" || node.domain !== "" || node.inputs[0] !== x) return false;
  const axis = node.attrInt("axis", -1);
  if (axis === -1) return true;
  const rank = graph.info(x)?.shape?.length;
  return rank !== undefined && axis === rank - 1;
}

function sameAxes(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}
