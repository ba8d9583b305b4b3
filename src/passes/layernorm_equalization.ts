/**
 * The `layernorm-equalization` pass: SmoothQuant through a LayerNorm that
 * the target runs as separate ops (npu-int8-only has no
 * LayerNormalization), where every op's output is rounded per tensor.
 *
 * After the fusions such a LayerNorm reads
 * d = centered Gemm/MatMul output, σ = √(mean(d²) + ε), z = d / σ,
 * then per-channel affine ops, maybe a Relu, and a linear layer. d and z
 * are rounded on one grid for all channels, and their channels differ in
 * range (the openWakeWord heads: z from 0.66 to 5.49). Per channel, with
 * s_j = m_j^α (m_j = max |z_j| on the calibration data, α = 0.5, s scaled
 * to mean 1):
 * - the producer's output channel j is divided by s_j: d' = d / s;
 * - the variance becomes a weighted mean, mean(d²) = Σ_j (s_j² / N)·d'_j²,
 *   a MatMul by a constant N×1 column instead of the ReduceMean;
 * - z' = d' / σ = z / s: channels of like range;
 * - an Add or Sub of a constant after it is divided by s (Mul and Div by a
 *   constant, Relu, LeakyRelu and PRelu commute with the positive scale);
 * - the linear layer that reads the result multiplies its input channel j
 *   by s_j.
 * Exact in float. The producer's rows are scaled per output channel, which
 * per-channel weights do not see; the reader's input columns take the
 * trade SmoothQuant makes at α = 0.5.
 *
 * Measured on hey_mycroft for npu-int8-only over four 32-sample calibration
 * windows (`bench/wakeword/ln_equalize.ts --windows 4`): output SQNR
 * 25.1 → 30.8 dB on average, every window better, and the rms error of the
 * logits its Sigmoid does not saturate 0.58 → 0.37; hey_rhasspy even.
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
import { biasOf, type Linear, linearOf, scaleInputs, scaleOutputs, setInput } from "./_linear.ts";
import { constantOf, median, soleReader, spread } from "./_graph.ts";
import { dataInput } from "./fusions/_match.ts";
import { rmsDivision } from "./fusions/layernorm.ts";
import type { Pass, PassReport, StatLookup } from "./types.ts";

/** The strength: s = m^α (SmoothQuant's balance; 0.25 measured the same on hey_mycroft). */
const ALPHA = 0.5;

/** One decomposed LayerNorm between two linear layers. */
interface Match {
  /** Writes d (channels on the last axis). */
  producer: Linear;
  /** The ReduceMean of d² (last axis, kept). */
  variance: Node;
  /** z = d / σ. */
  div: Node;
  /** Per-channel ops from z to the reader: Add/Sub/Mul/Div by constants and scale-commuting activations. */
  chain: Node[];
  /** Reads the chain's end as its input. */
  reader: Linear;
  channels: number;
}

/** A per-channel op on the way from z to the reader: its constant's size is 1 or the channel count. */
function chainStep(g: Graph, n: Node, value: string, channels: number): "shift" | "scale" | "commutes" | undefined {
  if (n.domain !== "") return undefined;
  if (commutesWithScale(g, n) && n.inputs[0] === value) return "commutes";
  const i = dataInput(g, n);
  if (i < 0 || n.inputs[i] !== value) return undefined;
  const c = constantOf(g, n.inputs[1 - i]);
  if (!c || c.dtype !== "float32" || (c.size !== 1 && c.size !== channels) || (c.size > 1 && c.dims[c.dims.length - 1] !== channels)) return undefined;
  if (n.opType === "Add" || n.opType === "Sub") return "shift";
  if (n.opType === "Mul" || n.opType === "Div") return "scale";
  return undefined;
}

