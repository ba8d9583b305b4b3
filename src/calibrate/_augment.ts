/**
 * The model calibration runs: a copy of the caller's model whose graph
 * outputs carry what the observers read — whole values, in-graph extremes,
 * per-channel sums and extremes, and strided subsamples. Private to
 * src/calibrate/.
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { Node, type NodeInit } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import type { ChannelView } from "./_route.ts";

/** What the augmented model must output. */
export interface AugmentRequest {
  /** Values made graph outputs, fetched whole. */
  whole: readonly string[];
  /** Values (node outputs or graph inputs) reduced to their min and max inside the graph. */
  extremes: readonly string[];
  /** Node outputs of `extremes` also subsampled inside the graph. */
  sampled: readonly string[];
  /** Values of `extremes` known to be 4-D, with their channel counts (see `channelCounts`): reduced per channel. */
  channels: ReadonlyMap<string, number>;
  /**
   * Node outputs of `extremes` whose channel statistics are read: reduced
   * per channel (min, max, sum and sum of squares) through a view of the channel axis,
   * which also gives their extremes (these take precedence over `channels`).
   */
  channelStats: ReadonlyMap<string, ChannelView>;
  /**
   * Sampled values (not in `channelStats`) whose channel runs' length is
   * read as the model runs, with their channel counts: their dim 0 (the
   * batch) is output, so that a run holds n / (batch · C) elements.
   */
  runs: ReadonlyMap<string, number>;
  /** Subsample size, for the caller's plans ({@linkcode subsamplePlan}); the graph takes strides as inputs. */
  size: number;
}

/** An augmented model and the names of its extra outputs and inputs. */
export interface Augmented {
  /** A copy of the caller's model (sharing its tensors). */
  model: Model;
  /**
   * float32 statistics of `extremes`, value after value: [min, max] (a value
   * in neither `channels` nor `channelStats`), its C per-channel minima then
   * C maxima (`channels`), or C minima, C maxima, C sums and, when the view
   * asks for them, C sums of squares (`channelStats`); followed, for a value of `sampled`, by its subsample;
   * "" when no extremes.
   */
  stats: string;
  /**
   * int64: the element counts of `sampled`, in order, then, value after
   * value, the shape of a `channelStats` value's view ({@linkcode viewShape}'s
   * length) or a `runs` value's dim 0; "" when none.
   */
  sizes: string;
  /** int64 [k] inputs: where each of the k `sampled` values starts and its stride (see {@linkcode subsamplePlan}); "" when none. */
  starts: string;
  steps: string;
}

/**
 * Copies `model` and adds, for each value of `extremes`:
 *
 * - ReduceMin and ReduceMax: over the whole tensor (after a Reshape to 1-D,
 *   a view), or, for 4-D values of known channel count, over axes 0, 2 and
 *   3 (the caller finishes those: C numbers each);
 * - for `channelStats` instead: a Reshape to a view with the channel on a
 *   known axis ({@linkcode viewShape}), ReduceMin, ReduceMax, ReduceSum (and
 *   ReduceSumSquare when the view's `squares` asks) over its other axes
 *   (C numbers each: max |x| is the larger of −min and
 *   max, and the extremes come from them too, so a value with other
 *   requests is reduced once) and the view's Shape (its element count);
 * - for `sampled`: Shape of the 1-D view (its element count, also the
 *   Slice's end) and a strided Slice whose start and step come from the
 *   `starts` and `steps` inputs, split once at the top of the graph.
 *
 * Everything concatenates into one float output (`stats`) and one int64
 * output (`sizes`). Why:
 *
 * - ONNX Runtime copies each fetched output into JavaScript and charges
 *   several microseconds per output and per feed, but about one per node,
 *   so hundreds of small nodes feeding two outputs beat fetching
 *   activations (a few numbers and a few thousand elements instead of up to
 *   10⁵ per value).
 * - ONNX Runtime orders nodes by a depth-first walk back from the last leaf
 *   of the node list, visiting a node's inputs highest index first. With
 *   one output, its Concat last and the added nodes appended in reverse
 *   value order, the walk reaches each value's reductions right after the
 *   value: they read it while it is still in cache and it can be freed.
 *   Added right after each producer, they all ran after the whole network
 *   instead, reading every activation back from memory (a third of the
 *   detector's and the classifier's overhead over a plain pass).
 * - A reduction over a whole tensor runs on one thread, one over its
 *   channels on all of them (worth it on large activations: see Sessions).
 * - Strides are inputs, computed in JavaScript from the sizes of the
 *   previous run, rather than computed in the graph from each value's size:
 *   that took three more nodes per value, about 15% of the classifier's run
 *   time (session creation costs about the same either way: a Split's many
 *   outputs are dear there).
 */
