/**
 * Linear layers as the passes see them: a Conv (plain, grouped or
 * depthwise), Gemm or 2-D MatMul with a constant float32 weight, viewed as
 * a map from input channels to output channels. Passes scale output rows and
 * input columns, read per-channel weight ranges and change biases through
 * these helpers, which write new tensors (a weight another node also reads is
 * copied under a new name, so nothing shared changes). Private to
 * src/passes/.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { constantOf } from "./_graph.ts";

/** A node read as y = W·x (+ b), channel by channel. */
export interface Linear {
  node: Node;
  /** Output channels M and input channels C (over all groups). */
  outputs: number;
  inputs: number;
  /** Conv groups (1 otherwise); depthwise when `group === inputs === outputs`. */
  group: number;
  /** Output channel and input channel of every flat weight element (built on first use). */
  readonly outOf: Int32Array;
  readonly inOf: Int32Array;
  /** Input slot of the bias (Conv/Gemm), or -1 (MatMul: a following Add carries it). */
  biasSlot: number;
  /** Op family: channels on axis 1 (conv: NCHW; gemm: [N, C]) or on the last axis (matmul). */
  kind: "conv" | "gemm" | "matmul";
}

/** Whether a Conv is depthwise: one input channel per group, as many groups as channels. */
export function isDepthwise(l: Linear): boolean {
  return l.kind === "conv" && l.group > 1 && l.group === l.inputs && l.outputs === l.inputs;
}

/**
 * The linear view of `node`, or `undefined` when it has none: a Conv with a
 * constant float32 weight, a Gemm with a constant 2-D B (transA 0), a MatMul
 * with a constant 2-D B.
 */
export function linearOf(graph: Graph, node: Node): Linear | undefined {
  if (node.domain !== "") return undefined;
  const w = constantOf(graph, node.inputs[1]);
  if (!w || w.dtype !== "float32") return undefined;
  const d = w.dims;
  if (node.opType === "Conv") {
    const group = node.attrInt("group", 1);
    if (d.length < 3 || group < 1 || d[0] % group !== 0) return undefined;
    const m = d[0], cg = d[1], k = d.slice(2).reduce((p, x) => p * x, 1), mg = m / group;
    return withIndex({ node, outputs: m, inputs: cg * group, group, biasSlot: 2, kind: "conv" }, w, `conv/${group}`, (outOf, inOf) => {
      // Weight [M, C/g, k…]: runs of k elements per (output, input) pair, output-major.
      for (let o = 0, i = 0; o < m; o++) {
        const base = Math.floor(o / mg) * cg;
        for (let c = 0; c < cg; c++) {
          for (let e = 0; e < k; e++, i++) {
            outOf[i] = o;
            inOf[i] = base + c;
          }
        }
      }
    });
  }
  if (node.opType === "Gemm" || node.opType === "MatMul") {
    if (d.length !== 2) return undefined;
    if (node.opType === "Gemm" && node.attrInt("transA", 0) !== 0) return undefined;
    const transB = node.opType === "Gemm" && node.attrInt("transB", 0) === 1;
    const [m, c] = transB ? [d[0], d[1]] : [d[1], d[0]];
    const kind = node.opType === "Gemm" ? "gemm" : "matmul";
    return withIndex({ node, outputs: m, inputs: c, group: 1, biasSlot: kind === "gemm" ? 2 : -1, kind }, w, `2d/${transB}`, (outOf, inOf) => {
      for (let r = 0, i = 0; r < d[0]; r++) {
        for (let col = 0; col < d[1]; col++, i++) {
          outOf[i] = transB ? r : col;
          inOf[i] = transB ? col : r;
        }
      }
    });
  }
  return undefined;
}

// Channel indexes by layout and weight shape (all they depend on), the most recently used few:
// a pass reads a weight's ranges, scales it (a new tensor of the same shape) and reads it again.
const indexes = new Map<string, [Int32Array, Int32Array]>();
const KEPT_INDEXES = 8;

/**
 * A Linear whose per-element channel index is built on first use and kept
 * by shape: most callers only ask whether a node is linear and how many
 * channels it has, and the index of a 6625-class MatMul is 800 000
 * entries, which a scaled copy of the weight or another layer of the same
 * shape reuses rather than rebuilds.
 */
