/**
 * The statistics pass: one ONNX Runtime session, samples streamed one at a
 * time, observers that keep only their statistics.
 *
 * @module
 */
import type { Dataset, Sample } from "../data/types.ts";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import type { Runtime, TensorValue } from "../runtime/types.ts";
import { subsamplePlan, subsampleTake } from "./_augment.ts";
import { channelCounts } from "../ir/channels.ts";
import { resolveCollectOptions } from "./_options.ts";
import { type AnyObserver, DerivedReadings, observeReading, type Reading, wholeReading } from "./_reading.ts";
import { route } from "./_route.ts";
import { Sessions } from "./_session.ts";
import { ChannelObserver } from "./channel.ts";
import { Histogram } from "./histogram.ts";
import { MinMaxObserver } from "./minmax.ts";
import type { ChannelRequest, CollectOptions, HistogramRequest, MinMaxRequest, StatRequest } from "./types.ts";

/** The observer that serves a request of kind `R["kind"]`. */
export type ObserverOf<R extends StatRequest> = R extends MinMaxRequest ? MinMaxObserver
  : R extends HistogramRequest ? Histogram
  : R extends ChannelRequest ? ChannelObserver
  : never;

/** One observer per request, in request order. */
export type Observers<R extends readonly StatRequest[]> = { -readonly [K in keyof R]: ObserverOf<R[K]> };

/**
 * Streams the first `opts.samples` samples of `data` through `model` and
 * returns one observer per request, in order (equal requests share one).
 * The caller's model is not changed: the session runs a copy whose outputs
 * carry what the observers read. Graph inputs are observed from the feeds;
 * a value computed from another by monotone elementwise ops (Relu, Clip,
 * scaling by a constant, …) is computed from that value's reading in
 * JavaScript; the rest are reduced inside ONNX Runtime to their exact min
 * and max (graph inputs too, whose other readings come from the feeds), plus
 * (for histograms) a strided subsample of about `opts.histogramSample`
 * elements per sample, and (for channel requests that give their channel
 * count) per-channel sums and extremes; or fetched whole when
 * `histogramSample` is 0 or a channel request gives no count. A sample in
 * which a reduced value has non-finite elements is read again whole, so
 * they are skipped and counted as on a whole reading. Memory does not grow
 * with the number of samples.
 *
 * @example
 * ```ts
 * const [mm, hist] = await collect(model, dataset, [
 *   { kind: "minmax", value: "conv1_out" },
 *   { kind: "histogram", value: "relu1_out", symmetric: false },
 * ]);
 * mm.range(); // { min, max }
 * ```
 */
export async function collect<const R extends readonly StatRequest[]>(
  model: Model,
  data: Dataset,
  requests: R,
  opts: Partial<CollectOptions> = {},
  runtime?: Runtime,
): Promise<Observers<R>> {
  const o = resolveCollectOptions(opts, data.size);
  const g = model.graph;
  const feedNames = g.inputs.filter((v) => !g.initializers.has(v.name)).map((v) => v.name);
  const byKey = new Map<string, AnyObserver>();
  const observers = new Map<string, AnyObserver[]>();
  const requested = new Map<string, StatRequest[]>();
  const result = requests.map((r) => {
    checkRequest(model, r, feedNames);
    requested.set(r.value, [...(requested.get(r.value) ?? []), r]);
    const key = requestKey(r);
    let obs = byKey.get(key);
    if (!obs) {
      obs = createObserver(r);
      byKey.set(key, obs);
      observers.set(r.value, [...(observers.get(r.value) ?? []), obs]);
    }
    return obs;
  });

  // Subsampling needs Slice with steps (opset 10), channel views Reshape with a shape input (opset 5);
  // older models read those values whole.
  const routes = route(g, requested, feedNames, o.histogramSample, model.opset() >= 10, model.opset() >= 5);
  // Values that may need re-reading whole; inputs are whole in the feeds.
  const reread = [...routes.whole, ...routes.extremes.filter((v) => !routes.inputs.includes(v)), ...routes.derived.keys()];
  const known = channelCounts(g);
  const channels = new Map(routes.extremes.filter((v) => known.has(v) && !routes.channelStats.has(v)).map((v) => [v, known.get(v)!]));
  const request = {
    whole: routes.whole,
    extremes: routes.extremes,
    sampled: routes.sampled,
    channels,
    channelStats: routes.channelStats,
    // A weighted histogram whose channel runs depend on the sample's dims (no channel view gives them) reads the batch dim.
    // (A derived value's reading is its root's, element for element: the root's batch serves it.)
    runs: new Map(requests.flatMap((r) => {
      const root = routes.derived.get(r.value)?.root ?? r.value;
      return r.kind === "histogram" && r.channelWeights && r.channelWeights.inner === undefined && routes.sampled.includes(root) && !routes.channelStats.has(root)
        ? [[root, r.channelWeights.weights.length] as const]
        : [];
    })),
    size: o.histogramSample,
  };
  const session = new Sessions(model, request, reread, o.session, runtime);
  const runs = request.whole.length + request.extremes.length > 0;
  const derived = new DerivedReadings();
  // The next sample's read starts before this one runs: a dataset that reads off this thread (images) overlaps the run.
  const time = { open: 0, read: 0, runs: 0, observe: 0 };
  let last = performance.now();
  // Adds the time since the last lap to `part` (none: not counted).
  const lap = (part?: keyof typeof time) => {
    const now = performance.now();
    if (part) time[part] += now - last;
    last = now;
  };
  let reading = o.samples > 0 ? data.get(0) : undefined;
  try {
    for (let i = 0; i < o.samples; i++) {
      const sample = await reading!;
      reading = i + 1 < o.samples ? data.get(i + 1) : undefined;
      // A failed read surfaces at its own turn, not as an unhandled rejection before it.
      reading?.catch(() => {});
      const feeds = feedsOf(sample, feedNames, data.id(i));
      // Moves the subsample positions from sample to sample (start = offset mod step).
      const offset = (i * 7919) % 1_000_003;
      const readings = new Map<string, Reading>();
      let again: string[] = [];
      lap("read");
      if (runs) {
        const run = await session.run(feeds, offset, data.id(i));
        for (const [v, r] of run.readings) readings.set(v, r);
        again = run.nonFinite;
      }
      lap("runs");
      // Inputs: extremes from the graph when it reduced them (finite), data from the feed.
      for (const v of routes.inputs) {
        const reduced = readings.get(v);
        readings.set(v, inputReading(v, feeds[v], routes.sampledInputs.includes(v) ? o.histogramSample : 0, offset, reduced));
      }
      again = again.filter((v) => !routes.inputs.includes(v));
      // Derived values whose root or mapped extremes were not finite are re-read too.
      derived.next();
      for (const [v, d] of routes.derived) {
        const r = derived.read(v, d, readings);
        if (r) observeReading(observers.get(v)!, v, r);
        else again.push(v);
      }
      if (again.length > 0) {
        lap("observe");
        for (const [v, r] of await session.runWhole(feeds, again, data.id(i))) readings.set(v, r);
        lap("runs");
      }
      for (const [v, r] of readings) if (!routes.derived.has(v) || again.includes(v)) observeReading(observers.get(v) ?? [], v, r);
      lap("observe");
      o.onProgress?.(i + 1, o.samples);
      lap();
    }
  } finally {
    await session.release();
  }
  // Opening happens inside the first run (and a fallback's first run).
  time.open = session.openMs;
  time.runs -= session.openMs;
  o.onTimings?.(time);
  return result as Observers<R>;
}