export function augment(model: Model, req: AugmentRequest): Augmented {
  const copy = cloneModel(model);
  const g = copy.graph;
  const declared = new Set(g.outputs.map((o) => o.name));
  for (const v of req.whole) {
    if (!declared.has(v)) g.outputs.push({ name: v });
    declared.add(v);
  }
  const out: Augmented = { model: copy, stats: "", sizes: "", starts: "", steps: "" };
  if (req.extremes.length === 0) return out;

  const base = g.uniqueName("edgeq");
  const int64 = (name: string, v: bigint) => {
    g.addInitializer(Tensor.fromArray(`${base}.${name}`, [1], new BigInt64Array([v])));
    return `${base}.${name}`;
  };
  const flatShape = int64("minus_one", -1n);
  // Shared int64 constants: reduction axes and view shapes, one initializer per distinct list.
  const lists = new Map<string, string>();
  const ints = (kind: string, xs: readonly number[]) => {
    const key = `${kind}:${xs.join(",")}`;
    let name = lists.get(key);
    if (!name) {
      name = `${base}.${kind}.${lists.size}`;
      g.addInitializer(Tensor.fromArray(name, [xs.length], BigInt64Array.from(xs, BigInt)));
      lists.set(key, name);
    }
    return name;
  };
  // Reductions take their axes as an input from opset 18 on (ReduceSum from 13), as an attribute before.
  const opset = copy.opset();
  const reduction = (opType: string, axes: readonly number[]): { inputs: string[]; attrs: NodeInit["attrs"] } => {
    const drop = { keepdims: { type: "int" as const, value: 0 } };
    return opset >= (opType === "ReduceSum" ? 13 : 18)
      ? { inputs: [ints("axes", axes)], attrs: drop }
      : { inputs: [], attrs: { ...drop, axes: { type: "ints", value: [...axes] } } };
  };
  const sampled = new Set(req.sampled);
  const top: Node[] = [];
  let zero = "", starts: string[] = [], steps: string[] = [];
  if (sampled.size > 0) {
    zero = int64("zero", 0n);
    out.starts = `${base}.starts`;
    out.steps = `${base}.steps`;
    const k = req.sampled.length;
    const ones = `${base}.ones`;
    g.addInitializer(Tensor.fromArray(ones, [k], new BigInt64Array(k).fill(1n)));
    // Split takes its sizes as an input from opset 13 on, as an attribute before.
    const byInput = copy.opset() >= 13;
    const split = (input: string) => {
      g.inputs.push({ name: input, dtype: "int64", shape: [k] });
      const parts = req.sampled.map((_, i) => `${input}.${i}`);
      top.push(new Node({
        opType: "Split",
        name: `${input}.split`,
        inputs: byInput ? [input, ones] : [input],
        outputs: parts,
        attrs: { axis: { type: "int", value: 0 }, ...(byInput ? {} : { split: { type: "ints", value: parts.map(() => 1) } }) },
      }));
      return parts;
    };
    starts = split(out.starts);
    steps = split(out.steps);
  }
  const added: Node[][] = [];
  const stats: string[] = [], counts: string[] = [], shapes: string[] = [];
  let s = 0;
  req.extremes.forEach((v, k) => {
    if (!g.producer(v) && !g.inputs.some((i) => i.name === v)) throw new Error(`internal: no producer of "${v}"`);
    const p = `${base}.${k}`;
    const nodes: Node[] = [];
    const add = (opType: string, name: string, inputs: string[], attrs?: NodeInit["attrs"]) => {
      nodes.push(new Node({ opType, name: `${p}.${name}`, inputs, outputs: [`${p}.${name}`], attrs }));
      return `${p}.${name}`;
    };
    const reduce = (opType: string, name: string, x: string, axes: readonly number[]) => {
      const r = reduction(opType, axes);
      return add(opType, name, [x, ...r.inputs], r.attrs);
    };
    const view = req.channelStats.get(v);
    const perChannel = view !== undefined || req.channels.has(v);
    const flat = !perChannel || sampled.has(v) ? add("Reshape", "flat", [v, flatShape]) : "";
    if (view) {
      const x = add("Reshape", "view", [v, ints("view", viewShape(view))]), axes = viewAxes(view);
      stats.push(reduce("ReduceMin", "vmin", x, axes), reduce("ReduceMax", "vmax", x, axes), reduce("ReduceSum", "vsum", x, axes));
      if (view.squares) stats.push(reduce("ReduceSumSquare", "vsq", x, axes));
      shapes.push(add("Shape", "vshape", [x]));
    } else if (req.channels.has(v)) {
      stats.push(reduce("ReduceMin", "cmin", v, [0, 2, 3]), reduce("ReduceMax", "cmax", v, [0, 2, 3]));
    } else {
      const keep = { keepdims: { type: "int" as const, value: 1 } };
      stats.push(add("ReduceMin", "min", [flat], keep), add("ReduceMax", "max", [flat], keep));
    }
    if (!view && req.runs.has(v)) shapes.push(add("Gather", "batch", [add("Shape", "shape", [v]), ints("first", [0])], { axis: { type: "int", value: 0 } }));
    if (sampled.has(v)) {
      const n = add("Shape", "n", [flat]);
      counts.push(n);
      stats.push(add("Slice", "sub", [flat, starts[s], n, zero, steps[s]]));
      s++;
    }
    added.push(nodes);
  });
  const concat = (name: string, parts: string[]) => {
    const o = `${base}.${name}`;
    g.outputs.push({ name: o });
    return new Node({ opType: "Concat", name: o, inputs: parts, outputs: [o], attrs: { axis: { type: "int", value: 0 } } });
  };
  // Inputs first, then the model, then (see above) the added nodes last value first, sizes, stats.
  const ints64 = [...counts, ...shapes];
  const tail = ints64.length > 0 ? [concat("sizes", ints64)] : [];
  if (ints64.length > 0) out.sizes = `${base}.sizes`;
  tail.push(concat("stats", stats));
  out.stats = `${base}.stats`;
  g.nodes = [...top, ...g.nodes, ...added.reverse().flat(), ...tail];
  g.invalidate();
  return out;
}