/** Every decomposed LayerNorm the pass can equalize. */
function matches(g: Graph): Match[] {
  const out: Match[] = [];
  for (const div of g.nodes) {
    // d / √(mean(d²) [+ ε]) over the last axis.
    const rms = rmsDivision(g, div);
    if (!rms || rms.axes.length !== 1 || rms.axes[0] !== -1) continue;
    const { d, square: pow, mean: variance } = rms;
    // d feeds the square and the Div, nothing else; a Gemm/MatMul writes it.
    const readers = g.consumers(d);
    if (g.isOutput(d) || readers.length !== 2 || !readers.includes(pow) || !readers.includes(div)) continue;
    const writer = g.producer(d);
    const producer = writer && linearOf(g, writer);
    // Its bias must scale with its output channels (a [B, N] bias does not).
    if (!producer || producer.kind === "conv" || !biasOf(g, producer)) continue;
    const channels = producer.outputs;
    // From z along sole readers to a Gemm/MatMul reading it as its input.
    const chain: Node[] = [];
    let value = div.outputs[0];
    let reader: Linear | undefined;
    for (;;) {
      const r = soleReader(g, value);
      if (!r) break;
      const l = linearOf(g, r);
      if (l) {
        if (l.kind !== "conv" && r.inputs[0] === value && l.inputs === channels) reader = l;
        break;
      }
      if (!chainStep(g, r, value, channels)) break;
      chain.push(r);
      value = r.outputs[0];
    }
    if (reader) out.push({ producer, variance, div, chain, reader, channels });
  }
  return out;
}

function request(m: Match): ChannelRequest {
  return { kind: "channel", value: m.div.outputs[0], axis: -1, channels: m.channels };
}

/** The `layernorm-equalization` pass. */
export const layernormEqualization: Pass = {
  name: "layernorm-equalization",
  stage: "statistics",
  summary: "equalizes the channels of a LayerNorm run as separate ops: its producer's rows divided by s, the variance a weighted mean, s moved into the layer that reads it",
  needs(model: Model): StatRequest[] {
    return matches(model.graph).map(request);
  },
  apply(model: Model, stats: StatLookup): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    const done: { node: string; spreadBefore: number; spreadAfter: number }[] = [];
    for (const m of matches(g)) {
      const max = (stats(request(m)) as ChannelObserver).maxAbs;
      if (max.length !== m.channels || !max.every((x) => Number.isFinite(x))) continue;
      const s = equalizingScales(max, ALPHA);
      if (s.every((x) => x === 1)) continue;
      apply(g, m, s);
      done.push({ node: m.div.label, spreadBefore: spread(max), spreadAfter: spread(Array.from(max, (x, j) => x / s[j])) });
    }
    return {
      pass: "layernorm-equalization",
      params: { alpha: ALPHA },
      nodes: done.map((d) => d.node),
      summary: `${done.length} LayerNorms equalized` +
        (done.length ? ` (median channel spread ${median(done.map((d) => d.spreadBefore)).toFixed(1)} → ${median(done.map((d) => d.spreadAfter)).toFixed(1)})` : ""),
      details: { layernorms: done },
      ms: performance.now() - t0,
    };
  },
};

/**
 * s_j = m_j^α, scaled to mean 1 over the channels that were seen (a
 * channel whose maximum is 0 keeps 1).
 *
 * @example
 * ```ts
 * equalizingScales([1, 4], 0.5); // Float64Array [0.667, 1.333]: √m, mean 1
 * ```
 */
export function equalizingScales(max: ArrayLike<number>, alpha: number): Float64Array {
  const s = Float64Array.from(max, (m) => (m > 0 ? m ** alpha : 0));
  const live = s.filter((x) => x > 0);
  const mean = live.reduce((a, b) => a + b, 0) / Math.max(1, live.length);
  return s.map((x) => (x > 0 && mean > 0 ? x / mean : 1));
}

function apply(g: Graph, m: Match, s: Float64Array): void {
  const n = m.channels;
  scaleOutputs(g, m.producer, Array.from(s, (x) => 1 / x));
  // mean over the last axis of d² = (d'²)·w with w_j = s_j² / N: a MatMul [.., N] × [N, 1] → [.., 1], as the kept axis was.
  const w = g.uniqueName(`${m.variance.name || m.variance.outputs[0]}_weights`);
  g.addInitializer(Tensor.fromArray(w, [n, 1], Float32Array.from(s, (x) => (x * x) / n)));
  g.replaceNode(m.variance, [new Node({ opType: "MatMul", name: `${m.variance.name}_weighted`, inputs: [m.variance.inputs[0], w], outputs: [m.variance.outputs[0]] })]);
  // z' = z / s: a constant added to it follows; scalings and the activations commute.
  let value = m.div.outputs[0];
  for (const node of m.chain) {
    if (chainStep(g, node, value, n) === "shift") {
      const slot = 1 - dataInput(g, node);
      const c = constantOf(g, node.inputs[slot])!.toFloat32();
      setInput(g, node, slot, Tensor.fromArray(node.inputs[slot], [n], Float32Array.from(s, (x, j) => c[c.length === 1 ? 0 : j] / x)));
    }
    value = node.outputs[0];
  }
  scaleInputs(g, m.reader, s);
}
