/**
 * The model calibration runs: a copy of the caller's model whose graph
 * outputs include every value an observer reads in full, plus in-graph
 * ReduceMin / ReduceMax for the values that only need their extremes.
 * Private to src/calibrate/.
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";

/** An encoded augmented model and where its extremes come out. */
export interface Augmented {
  bytes: Uint8Array;
  /**
   * The output holding [min₀, max₀, min₁, max₁, …] of the `reduced` values,
   * in their order; empty when there are none.
   */
  extremes: string;
}

/**
 * Copies `model`, makes each of `outputs` a graph output and, for each of
 * `reduced`, adds ReduceMin and ReduceMax over all axes (no `axes`, so in
 * every opset) right after the node computing it; all the extremes are
 * concatenated into one float32 output.
 *
 * Why: ONNX Runtime materializes each graph output as a separate tensor and
 * copies it into JavaScript, which for a model's full set of activations
 * costs several forward passes. Two scalars per value cost far less, the
 * activation's buffer is still reused, and one output instead of hundreds
 * saves the per-output overhead too (measured on the PaddleOCR models:
 * ~1.5–2.5× a plain pass, against 4–7× for fetching every activation).
 */
export function augment(model: Model, outputs: readonly string[], reduced: readonly string[]): Augmented {
  const copy = cloneModel(model);
  const g = copy.graph;
  const declared = new Set(g.outputs.map((o) => o.name));
  for (const v of outputs) {
    if (!declared.has(v)) g.outputs.push({ name: v });
    declared.add(v);
  }
  if (reduced.length === 0) return { bytes: encodeModel(copy).bytes, extremes: "" };

  const shape = g.uniqueName("edgeq.shape_1");
  const extremes = g.uniqueName("edgeq.extremes");
  g.addInitializer(Tensor.fromArray(shape, [1], new BigInt64Array([1n])));
  const after = new Map<Node, Node[]>();
  const parts: string[] = [];
  for (const v of reduced) {
    const producer = g.producer(v);
    if (!producer) throw new Error(`internal: no producer of "${v}"`);
    const list = after.get(producer) ?? [];
    for (const op of ["ReduceMin", "ReduceMax"]) {
      // Names derive from `extremes`, which is unique, plus a counter.
      const scalar = `${extremes}.${parts.length}`, vector = `${scalar}.1d`;
      list.push(
        new Node({ opType: op, name: scalar, inputs: [v], outputs: [scalar], attrs: { keepdims: { type: "int", value: 0 } } }),
        new Node({ opType: "Reshape", name: vector, inputs: [scalar, shape], outputs: [vector] }),
      );
      parts.push(vector);
    }
    after.set(producer, list);
  }
  g.nodes = g.nodes.flatMap((n) => [n, ...(after.get(n) ?? [])]);
  g.nodes.push(new Node({ opType: "Concat", name: extremes, inputs: parts, outputs: [extremes], attrs: { axis: { type: "int", value: 0 } } }));
  g.outputs.push({ name: extremes });
  g.invalidate();
  return { bytes: encodeModel(copy).bytes, extremes };
}