/**
 * The shape a `channelStats` value is reshaped to, so that its channels lie
 * on a known axis whatever its rank (a Reshape's 0 keeps the input's dim,
 * −1 takes the rest): [0, …, 0, C, −1] with `axis` zeros for an axis ≥ 0
 * (NCHW's axis 1: [N, C, H·W]), [−1, C] for the last axis.
 */
export function viewShape(view: ChannelView): number[] {
  return view.axis < 0 ? [-1, view.channels] : [...new Array<number>(view.axis).fill(0), view.channels, -1];
}

/** The axes of {@linkcode viewShape}'s view that a per-channel reduction reduces: all but the channel's. */
function viewAxes(view: ChannelView): number[] {
  const rank = viewShape(view).length, at = view.axis < 0 ? rank - 1 : view.axis;
  return Array.from({ length: rank }, (_, i) => i).filter((i) => i !== at);
}

/**
 * How to subsample a value of `n` elements with `offset`: every `step`-th
 * element from `start`, step = ⌊(n + size) / size⌋ (so at most `size`
 * elements, all of them when n < size) and start = offset mod step (the
 * offset moves between samples, so a step that divides a row length does not
 * keep sampling the same columns).
 */
export function subsamplePlan(n: number, size: number, offset: number): { start: number; step: number } {
  const step = Math.floor((n + size) / size);
  return { start: offset % step, step };
}

/**
 * What a strided slice of a value of `n` elements gives: `fetched` elements
 * (as the Slice in the graph computes them), of which the first `length` =
 * ⌊n / step⌋ are used. The length does not depend on the start, so a value
 * of fixed shape gets one weight on every sample (which the histograms'
 * integer tables rely on). The element dropped, when there is one, lies in
 * the last `step` positions, so those are sampled slightly less often than
 * the rest (fewer than n / size of the n elements).
 */
export function subsampleTake(n: number, start: number, step: number): { length: number; fetched: number } {
  return { length: Math.floor(n / step), fetched: n > start ? Math.ceil((n - start) / step) : 0 };
}
