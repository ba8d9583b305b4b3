/**
 * The model calibration runs: a copy of the caller's model whose graph
 * outputs carry what the observers read — whole values, in-graph extremes,
 * and strided subsamples. Private to src/calibrate/.
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { Node, type NodeInit } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";

/** What the augmented model must output. */
export interface AugmentRequest {
  /** Values made graph outputs, fetched whole. */
  whole: readonly string[];
  /** Values reduced to their min and max inside the graph. */
  extremes: readonly string[];
  /** Values of `extremes` also subsampled inside the graph. */
  sampled: readonly string[];
  /** Subsample size: a value of n elements keeps every ⌊n / size + 1⌋-th, at most `size` (all when n < size). */
  size: number;
}

/** An encoded augmented model and the names of its extra outputs and input. */
export interface Augmented {
  bytes: Uint8Array;
  /** float32 [min₀, max₀, min₁, max₁, …] of `extremes`, in order; "" when none. */
  extremes: string;
  /** int64 element counts of `sampled`, in order; "" when none. */
  sizes: string;
  /** float32 concatenated subsamples of `sampled`, in order; "" when none. */
  subsample: string;
  /** int64 [1] input: the subsample offset of this run (see {@linkcode subsampleLayout}); "" when none. */
  offset: string;
}

/**
 * Copies `model` and adds, right after the node computing each value (so
 * the reductions read it while it is still in cache):
 *
 * - for `extremes`: Reshape to 1-D (a view), then ReduceMin and ReduceMax
 *   with keepdims, whose [1]-shaped results concatenate into one output;
 * - for `sampled`: Shape of the 1-D view (its element count n), the step
 *   s = ⌊(n + size) / size⌋, the start (offset mod s) and a strided Slice;
 *   counts and slices concatenate into one output each.
 *
 * Why: ONNX Runtime copies each fetched output into JavaScript and charges
 * several microseconds per output and per feed, but about one per node, so
 * hundreds of small nodes feeding three outputs beat fetching activations
 * (two scalars and a few thousand elements instead of up to 10⁵ per value).
 * The offset input moves the strided positions between samples, so a step
 * that divides a row length does not keep sampling the same columns.
 */
export function augment(model: Model, req: AugmentRequest): Augmented {
  const copy = cloneModel(model);
  const g = copy.graph;
  const declared = new Set(g.outputs.map((o) => o.name));
  for (const v of req.whole) {
    if (!declared.has(v)) g.outputs.push({ name: v });
    declared.add(v);
  }
  const out: Augmented = { bytes: new Uint8Array(0), extremes: "", sizes: "", subsample: "", offset: "" };
  if (req.extremes.length === 0) return { ...out, bytes: encodeModel(copy).bytes };

  const base = g.uniqueName("edgeq");
  const int64 = (name: string, v: bigint) => {
    g.addInitializer(Tensor.fromArray(`${base}.${name}`, [1], new BigInt64Array([v])));
    return `${base}.${name}`;
  };
  const flatShape = int64("minus_one", -1n);
  const sampled = new Set(req.sampled);
  let size = "", zero = "", end = "";
  if (sampled.size > 0) {
    size = int64("size", BigInt(req.size));
    zero = int64("zero", 0n);
    end = int64("end", 2n ** 62n);
    out.offset = `${base}.offset`;
    g.inputs.push({ name: out.offset, dtype: "int64", shape: [1] });
  }
  const after = new Map<Node, Node[]>();
  const ends: string[] = [], counts: string[] = [], slices: string[] = [];
  req.extremes.forEach((v, k) => {
    const producer = g.producer(v);
    if (!producer) throw new Error(`internal: no producer of "${v}"`);
    const p = `${base}.${k}`;
    const nodes: Node[] = [];
    const add = (opType: string, name: string, inputs: string[], attrs?: NodeInit["attrs"]) => {
      nodes.push(new Node({ opType, name: `${p}.${name}`, inputs, outputs: [`${p}.${name}`], attrs }));
      return `${p}.${name}`;
    };
    const flat = add("Reshape", "flat", [v, flatShape]);
    const keep = { keepdims: { type: "int" as const, value: 1 } };
    ends.push(add("ReduceMin", "min", [flat], keep), add("ReduceMax", "max", [flat], keep));
    if (sampled.has(v)) {
      const n = add("Shape", "n", [flat]);
      const step = add("Div", "step", [add("Add", "n_plus", [n, size]), size]);
      const start = add("Mod", "start", [out.offset, step]);
      counts.push(n);
      slices.push(add("Slice", "sub", [flat, start, end, zero, step]));
    }
    after.set(producer, [...(after.get(producer) ?? []), ...nodes]);
  });
  g.nodes = g.nodes.flatMap((n) => [n, ...(after.get(n) ?? [])]);
  const concat = (name: string, parts: string[]) => {
    const o = `${base}.${name}`;
    g.nodes.push(new Node({ opType: "Concat", name: o, inputs: parts, outputs: [o], attrs: { axis: { type: "int", value: 0 } } }));
    g.outputs.push({ name: o });
    return o;
  };
  out.extremes = concat("extremes", ends);
  if (slices.length > 0) {
    out.sizes = concat("sizes", counts);
    out.subsample = concat("subsample", slices);
  }
  g.invalidate();
  return { ...out, bytes: encodeModel(copy).bytes };
}

/**
 * Where a value of `n` elements was sampled in a run with `offset`: every
 * `step`-th element from `start`, `length` of them (as the augmented graph
 * computes it, in exact integer arithmetic).
 */
export function subsampleLayout(n: number, size: number, offset: number): { start: number; step: number; length: number } {
  const step = Math.floor((n + size) / size);
  const start = offset % step;
  return { start, step, length: n > start ? Math.ceil((n - start) / step) : 0 };
}
