/**
 * Affine steps by constants folded into the linear layer next to them:
 * Mul, Div, Add and Sub by a scalar or per-channel constant after a Conv,
 * Gemm or MatMul (PP-LCNetV3's "learnable affine blocks", a BatchNorm-like
 * scale exported as Mul + Add, LayerNorm's γ and β before a MatMul) become
 * part of its weight and bias. Each folded step is one quantized tensor less:
 * its rounding, and its own activation range, are gone.
 *
 * - After a layer (`y = W·x + b` then `α·y + β`): W and b are scaled per
 *   output channel and β added to b (MatMul: one Add keeps the bias).
 * - Before a layer (`x' = α·x + β` then `W·x'`): W is scaled per input channel
 *   and W·β added to the bias. A Conv that pads adds W·β only away from the
 *   border, so there `α·x + β` becomes `α·(x + β/α)`: α folds, one Add of
 *   β/α stays.
 * - Before a Relu or LeakyRelu that a layer reads (`W·relu(α·x + β)`, a
 *   LayerNorm's γ and β in an MLP): a positive α passes through, since
 *   relu(α·x + β) = α·relu(x + β/α) for α > 0. W is scaled per input channel
 *   by α, and one Add of β/α stays before the Relu.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import { Node } from "../../ir/node.ts";
import { Tensor } from "../../ir/tensor.ts";
import {
  biasOf,
  type Linear,
  linearOf,
  padsNothing,
  perChannelConstant,
  scaleInputs,
  scaleOutputs,
  setBias,
  valueLayout,
  weightOf,
} from "../_linear.ts";
import { constantOf, soleReader } from "../_graph.ts";
import { dataInput } from "./_match.ts";

const AFFINE = new Set(["Mul", "Div", "Add", "Sub"]);

/** A per-channel affine map v = α·x + β and the nodes that compute it, in order. */
interface Chain {
  alpha: Float64Array;
  beta: Float64Array;
  nodes: Node[];
}

/**
 * One affine step's constant as C channel values, or `undefined` when the
 * node is not an affine step by a constant broadcasting per channel.
 * `scalarOnly`: accept one-element constants only (the data's channel count
 * is not known, so a per-channel constant could broadcast it).
 */
function step(graph: Graph, n: Node, channels: number, rank: number | undefined, axis: number, scalarOnly: boolean): Float64Array | undefined {
  if (!AFFINE.has(n.opType) || n.domain !== "") return undefined;
  const d = dataInput(graph, n);
  if (d < 0) return undefined;
  const t = constantOf(graph, n.inputs[1 - d]);
  if (!t || (scalarOnly && t.size !== 1)) return undefined;
  // Unknown rank: only constants of rank ≤ 1 surely leave the output's shape alone.
  const c = perChannelConstant(t, channels, rank ?? 1, rank === undefined ? -1 : axis);
  if (!c) return undefined;
  if (n.opType === "Div" && c.some((x) => x === 0 || !Number.isFinite(1 / x))) return undefined;
  return c;
}

function compose(chain: Chain, n: Node, c: Float64Array): void {
  for (let i = 0; i < c.length; i++) {
    switch (n.opType) {
      case "Mul":
        chain.alpha[i] *= c[i];
        chain.beta[i] *= c[i];
        break;
      case "Div":
        chain.alpha[i] /= c[i];
        chain.beta[i] /= c[i];
        break;
      case "Add":
        chain.beta[i] += c[i];
        break;
      case "Sub":
        chain.beta[i] -= c[i];
        break;
    }
  }
  chain.nodes.push(n);
}

/** Folds affine steps after linear layers into them; returns the layers changed. */
export function foldAffineAfter(graph: Graph): string[] {
  const changed: string[] = [];
  for (const node of [...graph.nodes]) {
    const l = linearOf(graph, node);
    if (!l || !graph.nodes.includes(node)) continue;
    const { rank, axis } = valueLayout(graph, l);
    const chain: Chain = { alpha: new Float64Array(l.outputs).fill(1), beta: new Float64Array(l.outputs), nodes: [] };
    let value = node.outputs[0];
    for (let next = soleReader(graph, value); next; next = soleReader(graph, value)) {
      const c = step(graph, next, l.outputs, rank, axis, false);
      if (!c) break;
      compose(chain, next, c);
      value = next.outputs[0];
    }
    if (chain.nodes.length === 0 || !biasOf(graph, l)) continue;
    // A MatMul's lone bias Add would only be rebuilt as itself.
    if (l.kind === "matmul" && chain.nodes.length === 1 && chain.alpha.every((a) => a === 1)) continue;
    applyAfter(graph, l, chain);
    changed.push(node.label);
  }
  return changed;
}

