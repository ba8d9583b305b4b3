/**
 * The `smoothquant` pass (Xiao et al. 2023): moves activation outliers
 * into the weights. For a linear layer y = W·x with per-channel activation
 * maxima m_j = max|x_j| (calibration statistics) and weight input-channel
 * ranges w_j, s_j = m_j^α / w_j^(1−α) (clipped to [1e-5, 1e5]); x_j is
 * divided by s_j and input channel j of W multiplied by it, so neither the
 * activation's per-tensor scale nor the weight's is set by a few channels.
 *
 * The 1/s must be folded into what produces x, which must be linear per
 * channel: a Conv/Gemm/MatMul (its output channels), LayerNormalization
 * (its scale and bias), a Mul or Add by a constant, or any of these through
 * ops that commute with positive per-channel scales (Relu, LeakyRelu,
 * PRelu, Clip(0, ∞)). Where the producer is nonlinear (HardSwish,
 * HardSigmoid, Sigmoid, a Concat of several producers, …) the pass can
 * insert an explicit Mul by 1/s instead (`smoothquantInsertMul`): exact in
 * float, but the producer's output is then quantized per tensor before the
 * Mul sees it, so its small channels have lost their resolution already.
 * That form is off by default and in the ablation table to show it.
 *
 * α: fixed, or per layer (`"auto"`) the α of 0, 0.1, …, 1 that minimizes an
 * estimate of the layer's output quantization noise from the same
 * statistics (activation step² × the weights' energy + weight step² × the
 * activations' energy), so the search costs no pass over the data.
 *
 * @module
 */
import type { ChannelObserver } from "../calibrate/channel.ts";
import type { ChannelRequest, StatRequest } from "../calibrate/types.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { commutesWithScale } from "./cross_layer_equalization.ts";
import {
  inputRanges,
  isDepthwise,
  type Linear,
  linearOf,
  scaleInputs,
  scaleOutputs,
  setInput,
  weightOf,
} from "./_linear.ts";
import { constantOf, median, soleReader, spread } from "./_graph.ts";
import type { Pass, PassContext, PassReport, StatLookup } from "./types.ts";

/** How 1/s reaches the activation: folded into a producer, or an inserted Mul. */
type Absorber =
  | { kind: "linear"; layer: Linear }
  | { kind: "layernorm"; node: Node }
  | { kind: "insert" };

const ALPHAS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/**
 * What can absorb 1/s for the input of `l`, walking back through
 * scale-commuting ops while each value feeds the next alone. (Mul and Add
 * by constants next to a linear layer are gone by now: the fusions pass
 * folds them.)
 */
function absorberOf(g: Graph, l: Linear, insert: boolean): Absorber | undefined {
  let value = l.node.inputs[0];
  let reader: Node = l.node;
  const channelAxis = l.kind === "matmul" ? -1 : 1;
  for (;;) {
    if (soleReader(g, value) !== reader) return insert && reader === l.node ? { kind: "insert" } : undefined;
    const p = g.producer(value);
    if (!p) return insert && reader === l.node ? { kind: "insert" } : undefined;
    const pl = linearOf(g, p);
    if (pl && pl.outputs === l.inputs && (pl.kind === "conv") === (l.kind === "conv")) return { kind: "linear", layer: pl };
    if (p.opType === "LayerNormalization" && channelAxis === -1 && p.attrInt("axis", -1) === -1) {
      const scale = constantOf(g, p.inputs[1]);
      if (scale && scale.size === l.inputs && (!p.inputs[2] || constantOf(g, p.inputs[2])?.size === l.inputs)) return { kind: "layernorm", node: p };
    }
    if (commutesWithScale(g, p)) {
      reader = p;
      value = p.inputs[0];
      continue;
    }
    return insert && reader === l.node ? { kind: "insert" } : undefined;
  }
}

/** Linear layers SmoothQuant may smooth (depthwise Convs have no input channels to trade), with their absorbers. */
function candidates(g: Graph, insert: boolean): { l: Linear; absorber: Absorber }[] {
  const out: { l: Linear; absorber: Absorber }[] = [];
  for (const n of g.nodes) {
    const l = linearOf(g, n);
    if (!l || isDepthwise(l) || l.group !== 1) continue;
    const absorber = absorberOf(g, l, insert);
    if (absorber) out.push({ l, absorber });
  }
  return out;
}

function request(l: Linear): ChannelRequest {
  return { kind: "channel", value: l.node.inputs[0], axis: l.kind === "matmul" ? -1 : 1, channels: l.inputs };
}

/**
 * The smoothing factors for one layer and α, from activation maxima `m`
 * and weight input ranges `w` (channels where either is 0 keep 1).
 *
 * @example
 * ```ts
 * smoothingScales([4, 1], [1, 4], 0.5); // Float64Array [2, 0.5]: √(m/w) per channel
 * ```
 */
export function smoothingScales(m: ArrayLike<number>, w: ArrayLike<number>, alpha: number): Float64Array {
  const s = new Float64Array(m.length);
  for (let j = 0; j < s.length; j++) {
    const v = m[j] > 0 && w[j] > 0 ? m[j] ** alpha / w[j] ** (1 - alpha) : 1;
    s[j] = Math.min(1e5, Math.max(1e-5, v));
  }
  return s;
}

