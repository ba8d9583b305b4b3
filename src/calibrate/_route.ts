/**
 * How the collector obtains each requested value: from the feeds, fetched
 * whole, reduced to its extremes in the graph, reduced and subsampled, or
 * derived from another value through monotone ops; and whether its channel
 * statistics are reduced in the graph too. Private to src/calibrate/.
 */
import type { Graph } from "../ir/graph.ts";
import { type Derivation, derivations } from "./_derive.ts";
import type { ChannelRequest, StatRequest } from "./types.ts";

/** What a value (or a value derived from it) is read for, in increasing cost. */
const enum Need {
  Extremes = 0,
  Sample = 1,
  Whole = 2,
}

/**
 * How the graph reduces a value per channel: the channel axis (≥ 0, or −1
 * for the last) and the channel count, which together give a view of the
 * value with the channel on a known axis whatever its rank.
 */
export interface ChannelView {
  axis: number;
  channels: number;
  /** Whether Σx² is reduced too (some request wants the channels' spread). */
  squares: boolean;
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
  /** Computed values of `extremes` whose channel statistics the graph reduces (their extremes come from the same reductions). */
  channelStats: Map<string, ChannelView>;
  /** Values computed in JavaScript from a root's reading. */
  derived: Map<string, Derivation>;
}

/**
 * Routes each value of `byValue` (value → its requests). `sample` is the
 * subsample size for histograms (0: histograms read whole values);
 * `canSample` and `canReduce` are false when the model's opset lacks the
 * ops subsampling or per-channel views use.
 */
export function route(
  graph: Graph,
  byValue: ReadonlyMap<string, readonly StatRequest[]>,
  feedNames: readonly string[],
  sample: number,
  canSample: boolean,
  canReduce = true,
): Routes {
  const inputs = new Set(feedNames.filter((v) => byValue.has(v)));
  const views = new Map<string, ChannelView>();
  const own = new Map<string, Need>();
  for (const [v, rs] of byValue) {
    const channel = rs.filter((r): r is ChannelRequest => r.kind === "channel");
    // Graph inputs are whole in JavaScript already: their channel statistics come from the feed.
    const view = channel.length > 0 && canReduce && !inputs.has(v) ? channelView(channel) : undefined;
    if (view) views.set(v, view);
    const histogram = rs.some((r) => r.kind === "histogram") ? (sample > 0 && canSample ? Need.Sample : Need.Whole) : Need.Extremes;
    own.set(v, channel.length > 0 && !view ? Need.Whole : histogram);
  }
  // A value read for its own sake (whole, or reduced per channel) is read from ONNX Runtime, not derived.
  const roots = new Set([...inputs, ...views.keys(), ...[...own].filter(([, n]) => n === Need.Whole).map(([v]) => v)]);
  const derived = derivations(graph, new Set(byValue.keys()), roots);
  const need = new Map<string, Need>();
  for (const [v, n] of own) {
    const d = derived.get(v);
    const root = d ? d.root : v;
    need.set(root, Math.max(need.get(root) ?? Need.Extremes, n));
  }
  const computed = [...need.keys()].filter((v) => !inputs.has(v));
  return {
    inputs: [...inputs],
    sampledInputs: [...inputs].filter((v) => need.get(v) === Need.Sample),
    whole: computed.filter((v) => need.get(v) === Need.Whole),
    extremes: [...[...inputs].filter((v) => need.get(v) !== Need.Whole), ...computed.filter((v) => need.get(v) !== Need.Whole)],
    sampled: computed.filter((v) => need.get(v) === Need.Sample),
    // A value fetched whole (for another request) serves its channel statistics from the tensor.
    channelStats: new Map([...views].filter(([v]) => need.get(v) !== Need.Whole)),
    derived,
  };
}

/**
 * The one view that serves all of a value's channel requests, or undefined
 * (read whole) when one lacks the channel count, they disagree, or the axis
 * is one no rank-free view reaches (negative other than −1).
 */
function channelView(rs: readonly ChannelRequest[]): ChannelView | undefined {
  const axis = rs[0].axis ?? 1, channels = rs[0].channels;
  if (channels === undefined || !Number.isInteger(channels) || channels < 1) return undefined;
  if (!Number.isInteger(axis) || (axis < 0 && axis !== -1)) return undefined;
  if (rs.some((r) => (r.axis ?? 1) !== axis || r.channels !== channels)) return undefined;
  return { axis, channels, squares: rs.some((r) => r.spread === true) };
}
