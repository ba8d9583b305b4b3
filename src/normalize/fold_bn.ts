/**
 * BatchNormalization folding: an inference-mode BN after a Conv,
 * ConvTranspose, Gemm or MatMul (optionally through an Add of a constant
 * per-channel bias) becomes part of that node's weight and bias.
 *
 * @module
 */
import type { Graph, NameScope } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { matchChain } from "../ir/pattern.ts";
import { Tensor } from "../ir/tensor.ts";

const PRODUCERS = ["Conv", "ConvTranspose", "Gemm", "MatMul"] as const;

/**
 * Folds every BatchNormalization it can into the node before it, in `graph`
 * and its subgraphs. The folded node (or, for MatMul, its bias Add) takes the
 * BN's output name, so readers and graph outputs keep their names. Weights and
 * biases are new tensors; one read by other nodes too is cloned under a new
 * name, so nothing shared changes. Returns how many BNs were folded.
 *
 * A BN stays when: a parameter is not a constant initializer, it runs in
 * training mode or uses its extra outputs, the producer's output has other
 * readers, the weight is not float32, an Add between them is not a constant
 * per-channel bias, or (MatMul) the output rank is not known to be 2.
 *
 * @example
 * ```ts
 * constantsToInitializers(model.graph);
 * foldBatchNorm(model.graph); // e.g. 35 for PP-OCR's classifier
 * ```
 */
export function foldBatchNorm(graph: Graph): number {
  let folded = 0;
  for (const node of graph.nodes) {
    for (const a of node.attrs.values()) {
      if (a.type === "graph") folded += foldBatchNorm(a.value);
      else if (a.type === "graphs") for (const g of a.value) folded += foldBatchNorm(g);
    }
  }
  const outer = subgraphReads(graph);
  const names = graph.nameScope();
  // Again until nothing folds: a BN after a BN folds once the first is gone.
  let round: number;
  do {
    const chains = [
      ...matchChain(graph, [PRODUCERS, "BatchNormalization"]),
      ...matchChain(graph, [PRODUCERS, "Add", "BatchNormalization"]),
    ];
    round = chains.filter((chain) => foldChain(graph, chain, outer, names)).length;
    folded += round;
  } while (round > 0);
  return folded;
}

/** The BN as a per-channel affine map y = x·scale + shift. */
interface Affine {
  scale: Float64Array;
  shift: Float64Array;
}

/** How a producer's weight maps to output channels. */
interface Layout {
  /** Output channel of flat weight element `i`. */
  channelOf: (i: number) => number;
  /** When each output channel's elements are one run of this many (channel-major), else 0. */
  block: number;
  /** Output rank, channel on axis 1. */
  rank: number;
  /** Input slot of the bias, or -1 (MatMul has none). */
  biasSlot: number;
  /** Multiplier already applied to the bias by the op (Gemm's beta). */
  biasGain: number;
}