function withIndex(
  l: Omit<Linear, "outOf" | "inOf">,
  w: Tensor,
  layout: string,
  fill: (outOf: Int32Array, inOf: Int32Array) => void,
): Linear {
  const key = `${layout}:${w.dims.join("x")}`;
  const build = () => {
    let index = indexes.get(key);
    if (index) indexes.delete(key);
    else {
      index = [new Int32Array(w.size), new Int32Array(w.size)];
      fill(index[0], index[1]);
      if (indexes.size >= KEPT_INDEXES) indexes.delete(indexes.keys().next().value!);
    }
    indexes.set(key, index);
    return index;
  };
  return Object.defineProperties(l, {
    outOf: { get: () => build()[0], enumerable: true },
    inOf: { get: () => build()[1], enumerable: true },
  }) as Linear;
}

/** Max |w| per output channel, of the graph's weight or of `w` (a working copy of its elements). */
export function outputRanges(graph: Graph, l: Linear, w: ArrayLike<number> = weightOf(graph, l)): Float64Array {
  const r = new Float64Array(l.outputs);
  const outOf = l.outOf;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    if (a > r[outOf[i]]) r[outOf[i]] = a;
  }
  return r;
}

/** Max |w| per input channel, of the graph's weight or of `w` (a working copy of its elements). */
export function inputRanges(graph: Graph, l: Linear, w: ArrayLike<number> = weightOf(graph, l)): Float64Array {
  const r = new Float64Array(l.inputs);
  const inOf = l.inOf;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    if (a > r[inOf[i]]) r[inOf[i]] = a;
  }
  return r;
}

/** The weight's elements (a read-only view). */
export function weightOf(graph: Graph, l: Linear): Float32Array {
  return graph.constant(l.node.inputs[1])!.view() as Float32Array;
}

/**
 * The bias as one value per output channel (0 when there is none), with
 * Gemm's beta applied; `undefined` when a bias exists but does not broadcast
 * per output channel.
 */
export function biasOf(graph: Graph, l: Linear): Float64Array | undefined {
  const out = new Float64Array(l.outputs);
  if (l.biasSlot < 0 || !l.node.inputs[l.biasSlot]) return out;
  const t = constantOf(graph, l.node.inputs[l.biasSlot]);
  if (!t || t.dtype !== "float32") return undefined;
  const v = t.toFloat64();
  const beta = l.kind === "gemm" ? l.node.attrFloat("beta", 1) : 1;
  const inner = t.dims.length ? t.dims[t.dims.length - 1] : 1;
  if (t.dims.slice(0, -1).some((x) => x !== 1) || (inner !== 1 && inner !== l.outputs)) return undefined;
  for (let o = 0; o < l.outputs; o++) out[o] = v[inner === 1 ? 0 : o] * beta;
  return out;
}

/**
 * The bias input's values, one per output channel (Gemm's beta applied), to
 * be scaled with the output channels; `undefined` when the node has no bias
 * input. Throws when the bias does not broadcast per output channel.
 */
export function scalableBias(graph: Graph, l: Linear): Float64Array | undefined {
  if (l.biasSlot < 0 || !l.node.inputs[l.biasSlot]) return undefined;
  const b = biasOf(graph, l);
  if (!b) throw new Error(`internal: bias of "${l.node.label}" is not per channel`);
  return b;
}

/** Multiplies output channel o (weights and bias) by `s[o]`. */
export function scaleOutputs(graph: Graph, l: Linear, s: ArrayLike<number>): void {
  const nw = Float32Array.from(weightOf(graph, l));
  scaleOutputsOf(l, nw, s);
  setInput(graph, l.node, 1, Tensor.fromArray(l.node.inputs[1], graph.constant(l.node.inputs[1])!.dims, nw));
  const b = scalableBias(graph, l);
  if (b) setBias(graph, l, b.map((x, o) => x * s[o]));
}

/** Multiplies input channel c of the weight by `s[c]`. */
export function scaleInputs(graph: Graph, l: Linear, s: ArrayLike<number>): void {
  const nw = Float32Array.from(weightOf(graph, l));
  scaleInputsOf(l, nw, s);
  setInput(graph, l.node, 1, Tensor.fromArray(l.node.inputs[1], graph.constant(l.node.inputs[1])!.dims, nw));
}