function applyAfter(graph: Graph, l: Linear, chain: Chain): void {
  const node = l.node;
  const out = chain.nodes[chain.nodes.length - 1].outputs[0];
  const bias = biasOf(graph, l)!;
  scaleOutputs(graph, l, chain.alpha);
  const b = bias.map((x, o) => x * chain.alpha[o] + chain.beta[o]);
  for (const n of chain.nodes) graph.valueInfo.delete(n.outputs[0]);
  if (l.biasSlot >= 0) {
    setBias(graph, l, b);
    graph.valueInfo.delete(node.outputs[0]);
    node.outputs[0] = out;
    graph.removeNodes(chain.nodes);
    return;
  }
  // MatMul: its own output, then one Add of the whole shift (none when it is zero).
  graph.removeNodes(chain.nodes);
  if (b.every((x) => x === 0)) {
    graph.valueInfo.delete(node.outputs[0]);
    node.outputs[0] = out;
    graph.invalidate();
    return;
  }
  const name = graph.uniqueName(`${out}_bias`);
  graph.addInitializer(Tensor.fromArray(name, [l.outputs], Float32Array.from(b)));
  graph.addNode(new Node({ opType: "Add", name: graph.uniqueName(`${node.label}_bias_add`), inputs: [node.outputs[0], name], outputs: [out] }), { after: node });
}

/** Element-wise ops whose output has the broadcast shape of their inputs. */
const ELEMENTWISE = new Set([
  "Add", "Sub", "Mul", "Div", "Pow", "Relu", "LeakyRelu", "Sqrt", "Neg", "Abs", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Exp", "Erf", "Reciprocal",
]);

/**
 * The channel count of `value` on the channel axis, when the graph says it:
 * its recorded shape, the layer that produces it, or (through element-wise
 * ops, which broadcast) a channel count above 1 on one of their inputs.
 * `axis` counts from the end when negative; a non-negative one needs `rank`.
 */
function knownChannels(graph: Graph, value: string, axis: number, rank?: number, depth = 0): number | undefined {
  const s = graph.info(value)?.shape;
  if (s) {
    const d = s[axis < 0 ? s.length + axis : axis];
    if (typeof d === "number") return d;
  }
  const p = graph.producer(value);
  const l = p && linearOf(graph, p);
  if (l) return l.outputs;
  const fromEnd = axis < 0 ? axis : rank === undefined ? undefined : axis - rank;
  if (!p || fromEnd === undefined || depth > 16 || p.domain !== "" || !ELEMENTWISE.has(p.opType)) return undefined;
  for (const x of p.inputs) {
    if (!x) continue;
    const t = constantOf(graph, x);
    const c = t ? (t.dims.length + fromEnd >= 0 ? t.dims[t.dims.length + fromEnd] : 1) : knownChannels(graph, x, fromEnd, undefined, depth + 1);
    if (c !== undefined && c > 1) return c;
  }
  return undefined;
}

/** What {@linkcode foldAffineBefore} may build. */
export interface AffineBeforeOptions {
  /** A Pad with a constant value (opset ≥ 11, and the target runs Pad in constant mode). */
  pad: boolean;
}

/**
 * Folds affine steps before linear layers into them; returns the layers
 * changed. Before a Conv that pads, a shift cannot fold into the bias (the
 * padded border would move too): a shift t shared by every channel becomes a
 * Pad with value −t and the Conv's padding moves into it, so
 * Conv(pad₀(x + t)) = Conv(pad₋ₜ(x)) + t·ΣW, exact, and the integer model
 * rounds x once (a Pad keeps its input's grid) instead of x and x + t each
 * (`options.pad`); otherwise one Add of the shift stays before the Conv.
 */
export function foldAffineBefore(graph: Graph, options: AffineBeforeOptions = { pad: false }): string[] {
  const changed: string[] = [];
  for (const node of [...graph.nodes]) {
    const l = linearOf(graph, node);
    if (!l || !graph.nodes.includes(node) || !biasOf(graph, l)) continue;
    const found = chainBefore(graph, l, node);
    if (found && applyBefore(graph, l, found.chain, found.value, options)) changed.push(node.label);
  }
  return changed;
}

/**
 * The affine steps (with l's input channels) that compute `reader`'s first
 * input, walking back while each step feeds the next alone, composed in
 * order, and the value they start from; `undefined` when there are none.
 */
