/**
 * Input ranges of saturating activations (Sigmoid, Tanh, HardSigmoid)
 * limited to where their quantized output can still change.
 *
 * Past a point, every input gives an output that rounds to the top (or
 * bottom) of the output's grid: σ(x) rounds to 1.0 on a uint8 [0, 1] grid
 * for every x above ≈ 6.9. Input values beyond that point carry nothing the
 * quantized model can show, yet a range calibrated on the input alone
 * spends levels on them (hey_jarvis's last logit: [−13.6, 6.7], a third of
 * its grid on values whose σ rounds to 0). Limiting the input's range there
 * makes its step finer where the output moves, and changes no output that
 * the output's rounding keeps apart: the limit is taken a quarter step
 * inside the output grid's ends, so a clipped input still rounds to the same
 * end of the output grid.
 *
 * Only where the activation is the input's one reader (another reader
 * would see the clipping) and the input has its own parameters.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { Range } from "../calibrate/types.ts";

/** One input range made narrower. */
export interface SaturationLimit {
  /** The activation node. */
  node: string;
  /** Its op type. */
  op: string;
  /** Its input value. */
  value: string;
  /** The range calibration chose. */
  from: Range;
  /** The range kept. */
  to: Range;
}

/**
 * Narrows, in `ranges`, the input range of every Sigmoid, Tanh and
 * HardSigmoid whose output has a range too, to the inputs whose output
 * does not round to an end of its grid. `levels(v)` is the number of levels
 * of value v's integer type (256 for 8-bit). `shared` holds the values that
 * reuse another's parameters (their names, and the names they reuse):
 * those keep their ranges. Returns what changed.
 *
 * @example
 * ```ts
 * const ranges = new Map([["logit", { min: -13.6, max: 6.7 }], ["p", { min: 0, max: 1 }]]);
 * limitSaturatingInputs(graph, ranges, () => 256, new Set()); // graph: logit → Sigmoid → p
 * ranges.get("logit"); // { min: −6.93, max: 6.7 }
 * ```
 */
export function limitSaturatingInputs(
  graph: Graph,
  ranges: Map<string, Range>,
  levels: (value: string) => number,
  shared: ReadonlySet<string>,
): SaturationLimit[] {
  const out: SaturationLimit[] = [];
  for (const node of graph.nodes) {
    const inverse = inverseOf(node);
    if (!inverse) continue;
    const [x, y] = [node.inputs[0], node.outputs[0]];
    const rx = ranges.get(x), ry = ranges.get(y);
    if (!rx || !ry || shared.has(x) || graph.isOutput(x) || graph.consumers(x).length !== 1) continue;
    const quarter = (ry.max - ry.min) / (levels(y) - 1) / 4;
    if (!(quarter > 0)) continue;
    const lo = inverse(ry.min + quarter), hi = inverse(ry.max - quarter);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) continue;
    const to = { min: Math.max(rx.min, lo), max: Math.min(rx.max, hi) };
    if (to.min === rx.min && to.max === rx.max) continue;
    // An input range that lies wholly past a saturation point says the output is constant: leave it.
    if (!(to.min < to.max)) continue;
    ranges.set(x, to);
    out.push({ node: node.label, op: node.opType, value: x, from: rx, to });
  }
  return out;
}

/** The inverse of the activation on the open interval of its outputs, for the ops this module knows. */
function inverseOf(node: Node): ((y: number) => number) | undefined {
  if (node.domain !== "" || node.inputs.length !== 1 || node.outputs.length !== 1) return undefined;
  switch (node.opType) {
    case "Sigmoid":
      return (y) => (y > 0 && y < 1 ? Math.log(y / (1 - y)) : NaN);
    case "Tanh":
      return (y) => (y > -1 && y < 1 ? Math.atanh(y) : NaN);
    case "HardSigmoid": {
      const a = node.attrFloat("alpha", 0.2), b = node.attrFloat("beta", 0.5);
      return a > 0 ? (y) => (y > 0 && y < 1 ? (y - b) / a : NaN) : undefined;
    }
    default:
      return undefined;
  }
}