/**
 * Estimated output noise of y = W·x quantized with factors `s`: per-tensor
 * activation step² × Σ W'² plus weight step² × Σ x'² (steps of 8 bits;
 * activation energy estimated as m_j²/3, the uniform case).
 */
function noise(l: Linear, w: Float32Array, m: ArrayLike<number>, s: Float64Array, perChannel: boolean): number {
  let xmax = 0, xEnergy = 0;
  for (let j = 0; j < s.length; j++) {
    const x = m[j] / s[j];
    if (x > xmax) xmax = x;
    xEnergy += (x * x) / 3;
  }
  const rowMax = new Float64Array(l.outputs);
  let wEnergy = 0;
  const { outOf, inOf } = l;
  for (let i = 0; i < w.length; i++) {
    const v = Math.abs(w[i] * s[inOf[i]]);
    wEnergy += v * v;
    if (v > rowMax[outOf[i]]) rowMax[outOf[i]] = v;
  }
  const xStep = (2 * xmax) / 255;
  let wStep2 = 0;
  if (perChannel) for (const r of rowMax) wStep2 += (r / 127) ** 2 / l.outputs;
  else wStep2 = (Math.max(...rowMax) / 127) ** 2;
  return xStep * xStep * wEnergy + wStep2 * xEnergy * l.outputs;
}

/** The `smoothquant` pass. */
export const smoothquant: Pass = {
  name: "smoothquant",
  stage: "statistics",
  summary: "divides activation channels by s = max|x|^α / max|w|^(1−α) and multiplies the weights' input channels by it, 1/s folded into a linear producer",
  needs(model: Model, ctx: PassContext): StatRequest[] {
    return candidates(model.graph, ctx.settings.smoothquantInsertMul).map(({ l }) => request(l));
  },
  apply(model: Model, stats: StatLookup, ctx: PassContext): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    const alphaSetting = ctx.settings.smoothquantAlpha;
    const done: { node: string; alpha: number; via: string; spreadBefore: number; spreadAfter: number }[] = [];
    for (const { l, absorber } of candidates(g, ctx.settings.smoothquantInsertMul)) {
      const m = (stats(request(l)) as ChannelObserver).maxAbs;
      if (m.length !== l.inputs) continue;
      const wr = inputRanges(g, l);
      const w = weightOf(g, l);
      let alpha = typeof alphaSetting === "number" ? alphaSetting : 0.5;
      if (alphaSetting === "auto") {
        let best = Infinity;
        for (const a of ALPHAS) {
          const e = noise(l, w, m, smoothingScales(m, wr, a), ctx.perChannel);
          if (e < best) [best, alpha] = [e, a];
        }
      }
      const s = smoothingScales(m, wr, alpha);
      if (s.every((x) => x === 1)) continue;
      absorb(g, l, absorber, s);
      scaleInputs(g, l, s);
      done.push({ node: l.node.label, alpha, via: absorber.kind, spreadBefore: spread(m), spreadAfter: spread(Array.from(m, (x, j) => x / s[j])) });
    }
    return {
      pass: "smoothquant",
      params: { alpha: alphaSetting, insertMul: ctx.settings.smoothquantInsertMul },
      nodes: done.map((d) => d.node),
      summary: `${done.length} layers smoothed` +
        (done.length ? ` (median activation channel spread ${median(done.map((d) => d.spreadBefore)).toFixed(1)} → ${median(done.map((d) => d.spreadAfter)).toFixed(1)})` : ""),
      details: { layers: done },
      ms: performance.now() - t0,
    };
  },
};

/** Folds 1/s into the absorber (or inserts a Mul by 1/s before `l`). */
function absorb(g: Graph, l: Linear, a: Absorber, s: Float64Array): void {
  const inv = Array.from(s, (x) => 1 / x);
  switch (a.kind) {
    case "linear":
      scaleOutputs(g, linearOf(g, a.layer.node)!, inv);
      return;
    case "layernorm": {
      for (const slot of [1, 2]) {
        const name = a.node.inputs[slot];
        if (!name) continue;
        const t = constantOf(g, name)!;
        const v = t.toFloat32();
        setInput(g, a.node, slot, Tensor.fromArray(name, t.dims, v.map((x, j) => x * inv[j])));
      }
      return;
    }
    case "insert": {
      const x = l.node.inputs[0];
      const dims = l.kind === "matmul" ? [l.inputs] : [1, l.inputs, ...new Array(g.constant(l.node.inputs[1])!.dims.length - 2).fill(1)];
      const cname = g.uniqueName(`${l.node.label}_smooth`);
      g.addInitializer(Tensor.fromArray(cname, dims, Float32Array.from(inv)));
      const out = g.uniqueName(`${x}_smoothed`);
      g.addNode(new Node({ opType: "Mul", name: g.uniqueName(`${l.node.label}_smooth`), inputs: [x, cname], outputs: [out] }), { before: l.node });
      l.node.inputs[0] = out;
      g.invalidate();
    }
  }
}