function chainBefore(graph: Graph, l: Linear, reader: Node): { chain: Chain; value: string } | undefined {
  const { rank, axis } = valueLayout(graph, l);
  const back: { n: Node; c: Float64Array }[] = [];
  let value = reader.inputs[0];
  for (;;) {
    const p = graph.producer(value);
    if (!p || soleReader(graph, value) !== (back.length ? back[back.length - 1].n : reader)) break;
    const d = dataInput(graph, p);
    if (d < 0) break;
    const c = step(graph, p, l.inputs, rank, axis, knownChannels(graph, p.inputs[d], axis, rank) !== l.inputs);
    if (!c) break;
    back.push({ n: p, c });
    value = p.inputs[d];
  }
  if (back.length === 0) return undefined;
  const chain: Chain = { alpha: new Float64Array(l.inputs).fill(1), beta: new Float64Array(l.inputs), nodes: [] };
  for (let k = back.length - 1; k >= 0; k--) compose(chain, back[k].n, back[k].c);
  return { chain, value };
}

function applyBefore(graph: Graph, l: Linear, chain: Chain, x: string, options: AffineBeforeOptions): boolean {
  const shifted = chain.beta.some((b) => b !== 0);
  const exact = !shifted || (padsNothing(l.node) && (l.kind !== "matmul" || matmulBiasAdd(graph, l) !== undefined));
  const pad = !exact && options.pad ? padFor(graph, l, chain) : undefined;
  // Not exact and nothing to scale: the Add would only be rebuilt as itself.
  if (!exact && !pad && (chain.alpha.some((a) => a === 0) || chain.alpha.every((a) => a === 1))) return false;
  if ((exact || pad) && shifted) {
    // b'_o = b_o + Σ_{c,k} W[o,c,k] · β_c, with the original W.
    const w = weightOf(graph, l);
    const add = new Float64Array(l.outputs);
    const { outOf, inOf } = l;
    for (let i = 0; i < w.length; i++) add[outOf[i]] += w[i] * chain.beta[inOf[i]];
    if (l.biasSlot >= 0) setBias(graph, l, biasOf(graph, l)!.map((b, o) => b + add[o]));
    else addToMatMulBias(graph, l, add);
  }
  scaleInputs(graph, l, chain.alpha);
  for (const n of chain.nodes) graph.valueInfo.delete(n.outputs[0]);
  graph.removeNodes(chain.nodes);
  if (exact) {
    l.node.inputs[0] = x;
    graph.invalidate();
    return true;
  }
  if (pad) {
    // The Conv's border moves into a Pad of −t: pad₀(x + t) = pad₋ₜ(x) + t, whose t went into the bias above.
    const pads = graph.uniqueName(`${l.node.label}_pads`), value = graph.uniqueName(`${l.node.label}_pad_value`);
    graph.addInitializer(Tensor.fromArray(pads, [pad.pads.length], BigInt64Array.from(pad.pads, BigInt)));
    graph.addInitializer(Tensor.fromArray(value, [], new Float32Array([-pad.shift])));
    const padded = graph.uniqueName(`${x}_padded`);
    graph.addNode(new Node({ opType: "Pad", name: graph.uniqueName(`${l.node.label}_pad`), inputs: [x, pads, value], outputs: [padded] }), { before: l.node });
    l.node.attrs.set("pads", { type: "ints", value: l.node.attrInts("pads", []).map(() => 0) });
    l.node.inputs[0] = padded;
    graph.invalidate();
    return true;
  }
  // A padding Conv keeps one Add of β/α before it.
  const name = graph.uniqueName(`${l.node.label}_input_shift`);
  const dims = [1, l.inputs, ...new Array(Math.max(0, (valueLayout(graph, l).rank ?? 4) - 2)).fill(1)];
  graph.addInitializer(Tensor.fromArray(name, dims, Float32Array.from(chain.beta, (b, c) => b / chain.alpha[c])));
  const shiftedX = graph.uniqueName(`${x}_shifted`);
  graph.addNode(new Node({ opType: "Add", name: graph.uniqueName(`${l.node.label}_shift`), inputs: [x, name], outputs: [shiftedX] }), { before: l.node });
  l.node.inputs[0] = shiftedX;
  graph.invalidate();
  return true;
}

/**
 * The shift t = β/α when every channel shares it and `l` is a Conv with
 * explicit pads, with the Pad's pads for its input (none on batch and
 * channels); undefined otherwise.
 */
