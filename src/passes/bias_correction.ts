/**
 * The `bias-correction` pass: removes the mean output shift that rounding a
 * layer's weights causes. For y = W·x + b quantized to W_q, the output moves
 * by (W_q − W)·E[x] on average, per output channel; adding
 * (W − W_q)·E[x] to b puts the mean back (DFQ's empirical bias correction,
 * Nagel et al. 2019, with E[x] from the calibration data; for a padding Conv
 * the border is ignored, as there). It matters most for per-tensor weights
 * and depthwise layers, whose rounding errors do not average out over a
 * channel.
 *
 * A layer is left alone when the correction would be out of proportion to
 * its bias (max |shift| ≥ threshold · max |b|, NNCF's safeguard in its L∞
 * form): then the statistics, not the weights, are off.
 *
 * @module
 */
import type { ChannelObserver } from "../calibrate/channel.ts";
import type { ChannelRequest, StatRequest } from "../calibrate/types.ts";
import type { Model } from "../ir/model.ts";
import { Tensor } from "../ir/tensor.ts";
import { constantOf } from "./_graph.ts";
import { biasOf, type Linear, linearOf, perChannelConstant, setBias, weightOf } from "./_linear.ts";
import type { Pass, PassContext, PassReport, StatLookup } from "./types.ts";

/** The input statistic bias correction reads for a layer: per-channel means of its data input. */
function request(l: Linear): ChannelRequest {
  return { kind: "channel", value: l.node.inputs[0], axis: l.kind === "matmul" ? -1 : 1, channels: l.inputs };
}

/** Linear layers whose bias can take a correction: Conv and Gemm, and MatMul followed by a bias Add. */
function layers(model: Model): Linear[] {
  const g = model.graph;
  const out: Linear[] = [];
  for (const n of g.nodes) {
    const l = linearOf(g, n);
    if (!l || !biasOf(g, l)) continue;
    if (l.kind === "matmul" && !matmulBias(model, l)) continue;
    const info = g.info(n.inputs[0]);
    if (info?.dtype !== undefined && info.dtype !== "float32") continue;
    out.push(l);
  }
  return out;
}

/** The bias Add after a MatMul: the Add node and its constant's slot. */
function matmulBias(model: Model, l: Linear): { slot: number; values: Float64Array } | undefined {
  const g = model.graph;
  const r = g.consumers(l.node.outputs[0]);
  if (r.length !== 1 || r[0].opType !== "Add" || g.isOutput(l.node.outputs[0])) return undefined;
  const add = r[0];
  const slot = constantOf(g, add.inputs[1]) ? 1 : constantOf(g, add.inputs[0]) ? 0 : -1;
  if (slot < 0 || add.inputs[1 - slot] !== l.node.outputs[0]) return undefined;
  const values = perChannelConstant(constantOf(g, add.inputs[slot]), l.outputs, 1, -1);
  return values ? { slot, values } : undefined;
}

/** The `bias-correction` pass. */
export const biasCorrection: Pass = {
  name: "bias-correction",
  stage: "calibrated",
  summary: "adds (W − W_q)·E[x] to each layer's bias, so weight rounding does not shift its mean output",
  needs(model: Model): StatRequest[] {
    return layers(model).map(request);
  },
  apply(model: Model, stats: StatLookup, ctx: PassContext): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    if (!ctx.weights) throw new Error("internal: bias correction needs the weight quantizer");
    const threshold = ctx.settings.biasCorrectionThreshold;
    const nodes: string[] = [];
    const skipped: { node: string; ratio: number }[] = [];
    let largest = 0;
    for (const l of layers(model)) {
      const wq = ctx.weights.dequantized(l.node);
      if (!wq) continue;
      const mean = (stats(request(l)) as ChannelObserver).mean();
      if (mean.length !== l.inputs) continue;
      const w = weightOf(g, l);
      const shift = new Float64Array(l.outputs);
      const { outOf, inOf } = l;
      for (let i = 0; i < w.length; i++) shift[outOf[i]] += (w[i] - wq[i]) * mean[inOf[i]];
      const bias = l.kind === "matmul" ? matmulBias(model, l)!.values : biasOf(g, l)!;
      const maxShift = shift.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const maxBias = bias.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      if (maxShift === 0) continue;
      const ratio = maxBias > 0 ? maxShift / maxBias : Infinity;
      if (!(ratio < threshold)) {
        skipped.push({ node: l.node.label, ratio });
        continue;
      }
      largest = Math.max(largest, ratio);
      const corrected = bias.map((b, o) => b + shift[o]);
      if (l.kind === "matmul") setMatMulBias(model, l, corrected);
      else setBias(g, l, corrected);
      nodes.push(l.node.label);
    }
    return {
      pass: "bias-correction",
      params: { threshold },
      nodes,
      summary: `${nodes.length} layers corrected${skipped.length ? `, ${skipped.length} left alone (shift ≥ ${threshold}× bias)` : ""}`,
      details: { skipped, largestRatio: largest },
      ms: performance.now() - t0,
    };
  },
};

function setMatMulBias(model: Model, l: Linear, values: Float64Array): void {
  const g = model.graph;
  const add = g.consumers(l.node.outputs[0])[0];
  const { slot } = matmulBias(model, l)!;
  const name = g.uniqueName(`${add.inputs[slot]}_corrected`);
  g.addInitializer(Tensor.fromArray(name, [l.outputs], Float32Array.from(values)));
  add.inputs[slot] = name;
  g.invalidate();
}