function foldChain(graph: Graph, chain: Node[], outer: Set<string>, names: NameScope): boolean {
  const prod = chain[0];
  const bn = chain[chain.length - 1];
  const add = chain.length === 3 ? chain[1] : undefined;
  if (bn.inputs[0] !== (add ?? prod).outputs[0]) return false;
  const bnAffine = affineOf(graph, bn, outer);
  if (!bnAffine) return false;
  const channels = bnAffine.scale.length;
  const w = constantOf(graph, prod.inputs[1]);
  if (!w || w.dtype !== "float32") return false;
  const layout = layoutOf(graph, prod, w, channels, [add, bn]);
  if (!layout) return false;

  const bias = new Float64Array(channels);
  if (layout.biasSlot >= 0 && prod.inputs[layout.biasSlot]) {
    // Conv's B is [M]; Gemm's C may broadcast from [1, M], [M] or a scalar.
    const [rank, axis] = prod.opType === "Gemm" ? [2, 1] : [1, 0];
    const b = perChannel(constantOf(graph, prod.inputs[layout.biasSlot]), channels, rank, axis);
    if (!b) return false;
    for (let c = 0; c < channels; c++) bias[c] = b[c] * layout.biasGain;
  }
  let addSlot = -1;
  if (add) {
    addSlot = add.inputs[0] === prod.outputs[0] ? 1 : 0;
    if (add.inputs[1 - addSlot] !== prod.outputs[0]) return false;
    const b = perChannel(constantOf(graph, add.inputs[addSlot]), channels, layout.rank, 1);
    if (!b) return false;
    for (let c = 0; c < channels; c++) bias[c] += b[c];
  }

  const { scale, shift } = bnAffine;
  const wv = w.view() as Float32Array;
  const nw = new Float32Array(wv.length);
  const block = layout.block;
  if (block) {
    // Channel-major weights: one multiplier per run (a call per element was most of folding's time).
    for (let c = 0, i = 0; i < wv.length; c++) {
      const k = scale[c];
      for (const end = i + block; i < end; i++) nw[i] = wv[i] * k;
    }
  } else for (let i = 0; i < wv.length; i++) nw[i] = wv[i] * scale[layout.channelOf(i)];
  const nb = new Float32Array(channels);
  for (let c = 0; c < channels; c++) nb[c] = bias[c] * scale[c] + shift[c];
  setConstant(graph, prod, 1, Tensor.fromArray(w.name, w.dims, nw), outer, names);

  const out = bn.outputs[0];
  if (layout.biasSlot < 0 && add) {
    // MatMul keeps its output; its Add carries the bias.
    setConstant(graph, add, addSlot, Tensor.fromArray(add.inputs[addSlot], [channels], nb), outer, names);
    graph.valueInfo.delete(add.outputs[0]);
    add.outputs[0] = out;
    graph.removeNodes([bn]);
  } else if (layout.biasSlot < 0) {
    const biasName = names.unique(`${out}_bias`);
    graph.addInitializer(Tensor.fromArray(biasName, [channels], nb));
    graph.replaceNode(bn, [new Node({ opType: "Add", name: bn.name, inputs: [prod.outputs[0], biasName], outputs: [out] })]);
  } else {
    while (prod.inputs.length <= layout.biasSlot) prod.inputs.push("");
    const old = prod.inputs[layout.biasSlot];
    if (old) setConstant(graph, prod, layout.biasSlot, Tensor.fromArray(old, [channels], nb), outer, names);
    else {
      const biasName = names.unique(`${out}_bias`);
      graph.addInitializer(Tensor.fromArray(biasName, [channels], nb));
      prod.inputs[layout.biasSlot] = biasName;
    }
    if (prod.opType === "Gemm") prod.attrs.set("beta", { type: "float", value: 1 });
    graph.valueInfo.delete(prod.outputs[0]);
    if (add) graph.valueInfo.delete(add.outputs[0]);
    prod.outputs[0] = out;
    graph.removeNodes(add ? [add, bn] : [bn]);
  }
  return true;
}

/** The BN's per-channel affine form, or `undefined` when it must not fold. */
function affineOf(graph: Graph, bn: Node, outer: Set<string>): Affine | undefined {
  if (bn.attrInt("training_mode", 0) !== 0 || bn.attrInt("spatial", 1) === 0) return undefined;
  for (const o of bn.outputs.slice(1)) {
    if (o && (graph.consumers(o).length || graph.isOutput(o) || outer.has(o))) return undefined;
  }
  const [g, b, mean, v] = bn.inputs.slice(1, 5).map((n) => constantOf(graph, n));
  if (!g || !b || !mean || !v) return undefined;
  const c = g.size;
  if ([g, b, mean, v].some((t) => t.dims.length !== 1 || t.size !== c || !t.dtype.startsWith("float"))) return undefined;
  const eps = bn.attrFloat("epsilon", 1e-5);
  const [gv, bv, mv, vv] = [g, b, mean, v].map((t) => t.toFloat64());
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gv[i] / Math.sqrt(vv[i] + eps);
    shift[i] = bv[i] - mv[i] * scale[i];
  }
  return { scale, shift };
}