/** Multiplies, in place, the elements of output channel o of `w` (a copy of `l`'s weight) by `s[o]`. */
export function scaleOutputsOf(l: Linear, w: Float32Array, s: ArrayLike<number>): void {
  const outOf = l.outOf;
  for (let i = 0; i < w.length; i++) w[i] *= s[outOf[i]];
}

/** Multiplies, in place, the elements of input channel c of `w` (a copy of `l`'s weight) by `s[c]`. */
export function scaleInputsOf(l: Linear, w: Float32Array, s: ArrayLike<number>): void {
  const inOf = l.inOf;
  for (let i = 0; i < w.length; i++) w[i] *= s[inOf[i]];
}

/**
 * Sets the bias to `b` (one value per output channel), creating a bias input
 * when the node has none. Gemm's beta becomes 1. MatMul has no bias slot:
 * use a following Add.
 */
export function setBias(graph: Graph, l: Linear, b: ArrayLike<number>): void {
  if (l.biasSlot < 0) throw new Error(`internal: ${l.node.opType} "${l.node.label}" has no bias input`);
  const data = Float32Array.from(b);
  const node = l.node;
  while (node.inputs.length <= l.biasSlot) node.inputs.push("");
  if (l.kind === "gemm") node.attrs.set("beta", { type: "float", value: 1 });
  if (!node.inputs[l.biasSlot]) {
    const name = graph.uniqueName(`${node.outputs[0]}_bias`);
    graph.addInitializer(Tensor.fromArray(name, [l.outputs], data));
    node.inputs[l.biasSlot] = name;
    graph.invalidate();
    return;
  }
  setInput(graph, node, l.biasSlot, Tensor.fromArray(node.inputs[l.biasSlot], [l.outputs], data));
}

/**
 * Points `node.inputs[slot]` at `t`: under its old name when `node` alone
 * reads it once, else under a new name, so other readers keep the old tensor.
 */
export function setInput(graph: Graph, node: Node, slot: number, t: Tensor): void {
  const name = node.inputs[slot];
  const readers = graph.consumers(name);
  const alone = readers.length === 1 && readers[0] === node && !graph.isOutput(name) &&
    node.inputs.filter((i) => i === name).length === 1;
  t.name = alone ? name : graph.uniqueName(`${name}_edgeq`);
  graph.addInitializer(t);
  node.inputs[slot] = t.name;
  if (!alone) graph.invalidate();
}

/**
 * A constant's values as one number per channel, when it broadcasts along
 * the channel axis of a value of rank `rank` whose channels are on `axis`
 * (negative: from the end), or is a scalar; `undefined` otherwise. The
 * constant's rank must not exceed `rank` (folding it must not change the
 * output's shape).
 */
export function perChannelConstant(t: Tensor | undefined, channels: number, rank: number, axis: number): Float64Array | undefined {
  if (!t || (t.dtype !== "float32" && t.dtype !== "float64") || t.dims.length > rank) return undefined;
  const ax = axis < 0 ? rank + axis : axis;
  const at = ax - (rank - t.dims.length);
  if (t.dims.some((x, k) => x !== 1 && !(k === at && x === channels))) return undefined;
  const v = t.toFloat64();
  return v.length === channels ? v : new Float64Array(channels).fill(v[0]);
}

/** Rank and channel axis of a linear layer's input and output values (`undefined` rank: unknown). */
export function valueLayout(graph: Graph, l: Linear): { rank: number | undefined; axis: number } {
  if (l.kind === "conv") return { rank: graph.constant(l.node.inputs[1])!.dims.length, axis: 1 };
  if (l.kind === "gemm") return { rank: 2, axis: 1 };
  const r = graph.info(l.node.outputs[0])?.shape?.length ?? graph.info(l.node.inputs[0])?.shape?.length;
  return { rank: r, axis: -1 };
}

/** Whether a Conv pads nothing (so a constant added to its input moves every output equally). */
export function padsNothing(node: Node): boolean {
  if (node.opType !== "Conv") return true;
  const auto = node.attrString("auto_pad", "NOTSET");
  if (auto !== "NOTSET" && auto !== "VALID") return false;
  return node.attrInts("pads", []).every((p) => p === 0);
}
