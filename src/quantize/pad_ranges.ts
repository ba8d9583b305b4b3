/**
 * One grid for a constant Pad's input and output. A Pad that fills with a
 * non-zero constant gets its own range, since the constant may lie outside
 * its input's; when it does not, a second grid only rounds every element a
 * second time (the fusions make such Pads for a shift before a padded Conv).
 *
 * @module
 */
import type { Range } from "../calibrate/types.ts";
import type { Graph } from "../ir/graph.ts";
import { padFill } from "./ops/movement.ts";

/**
 * For each Pad in constant mode with a scalar fill value v and calibrated
 * input x and output y: when x has no reader but the Pad and v lies within
 * y's range (or half an 8-bit step past an end, which it rounds to), x takes y's range (y's may weigh the Conv that reads it);
 * otherwise, when v lies within x's range, y takes x's. Both then quantize
 * with one scale and zero point, so the Pad moves int8 values and rounds
 * only the fill. Returns the Pad outputs whose range changed hands.
 *
 * @example
 * ```ts
 * // h → Pad(value 0.86) → p → Conv, h read by the Pad alone
 * const ranges = new Map([["h", { min: -0.4, max: 120 }], ["p", { min: -0.4, max: 110 }]]);
 * sharePadRanges(graph, ranges); // ["p"]; ranges.get("h") is now { min: -0.4, max: 110 }
 * ```
 */
export function sharePadRanges(graph: Graph, ranges: Map<string, Range>): string[] {
  const out: string[] = [];
  for (const node of graph.nodes) {
    const v = padFill(node, graph);
    if (v === undefined || Number.isNaN(v)) continue;
    const [x, y] = [node.inputs[0], node.outputs[0]];
    const rx = ranges.get(x), ry = ranges.get(y);
    if (!rx || !ry) continue;
    // Within half an 8-bit step of an end is inside: the fill rounds to that end either way.
    const inside = (r: Range) => {
      const slack = (r.max - r.min) / 510;
      return r.min - slack <= v && v <= r.max + slack;
    };
    if (graph.consumers(x).length === 1 && !graph.isOutput(x) && inside(ry)) ranges.set(x, { ...ry });
    else if (inside(rx)) ranges.set(y, { ...rx });
    else continue;
    out.push(y);
  }
  return out;
}
