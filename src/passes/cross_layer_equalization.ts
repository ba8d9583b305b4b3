/**
 * The `cross-layer-equalization` pass (DFQ, Nagel et al. 2019): where a
 * linear layer feeds another through an op that commutes with a positive
 * per-channel scale (Relu, LeakyRelu, PRelu, Clip(0, ∞), or nothing), output
 * channel i of the first is divided by s_i and input channel i of the second
 * multiplied by it, with s_i = √(r1_i / r2_i) from their weight ranges, so
 * both end with range √(r1_i·r2_i). Per-tensor weight scales then fit every
 * channel. All pairs are swept until no scale moves by more than 0.1 %
 * (a Conv → depthwise Conv → Conv triple converges to DFQ's closed form).
 * Exact up to float rounding.
 *
 * A Clip with a finite bound (ReLU6) does not commute with scaling (its bound
 * would have to move per channel), so such pairs are left alone.
 *
 * With per-tensor weights, a layer whose output goes through any other op
 * (HardSwish, HardSigmoid, a Clip with bounds, …) has no partner to absorb
 * the scale; there the pass scales its output channels to one range and
 * inserts a Mul by the inverse scales after it (values chosen on the grid
 * the Mul's constant will be quantized to, so the product is exact): one more
 * quantized tensor, in exchange for weights whose channels all use the
 * int8 range.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { inputRanges, type Linear, linearOf, outputRanges, scalableBias, scaleInputsOf, scaleOutputs, scaleOutputsOf, setBias, setInput, weightOf } from "./_linear.ts";
import { median, scalarOf, soleReader, spread } from "./_graph.ts";
import type { Pass, PassContext, PassReport } from "./types.ts";

/** Two layers joined through `via` (an op that commutes with positive scales), or directly. */
export interface Pair {
  a: Linear;
  b: Linear;
  via?: Node;
}

/** A Clip bound: `undefined` when absent, NaN when not a constant scalar. */
function bound(g: Graph, name: string | undefined): number | undefined {
  return name ? scalarOf(g, name) ?? NaN : undefined;
}

/** Whether `n` commutes with a positive per-channel scale of its (only) data input. */
export function commutesWithScale(g: Graph, n: Node): boolean {
  if (n.domain !== "") return false;
  switch (n.opType) {
    case "Relu":
    case "LeakyRelu":
      return true;
    case "PRelu":
      return !!g.constant(n.inputs[1]);
    case "Clip": {
      const lo = bound(g, n.inputs[1]), hi = bound(g, n.inputs[2]);
      return (lo === undefined || lo === 0 || lo === -Infinity) && (hi === undefined || hi === Infinity);
    }
    default:
      return false;
  }
}

/** Every pair of linear layers CLE may equalize, with the reason each other candidate was left. */
export function equalizablePairs(g: Graph): { pairs: Pair[]; refused: { node: string; reason: string }[] } {
  const pairs: Pair[] = [];
  const refused: { node: string; reason: string }[] = [];
  for (const n of g.nodes) {
    const a = linearOf(g, n);
    if (!a || a.kind === "matmul") continue;
    let next = soleReader(g, n.outputs[0]);
    let via: Node | undefined;
    if (next && !linearOf(g, next)) {
      if (!commutesWithScale(g, next)) {
        if (next.opType === "Clip") refused.push({ node: n.label, reason: `Clip "${next.label}" has a finite bound: scaling would move it` });
        continue;
      }
      via = next;
      next = soleReader(g, next.outputs[0]);
    }
    const b = next && linearOf(g, next);
    if (!b || b.kind === "matmul" || next!.inputs[0] !== (via ?? n).outputs[0] || b.inputs !== a.outputs) continue;
    pairs.push({ a, b, via });
  }
  return { pairs, refused };
}