function padFor(graph: Graph, l: Linear, chain: Chain): { shift: number; pads: number[] } | undefined {
  if (l.node.opType !== "Conv" || l.node.attrString("auto_pad", "NOTSET") !== "NOTSET") return undefined;
  const t = Math.fround(chain.beta[0] / chain.alpha[0]);
  if (!Number.isFinite(t) || chain.beta.some((b, c) => Math.fround(b / chain.alpha[c]) !== t)) return undefined;
  const spatial = graph.constant(l.node.inputs[1])!.dims.length - 2;
  const p = l.node.attrInts("pads", []);
  if (p.length !== 2 * spatial || p.some((x) => x < 0)) return undefined;
  return { shift: t, pads: [0, 0, ...p.slice(0, spatial), 0, 0, ...p.slice(spatial)] };
}

/** Moves positive per-channel scales before a Relu or LeakyRelu into the layer that reads it; returns the layers changed. */
export function foldScaleThroughRelu(graph: Graph): string[] {
  const changed: string[] = [];
  for (const node of [...graph.nodes]) {
    const l = linearOf(graph, node);
    if (!l || !graph.nodes.includes(node)) continue;
    const relu = graph.producer(node.inputs[0]);
    if (!relu || relu.domain !== "" || (relu.opType !== "Relu" && relu.opType !== "LeakyRelu") || soleReader(graph, relu.outputs[0]) !== node) continue;
    const found = chainBefore(graph, l, relu);
    if (!found) continue;
    const { chain, value } = found;
    const { rank } = valueLayout(graph, l);
    if (!chain.alpha.every((a) => a > 0 && Number.isFinite(1 / a)) || chain.alpha.every((a) => a === 1)) continue;
    for (const n of chain.nodes) graph.valueInfo.delete(n.outputs[0]);
    graph.removeNodes(chain.nodes);
    relu.inputs[0] = value;
    if (chain.beta.some((b) => b !== 0)) {
      const name = graph.uniqueName(`${relu.label}_shift`);
      const dims = l.kind === "conv" ? [1, l.inputs, ...new Array(Math.max(0, (rank ?? 4) - 2)).fill(1)] : [l.inputs];
      graph.addInitializer(Tensor.fromArray(name, dims, Float32Array.from(chain.beta, (b, c) => b / chain.alpha[c])));
      const shifted = graph.uniqueName(`${value}_shifted`);
      graph.addNode(new Node({ opType: "Add", name: graph.uniqueName(`${relu.label}_shift_add`), inputs: [value, name], outputs: [shifted] }), { before: relu });
      relu.inputs[0] = shifted;
    }
    scaleInputs(graph, l, chain.alpha);
    graph.invalidate();
    changed.push(node.label);
  }
  return changed;
}

/** The Add after a MatMul that carries its bias (a per-feature constant), if it has one. */
function matmulBiasAdd(graph: Graph, l: Linear): { node: Node; slot: number } | undefined {
  const add = soleReader(graph, l.node.outputs[0]);
  if (!add || add.opType !== "Add") return undefined;
  const d = dataInput(graph, add);
  if (d < 0) return undefined;
  const c = perChannelConstant(constantOf(graph, add.inputs[1 - d]), l.outputs, 1, -1);
  return c ? { node: add, slot: 1 - d } : undefined;
}

function addToMatMulBias(graph: Graph, l: Linear, add: Float64Array): void {
  const { node, slot } = matmulBiasAdd(graph, l)!;
  const old = perChannelConstant(constantOf(graph, node.inputs[slot]), l.outputs, 1, -1)!;
  const name = graph.uniqueName(`${node.inputs[slot]}_edgeq`);
  graph.addInitializer(Tensor.fromArray(name, [l.outputs], Float32Array.from(old, (b, o) => b + add[o])));
  node.inputs[slot] = name;
  graph.invalidate();
}

/**
 * Removes Mul and Div by exactly 1 and Add and Sub of exactly 0 (a scalar
 * constant, so the shape cannot change): swish exports write x · 1.0.
 * Returns the nodes removed.
 */
export function dropNeutral(graph: Graph): string[] {
  const removed: string[] = [];
  for (const n of [...graph.nodes]) {
    if (!AFFINE.has(n.opType) || n.domain !== "") continue;
    const d = dataInput(graph, n);
    const t = d < 0 ? undefined : constantOf(graph, n.inputs[1 - d]);
    if (!t || t.size !== 1 || t.dims.length > 1 || (t.dtype !== "float32" && t.dtype !== "float64")) continue;
    const v = t.toFloat64()[0];
    if (v !== ((n.opType === "Mul" || n.opType === "Div") ? 1 : 0)) continue;
    const out = n.outputs[0];
    if (graph.isOutput(out)) continue;
    graph.removeNodes([n]);
    graph.replaceUses(out, n.inputs[d]);
    graph.valueInfo.delete(out);
    removed.push(n.label);
  }
  return removed;
}
