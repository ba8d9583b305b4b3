/**
 * How the collector obtains each requested value: from the feeds, fetched
 * whole, reduced to its extremes in the graph, reduced and subsampled, or
 * derived from another value through monotone ops. Private to
 * src/calibrate/.
 */
import type { Graph } from "../ir/graph.ts";
import { type Derivation, derivations } from "./_derive.ts";
import type { StatRequest } from "./types.ts";

/** What a value (or a value derived from it) is read for, in increasing cost. */
const enum Need {
  Extremes = 0,
  Sample = 1,
  Whole = 2,
}

/** The routes of all requested values. */
export interface Routes {
  /** Graph inputs, read from the feeds (their extremes reduced in the graph unless read whole). */
  inputs: string[];
  /** Graph inputs whose histograms (or their derived values') read a subsample of the feed. */
  sampledInputs: string[];
  /** Computed values fetched whole. */
  whole: string[];
  /**
   * Values reduced to their extremes in the graph: computed values (includes
   * `sampled`) and graph inputs not read whole (ONNX Runtime's vectorized
   * reduction beats a JavaScript scan of a large input).
   */
  extremes: string[];
  /** Computed values also subsampled in the graph. */
  sampled: string[];
  /** Values computed in JavaScript from a root's reading. */
  derived: Map<string, Derivation>;
}

/**
 * Routes each value of `byValue` (value → its requests). `sample` is the
 * subsample size for histograms (0: histograms read whole values);
 * `canSample` is false when the model's opset lacks the ops subsampling uses.
 */
export function route(
  graph: Graph,
  byValue: ReadonlyMap<string, readonly StatRequest[]>,
  feedNames: readonly string[],
  sample: number,
  canSample: boolean,
): Routes {
  const own = (rs: readonly StatRequest[]): Need => {
    if (rs.some((r) => r.kind === "channel")) return Need.Whole;
    if (rs.some((r) => r.kind === "histogram")) return sample > 0 && canSample ? Need.Sample : Need.Whole;
    return Need.Extremes;
  };
  const inputs = new Set(feedNames.filter((v) => byValue.has(v)));
  const derived = derivations(graph, new Set(byValue.keys()), inputs);
  // A value read whole for its own sake (channel statistics) is read from ONNX Runtime.
  for (const v of derived.keys()) if (own(byValue.get(v)!) === Need.Whole) derived.delete(v);
  const need = new Map<string, Need>();
  for (const [v, rs] of byValue) {
    const d = derived.get(v);
    const root = d ? d.root : v;
    need.set(root, Math.max(need.get(root) ?? Need.Extremes, own(rs)));
  }
  const computed = [...need.keys()].filter((v) => !inputs.has(v));
  return {
    inputs: [...inputs],
    sampledInputs: [...inputs].filter((v) => need.get(v) === Need.Sample),
    whole: computed.filter((v) => need.get(v) === Need.Whole),
    extremes: [...[...inputs].filter((v) => need.get(v) !== Need.Whole), ...computed.filter((v) => need.get(v) !== Need.Whole)],
    sampled: computed.filter((v) => need.get(v) === Need.Sample),
    derived,
  };
}
