/**
 * The `high-bias-absorption` pass (DFQ, Nagel et al. 2019, §4.1): where a
 * linear layer `a` feeds another, `b`, through a Relu (or a Clip(0, ∞)), and
 * output channel i of `a` never falls below c_i > 0, then
 * ReLU(x_i − c_i) = ReLU(x_i) − c_i, so c_i can leave `a`'s bias and enter
 * `b`'s: b_a −= c, b_b += W_b·c. The Relu's output, which is quantized per
 * tensor, loses the constant part of its range and keeps the part that
 * carries information; nothing else changes. Cross-layer equalization
 * grows the biases of the channels it scales up, which is where this pays.
 *
 * DFQ takes c_i = max(0, β_i − 3γ_i) from the BatchNorm that precedes the
 * Relu: the pre-activation's mean less three standard deviations. Folded
 * models (and models exported without BatchNorm) no longer have β and γ, so
 * the pass measures the moments on the calibration data, and also takes no
 * more than the smallest value seen: c_i = max(0, min(mean_i − kσ_i, min_i)).
 * Calibration data are narrower than what a model meets in use, so k is 5,
 * not 3, chosen on the recognizer's squeeze-and-excitation blocks (a channel
 * there has one value per sample): calibrated on one rendering of text and
 * run on another (other fonts, other corpus), the rewritten float model
 * stays within 37 dB of the original at k = 3 (and at the minimum alone),
 * 84 dB at k = 5, 114 dB at k = 8. Where an input falls below c_i, the
 * Relu's output is off by c_i − x_i.
 *
 * Off in every built-in recipe: with MSE ranges it changed held-out
 * accuracy by −0.7 to +0.3 points, and with min/max ranges it cost the
 * recognizer 7–8 points although the Relu outputs' ranges shrank 3–5× as
 * intended (the squeeze-and-excitation gate after them lost 3 dB SQNR, on
 * the calibration data too; not explained yet).
 *
 * Applies only where the absorption is exact for every input above the
 * bounds: `b` a Conv that pads nothing (a padded border would still see 0,
 * not −c) or a Gemm, both with a per-channel bias, and `a` a Conv or Gemm.
 * A Clip with a finite upper bound (ReLU6) would have to move its bound per
 * channel, and LeakyRelu/PRelu are not shift-invariant above 0 alone: both
 * are left alone.
 *
 * @module
 */
import type { ChannelObserver } from "../calibrate/channel.ts";
import type { ChannelRequest, StatRequest } from "../calibrate/types.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { scalarOf } from "./_graph.ts";
import { biasOf, padsNothing, setBias, weightOf } from "./_linear.ts";
import { equalizablePairs, type Pair } from "./cross_layer_equalization.ts";
import type { Pass, PassReport, StatLookup } from "./types.ts";

/** Standard deviations below the mean that a channel is taken never to go (DFQ: 3; see the module doc). */
const SIGMAS = 5;

/** Whether `via` is a plain ReLU: Relu, or Clip with lower bound 0 and no upper bound. */
function isRelu(g: Graph, via: Node | undefined): boolean {
  if (via?.opType === "Relu") return true;
  return via?.opType === "Clip" && scalarOf(g, via.inputs[1]) === 0 && !via.inputs[2];
}

/** The pairs the pass may change: a → ReLU → b with `b` a non-padding Conv or a Gemm and both biases per channel. */
export function absorbablePairs(g: Graph): Pair[] {
  return equalizablePairs(g).pairs.filter((p) =>
    isRelu(g, p.via) &&
    (p.a.kind === "conv" || p.a.kind === "gemm") &&
    (p.b.kind === "gemm" || (p.b.kind === "conv" && padsNothing(p.b.node))) &&
    !!biasOf(g, p.a) && !!biasOf(g, p.b)
  );
}

/** The statistic the pass reads for a pair: per-channel moments and minima of `a`'s output, before the ReLU. */
function request(p: Pair): ChannelRequest {
  return { kind: "channel", value: p.a.node.outputs[0], axis: 1, channels: p.a.outputs, spread: true };
}

/** The `high-bias-absorption` pass. */
export const highBiasAbsorption: Pass = {
  name: "high-bias-absorption",
  stage: "statistics",
  summary: `moves the part of a layer's output that a following Relu never clips (per channel, min(mean − ${SIGMAS}σ, minimum) on the calibration data) into the next layer's bias`,
  needs(model: Model): StatRequest[] {
    return absorbablePairs(model.graph).map(request);
  },
  apply(model: Model, stats: StatLookup): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    const nodes: string[] = [];
    const changed: { a: string; b: string; channels: number; rangeBefore: number; rangeAfter: number }[] = [];
    for (const p of absorbablePairs(g)) {
      const obs = stats(request(p)) as ChannelObserver;
      if (obs.min.length !== p.a.outputs) continue;
      const mean = obs.mean(), std = obs.std();
      const c = Float64Array.from(obs.min, (m, i) => {
        const bound = Math.min(m, mean[i] - SIGMAS * std[i]);
        return bound > 0 && Number.isFinite(bound) ? bound : 0;
      });
      const channels = c.reduce((n, x) => n + (x > 0 ? 1 : 0), 0);
      if (!channels) continue;
      const { a, b } = p;
      // Biases are read now: setBias may have renamed a tensor an earlier pair shared.
      const ba = biasOf(g, a)!, bb = biasOf(g, b)!;
      const w = weightOf(g, b);
      const shift = new Float64Array(b.outputs);
      const { outOf, inOf } = b;
      for (let i = 0; i < w.length; i++) shift[outOf[i]] += w[i] * c[inOf[i]];
      setBias(g, a, ba.map((x, i) => x - c[i]));
      setBias(g, b, bb.map((x, o) => x + shift[o]));
      let before = 0, after = 0;
      for (let i = 0; i < c.length; i++) {
        before = Math.max(before, obs.max[i]);
        after = Math.max(after, obs.max[i] - c[i]);
      }
      nodes.push(a.node.label, b.node.label);
      changed.push({ a: a.node.label, b: b.node.label, channels, rangeBefore: before, rangeAfter: after });
    }
    const shrunk = changed.filter((x) => x.rangeAfter < x.rangeBefore);
    return {
      pass: "high-bias-absorption",
      params: { bound: `min(mean − ${SIGMAS}σ, minimum) on the calibration data` },
      nodes: [...new Set(nodes)],
      summary: `${changed.length} Relu pairs absorbed (${changed.reduce((n, x) => n + x.channels, 0)} channels)` +
        (shrunk.length ? `; ${shrunk.length} Relu outputs' range shrank` : ""),
      details: { pairs: changed },
      ms: performance.now() - t0,
    };
  },
};