/** The `cross-layer-equalization` pass. */
export const crossLayerEqualization: Pass = {
  name: "cross-layer-equalization",
  stage: "graph",
  summary: "equalizes per-channel weight ranges of consecutive layers (through Relu/LeakyRelu/PRelu), and with per-tensor weights rescales layers before other activations",
  apply(model: Model, _stats, ctx: PassContext): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    const { pairs, refused } = equalizablePairs(g);
    const before = pairs.map((p) => spread(outputRanges(g, p.a)));
    // Sweeps rescale a working copy of each layer's weight and bias (a layer may sit in two pairs);
    // the graph gets the result once, not a new tensor per pair and sweep.
    const work = new Map<Node, Working>();
    const of = (l: Linear) => {
      let w = work.get(l.node);
      if (!w) work.set(l.node, w = working(g, l));
      return w;
    };
    let sweeps = 0, moved = Infinity;
    for (; sweeps < ctx.settings.cleIterations && moved > 1e-3; sweeps++) {
      moved = 0;
      for (const p of pairs) {
        const a = of(p.a), b = of(p.b);
        const r1 = outputRanges(g, a.l, a.w), r2 = inputRanges(g, b.l, b.w);
        const s = new Float64Array(a.l.outputs);
        for (let i = 0; i < s.length; i++) {
          s[i] = r1[i] > 0 && r2[i] > 0 ? Math.sqrt(r1[i] / r2[i]) : 1;
          moved = Math.max(moved, Math.abs(Math.log(s[i])));
        }
        const inv = s.map((x) => 1 / x);
        scaleOutputsOf(a.l, a.w, inv);
        if (a.b) for (let o = 0; o < a.b.length; o++) a.b[o] = Math.fround(a.b[o] * inv[o]);
        scaleInputsOf(b.l, b.w, s);
      }
    }
    for (const { l, w, b } of work.values()) {
      setInput(g, l.node, 1, Tensor.fromArray(l.node.inputs[1], g.constant(l.node.inputs[1])!.dims, w));
      if (b) setBias(g, l, b);
    }
    const after = pairs.map((p) => spread(outputRanges(g, linearOf(g, p.a.node)!)));
    const rescaled = ctx.perChannel || !ctx.constants ? [] : rescaleAlone(g, pairs, ctx.constants, ctx.settings.cleRescaleLimit);
    const names = [...new Set(pairs.flatMap((p) => [p.a.node.label, p.b.node.label]))];
    return {
      pass: "cross-layer-equalization",
      params: { iterations: ctx.settings.cleIterations, rescale: !ctx.perChannel, rescaleLimit: ctx.settings.cleRescaleLimit },
      nodes: [...names, ...rescaled.map((r) => r.node)],
      summary: `${pairs.length} pairs equalized in ${sweeps} sweeps` +
        (pairs.length ? ` (median channel range ratio ${median(before).toFixed(1)} → ${median(after).toFixed(1)})` : "") +
        (rescaled.length ? `; ${rescaled.length} layers rescaled with a Mul after them` : ""),
      details: {
        pairs: pairs.map((p, i) => ({ a: p.a.node.label, b: p.b.node.label, via: p.via?.opType ?? null, ratioBefore: before[i], ratioAfter: after[i] })),
        refused,
        rescaled,
      },
      ms: performance.now() - t0,
    };
  },
};

/** A layer's weight and bias (absent when it has none) as CLE's sweeps rescale them. */
interface Working {
  l: Linear;
  w: Float32Array;
  /** Float64 so that the first scaling multiplies the bias as `scaleOutputs` reads it (Gemm's beta applied); rounded to float32 after each. */
  b?: Float64Array;
}

function working(g: Graph, l: Linear): Working {
  return { l, w: Float32Array.from(weightOf(g, l)), b: scalableBias(g, l) };
}

/** Channel-range spread above which a layer is worth a Mul of its own. */
const RESCALE_SPREAD = 4;

/**
 * Per-tensor weights: every Conv/Gemm not already the first layer of an
 * equalized pair, whose channel ranges spread over {@linkcode RESCALE_SPREAD}×,
 * gets its output channels scaled towards the largest range, by at most
 * `limit`, and a Mul by the inverse after it. The limit matters: a channel's
 * weights grown 255× grow its output as much, and the layer's output (an
 * activation, quantized per tensor) then loses the resolution the weights
 * gained (recognizer, held out: 86.0 % exact at 255×, 96.2 % at 64×, 97.7 % at
 * 16×, 97.8 % at 8×; MatMuls rescaled too: worse). `constants` gives a constant's values as its
 * quantization will store them; the inverse scales are taken from there, so
 * the Mul multiplies by exactly what the weights were divided by.
 */
function rescaleAlone(
  g: Graph,
  pairs: readonly Pair[],
  constants: (values: Float32Array) => Float32Array,
  limit: number,
): { node: string; spreadBefore: number; spreadAfter: number }[] {
  const paired = new Set(pairs.map((p) => p.a.node));
  // The smallest positive factor the Mul's constant can hold, from its quantization of [0, 1].
  const step = Math.min(...constants(Float32Array.from({ length: 1025 }, (_, i) => i / 1024)).filter((x) => x > 0));
  const floor = Math.max(step, 1 / limit);
  const out: { node: string; spreadBefore: number; spreadAfter: number }[] = [];
  for (const n of [...g.nodes]) {
    const l = linearOf(g, n);
    if (!l || l.kind === "matmul" || paired.has(n)) continue;
    const r = outputRanges(g, l);
    const s0 = spread(r);
    if (s0 < RESCALE_SPREAD) continue;
    const top = Math.max(...r);
    // Inverse scales in [1/limit, 1] (and never below the constant grid's step, so none rounds to 0); a zero channel keeps 1.
    const inv = constants(Float32Array.from(r, (x) => (x > 0 ? Math.max(x / top, floor) : 1)));
    if (inv.some((x) => !(x > 0))) continue;
    scaleOutputs(g, l, Array.from(inv, (x) => 1 / x));
    const rank = g.constant(n.inputs[1])!.dims.length;
    const dims = l.kind === "conv" ? [1, l.outputs, ...new Array(rank - 2).fill(1)] : [l.outputs];
    const cname = g.uniqueName(`${n.label}_rescale`);
    g.addInitializer(Tensor.fromArray(cname, dims, inv));
    const out0 = n.outputs[0];
    const raw = g.uniqueName(`${out0}_equalized`);
    n.outputs[0] = raw;
    g.valueInfo.delete(out0);
    g.addNode(new Node({ opType: "Mul", name: g.uniqueName(`${n.label}_rescale`), inputs: [raw, cname], outputs: [out0] }), { after: n });
    out.push({ node: n.label, spreadBefore: s0, spreadAfter: spread(outputRanges(g, linearOf(g, n)!)) });
  }
  return out;
}
