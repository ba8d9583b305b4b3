/**
 * Input ranges of saturating activations (Sigmoid, Tanh, HardSigmoid)
 * limited to where their quantized output can still change, and those of
 * HardSwish and Relu to where their output stops being exactly 0 (−3, 0).
 *
 * Past a point, every input gives an output that rounds to the top (or
 * bottom) of the output's grid: σ(x) rounds to 1.0 on a uint8 [0, 1] grid
 * for every x above ≈ 6.9. Input values beyond that point carry nothing the
 * quantized model can show, yet a range calibrated on the input alone
 * spends levels on them (hey_jarvis's last logit: [−13.6, 6.7], a third of
 * its grid on values whose σ rounds to 0). Limiting the input's range there
 * makes its step finer where the output moves, and changes no output that
 * the output's rounding keeps apart: the limit is taken a quarter step
 * inside the ends of the output's grid as QDQ will store it (its scale and
 * zero point: a symmetric or power-of-two grid ends past the calibrated
 * range), so a clipped input still rounds to the same end of that grid.
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

/** The values an output's integer grid spans, and its step. */
export interface Grid {
  lo: number;
  hi: number;
  step: number;
}

/**
 * Narrows, in `ranges`, the input range of every Sigmoid, Tanh and
 * HardSigmoid whose output has a range too, to the inputs whose output
 * does not round to an end of its grid; a HardSwish's or Relu's lower end to
 * −3 or 0, below which every input gives 0. `grid(v, range)` is the grid value
 * v will be stored on, given its calibrated range. `shared` holds the
 * values that reuse another's parameters (their names, and the names they
 * reuse): those keep their ranges. Returns what changed.
 *
 * @example
 * ```ts
 * const ranges = new Map([["logit", { min: -13.6, max: 6.7 }], ["p", { min: 0, max: 1 }]]);
 * const uint8 = (_: string, r: Range) => ({ lo: r.min, hi: r.max, step: (r.max - r.min) / 255 });
 * limitSaturatingInputs(graph, ranges, uint8, new Set()); // graph: logit → Sigmoid → p
 * ranges.get("logit"); // { min: −6.93, max: 6.7 }
 * ```
 */
export function limitSaturatingInputs(
  graph: Graph,
  ranges: Map<string, Range>,
  grid: (value: string, range: Range) => Grid,
  shared: ReadonlySet<string>,
): SaturationLimit[] {
  const out: SaturationLimit[] = [];
  for (const node of graph.nodes) {
    const [x, y] = [node.inputs[0], node.outputs[0]];
    const rx = ranges.get(x), ry = ranges.get(y);
    if (!rx || !ry || shared.has(x) || graph.isOutput(x) || graph.consumers(x).length !== 1) continue;
    // HardSwish is 0 at and below −3 (x·relu6(x + 3)/6), Relu at and below 0: a lower end past that
    // spends levels on inputs whose output is exactly 0.
    const floor = node.domain === "" && node.inputs.length === 1 ? FLOORS[node.opType] : undefined;
    if (floor !== undefined) {
      if (rx.min < floor && floor < rx.max) {
        const to = { min: floor, max: rx.max };
        ranges.set(x, to);
        out.push({ node: node.label, op: node.opType, value: x, from: rx, to });
      }
      continue;
    }
    const f = activationOf(node);
    if (!f) continue;
    const gy = grid(y, ry);
    const quarter = gy.step / 4;
    if (!(quarter > 0)) continue;
    // The grid points the activation's bounds round to (a symmetric grid's 0 for a Sigmoid, not its −1).
    const nearest = (v: number) => Math.min(gy.hi, Math.max(gy.lo, gy.lo + Math.round((v - gy.lo) / gy.step) * gy.step));
    const lo = f.inverse(nearest(f.inf) + quarter), hi = f.inverse(nearest(f.sup) - quarter);
    const to = { min: Number.isFinite(lo) ? Math.max(rx.min, lo) : rx.min, max: Number.isFinite(hi) ? Math.min(rx.max, hi) : rx.max };
    if (to.min === rx.min && to.max === rx.max) continue;
    // An input range that lies wholly past a saturation point says the output is constant: leave it.
    if (!(to.min < to.max)) continue;
    ranges.set(x, to);
    out.push({ node: node.label, op: node.opType, value: x, from: rx, to });
  }
  return out;
}

/** Where an activation's output becomes exactly 0 for every input below. */
const FLOORS: Readonly<Record<string, number>> = { HardSwish: -3, Relu: 0 };

/** The activation's bounds (what it tends to at −∞ and +∞) and its inverse between them, for the ops this module knows. */
function activationOf(node: Node): { inf: number; sup: number; inverse: (y: number) => number } | undefined {
  if (node.domain !== "" || node.inputs.length !== 1 || node.outputs.length !== 1) return undefined;
  switch (node.opType) {
    case "Sigmoid":
      return { inf: 0, sup: 1, inverse: (y) => (y > 0 && y < 1 ? Math.log(y / (1 - y)) : NaN) };
    case "Tanh":
      return { inf: -1, sup: 1, inverse: (y) => (y > -1 && y < 1 ? Math.atanh(y) : NaN) };
    case "HardSigmoid": {
      const a = node.attrFloat("alpha", 0.2), b = node.attrFloat("beta", 0.5);
      return a > 0 ? { inf: 0, sup: 1, inverse: (y) => (y > 0 && y < 1 ? (y - b) / a : NaN) } : undefined;
    }
    default:
      return undefined;
  }
}