/** Where each output channel of `prod` lives in its weight `w`; `undefined` if it does not fit. */
function layoutOf(graph: Graph, prod: Node, w: Tensor, channels: number, after: (Node | undefined)[]): Layout | undefined {
  const d = w.dims;
  const inner = d.slice(2).reduce((p, x) => p * x, 1);
  switch (prod.opType) {
    case "Conv":
      if (d.length < 3 || d[0] !== channels) return undefined;
      return { channelOf: (i) => Math.floor(i / (d[1] * inner)), block: d[1] * inner, rank: d.length, biasSlot: 2, biasGain: 1 };
    case "ConvTranspose": {
      // Weight [C, M/g, k…]: input channel ci of group ci / (C/g) feeds output channel group·(M/g) + j.
      const group = prod.attrInt("group", 1);
      if (d.length < 3 || d[0] % group !== 0 || group * d[1] !== channels) return undefined;
      const perGroup = d[0] / group;
      return {
        channelOf: (i) => {
          const flat = Math.floor(i / inner);
          const ci = Math.floor(flat / d[1]);
          return Math.floor(ci / perGroup) * d[1] + (flat % d[1]);
        },
        block: 0,
        rank: d.length,
        biasSlot: 2,
        biasGain: 1,
      };
    }
    case "Gemm": {
      const transB = prod.attrInt("transB", 0) === 1;
      if (d.length !== 2 || (transB ? d[0] : d[1]) !== channels) return undefined;
      return {
        channelOf: transB ? (i) => Math.floor(i / d[1]) : (i) => i % d[1],
        block: transB ? d[1] : 0,
        rank: 2,
        biasSlot: 2,
        biasGain: prod.attrFloat("beta", 1),
      };
    }
    case "MatMul": {
      if (d.length !== 2 || d[1] !== channels) return undefined;
      const names = [prod.inputs[0], prod.outputs[0], ...after.flatMap((n) => n?.outputs[0] ?? [])];
      if (!names.some((n) => graph.info(n)?.shape?.length === 2)) return undefined;
      return { channelOf: (i) => i % d[1], block: 0, rank: 2, biasSlot: -1, biasGain: 1 };
    }
  }
  return undefined;
}

/**
 * A bias as `channels` values when it broadcasts per channel against an
 * output of rank `rank` with channels on axis `axis`; `undefined` otherwise.
 */
function perChannel(t: Tensor | undefined, channels: number, rank: number, axis: number): Float64Array | undefined {
  if (!t || t.dtype !== "float32" || t.dims.length > rank) return undefined;
  const at = axis - (rank - t.dims.length);
  if (t.dims.some((x, k) => x !== 1 && !(k === at && x === channels))) return undefined;
  const v = t.toFloat64();
  return v.length === channels ? v : new Float64Array(channels).fill(v[0]);
}

/** A constant initializer (not one a graph input may override). */
function constantOf(graph: Graph, name: string | undefined): Tensor | undefined {
  if (!name || graph.inputs.some((i) => i.name === name)) return undefined;
  return graph.constant(name);
}

/** Points `node.inputs[slot]` at `t`: under its old name when `node` alone reads it, else a clone name. */
function setConstant(graph: Graph, node: Node, slot: number, t: Tensor, outer: Set<string>, names: NameScope): void {
  const name = node.inputs[slot];
  const readers = graph.consumers(name);
  const alone = readers.length === 1 && readers[0] === node && !graph.isOutput(name) && !outer.has(name) &&
    node.inputs.filter((i) => i === name).length === 1;
  t.name = alone ? name : names.unique(`${name}_bn`);
  graph.addInitializer(t);
  node.inputs[slot] = t.name;
  // Only a new name changes who reads what (rebuilding the index per fold was most of folding's time).
  if (!alone) graph.invalidate();
}

/** Every value name read by a node inside any subgraph of `graph` (a superset of outer-scope reads). */
function subgraphReads(graph: Graph): Set<string> {
  const out = new Set<string>();
  const visit = (g: Graph) => {
    for (const n of g.nodes) {
      for (const a of n.attrs.values()) {
        for (const sg of a.type === "graph" ? [a.value] : a.type === "graphs" ? a.value : []) {
          for (const sn of sg.nodes) for (const i of sn.inputs) out.add(i);
          visit(sg);
        }
      }
    }
  };
  visit(graph);
  return out;
}