function createObserver(r: StatRequest): AnyObserver {
  switch (r.kind) {
    case "minmax":
      return new MinMaxObserver(r.movingAverage ?? 0);
    case "histogram":
      return new Histogram({ symmetric: r.symmetric ?? false, bins: r.bins ?? 2048, channelWeights: r.channelWeights });
    case "channel":
      return new ChannelObserver(r.axis ?? 1);
  }
}

function requestKey(r: StatRequest): string {
  switch (r.kind) {
    case "minmax":
      return JSON.stringify([r.kind, r.value, r.movingAverage ?? 0]);
    case "histogram":
      return JSON.stringify([r.kind, r.value, r.symmetric ?? false, r.bins ?? 2048, r.channelWeights ?? null]);
    case "channel":
      return JSON.stringify([r.kind, r.value, r.axis ?? 1]);
  }
}

function checkRequest(model: Model, r: StatRequest, feedNames: readonly string[]): void {
  const g = model.graph;
  if (!feedNames.includes(r.value) && !g.producer(r.value)) {
    throw new RangeError(`Cannot calibrate "${r.value}": it is neither a graph input nor computed by a node of the main graph`);
  }
  if (r.kind === "channel" && r.channels !== undefined && !(Number.isInteger(r.channels) && r.channels > 0)) {
    throw new RangeError(`Invalid channel count ${r.channels} for "${r.value}": expected a positive integer`);
  }
  const dtype = g.info(r.value)?.dtype;
  if (dtype !== undefined && dtype !== "float32") {
    throw new RangeError(`Cannot calibrate "${r.value}": it is ${dtype}, only float32 values have ranges`);
  }
}

function feedsOf(sample: Sample, names: readonly string[], id: string): Record<string, TensorValue<"float32">> {
  const feeds: Record<string, TensorValue<"float32">> = {};
  for (const n of names) {
    const t = sample[n];
    if (!t) throw new InputError(`Calibration sample "${id}" has no input "${n}"`);
    feeds[n] = t;
  }
  return feeds;
}

/**
 * A graph input's reading, from its feed: exact extremes (`reduced`'s, from
 * the graph, else a scan of the feed), and the whole tensor or (`size` > 0) a
 * strided subsample laid out as the graph lays out computed values'.
 */
function inputReading(value: string, t: TensorValue<"float32">, size: number, offset: number, reduced?: Reading): Reading {
  const r = reduced ? { ...reduced, data: t.data, dims: t.dims, whole: true, weight: 1 } : wholeReading(value, t);
  if (size === 0 || r.nonFinite > 0) return r;
  const n = t.data.length, { start, step } = subsamplePlan(n, size, offset), { length } = subsampleTake(n, start, step);
  if (length === n) return r;
  const sub = new Float32Array(length);
  for (let k = 0, at = start; k < length; k++, at += step) sub[k] = t.data[at];
  return { ...r, data: sub, dims: undefined, shape: t.dims, whole: false, weight: (n - 2) / length, start, step };
}
