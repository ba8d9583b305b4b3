/**
 * The statistics pass: one ONNX Runtime session, samples streamed one at a
 * time, observers that keep only their statistics.
 *
 * @module
 */
import type { Dataset, Sample } from "../data/types.ts";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, Session, TensorValue } from "../runtime/types.ts";
import { augment } from "./_augment.ts";
import { resolveCollectOptions } from "./_options.ts";
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

type AnyObserver = MinMaxObserver | Histogram | ChannelObserver;

/**
 * Streams the first `opts.samples` samples of `data` through `model` and
 * returns one observer per request, in order (equal requests share one).
 * The caller's model is not changed: the session runs a copy whose outputs
 * include the observed values. Graph inputs are observed from the feeds,
 * values that only need min/max are reduced to two scalars inside ONNX
 * Runtime, the rest are fetched and observed in place. Memory does not grow
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
  const byValue = new Map<string, AnyObserver[]>();
  const result = requests.map((r) => {
    checkRequest(model, r, feedNames);
    const key = requestKey(r);
    let obs = byKey.get(key);
    if (!obs) {
      obs = createObserver(r);
      byKey.set(key, obs);
      byValue.set(r.value, [...(byValue.get(r.value) ?? []), obs]);
    }
    return obs;
  });

  const inputs = [...byValue.keys()].filter((v) => feedNames.includes(v));
  const computed = [...byValue.keys()].filter((v) => !feedNames.includes(v));
  const reduced = computed.filter((v) => byValue.get(v)!.every((x) => x instanceof MinMaxObserver));
  const fetched = computed.filter((v) => !reduced.includes(v));
  const session = new Sessions(model, fetched, reduced, o.session, runtime);
  try {
    for (let i = 0; i < o.samples; i++) {
      const sample = await data.get(i);
      const feeds = feedsOf(sample, feedNames, data.id(i));
      for (const v of inputs) observeAll(byValue.get(v)!, v, feeds[v]);
      if (computed.length > 0) {
        const out = await session.run(feeds, data.id(i));
        for (const v of fetched) observeAll(byValue.get(v)!, v, out.values[v]);
        for (const [v, [min, max]] of out.extremes) {
          for (const obs of byValue.get(v)!) (obs as MinMaxObserver).observeExtremes(min, max);
        }
        // An infinity (or a NaN, if ORT's vectorized reduction met one)
        // hides the finite extremes: observe those few values in full.
        if (out.nonFinite.length > 0) {
          const full = await session.runFull(feeds, out.nonFinite, data.id(i));
          for (const v of out.nonFinite) observeAll(byValue.get(v)!, v, full[v]);
        }
      }
      o.onProgress?.(i + 1, o.samples);
    }
  } finally {
    await session.release();
  }
  return result as Observers<R>;
}

function createObserver(r: StatRequest): AnyObserver {
  switch (r.kind) {
    case "minmax":
      return new MinMaxObserver(r.movingAverage ?? 0);
    case "histogram":
      return new Histogram({ symmetric: r.symmetric ?? false, bins: r.bins ?? 2048 });
    case "channel":
      return new ChannelObserver(r.axis ?? 1);
  }
}

function requestKey(r: StatRequest): string {
  switch (r.kind) {
    case "minmax":
      return JSON.stringify([r.kind, r.value, r.movingAverage ?? 0]);
    case "histogram":
      return JSON.stringify([r.kind, r.value, r.symmetric ?? false, r.bins ?? 2048]);
    case "channel":
      return JSON.stringify([r.kind, r.value, r.axis ?? 1]);
  }
}

function checkRequest(model: Model, r: StatRequest, feedNames: readonly string[]): void {
  const g = model.graph;
  if (!feedNames.includes(r.value) && !g.producer(r.value)) {
    throw new RangeError(`Cannot calibrate "${r.value}": it is neither a graph input nor computed by a node of the main graph`);
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

function observeAll(observers: readonly AnyObserver[], value: string, t: TensorValue | undefined): void {
  if (!t) throw new Error(`internal: ONNX Runtime returned no "${value}"`);
  if (t.dtype !== "float32") throw new RangeError(`Cannot calibrate "${value}": it is ${t.dtype}, only float32 values have ranges`);
  for (const obs of observers) {
    if (obs instanceof ChannelObserver) obs.observe(t.data, t.dims);
    else obs.observe(t.data);
  }
}

/** What one run gives: fetched tensors, finite extremes, and values whose extremes were not finite. */
interface RunResult {
  values: Record<string, TensorValue>;
  extremes: Map<string, readonly [number, number]>;
  nonFinite: string[];
}

/**
 * The calibration session, opened on first use, and a second one opened only
 * if some reduced value ever has a non-finite extreme: it also outputs the
 * reduced values themselves, so they can be observed in full.
 */
class Sessions {
  #main?: Session;
  #full?: Session;
  #extremes = "";
  readonly #model: Model;
  readonly #fetched: readonly string[];
  readonly #reduced: readonly string[];
  readonly #options: CollectOptions["session"];
  readonly #runtime?: Runtime;

  constructor(model: Model, fetched: readonly string[], reduced: readonly string[], options: CollectOptions["session"], runtime?: Runtime) {
    this.#model = model;
    this.#fetched = fetched;
    this.#reduced = reduced;
    this.#options = options;
    this.#runtime = runtime;
  }

  async run(feeds: Record<string, TensorValue>, id: string): Promise<RunResult> {
    if (!this.#main) {
      const aug = augment(this.#model, this.#fetched, this.#reduced);
      this.#extremes = aug.extremes;
      this.#main = await this.#open(aug.bytes);
    }
    const fetch = this.#extremes ? [...this.#fetched, this.#extremes] : this.#fetched;
    const out = await runOn(this.#main, feeds, fetch, id);
    const extremes = new Map<string, readonly [number, number]>();
    const nonFinite: string[] = [];
    if (this.#extremes) {
      const t = out[this.#extremes];
      if (t?.dtype !== "float32" || t.data.length !== 2 * this.#reduced.length) {
        throw new Error(`internal: ONNX Runtime returned no extremes`);
      }
      this.#reduced.forEach((v, k) => {
        const min = t.data[2 * k], max = t.data[2 * k + 1];
        if (Number.isFinite(min) && Number.isFinite(max)) extremes.set(v, [min, max]);
        else nonFinite.push(v);
      });
    }
    return { values: out, extremes, nonFinite };
  }

  async runFull(feeds: Record<string, TensorValue>, values: readonly string[], id: string): Promise<Record<string, TensorValue>> {
    this.#full ??= await this.#open(augment(this.#model, this.#reduced, []).bytes);
    return runOn(this.#full, feeds, values, id);
  }

  async release(): Promise<void> {
    await this.#main?.release();
    await this.#full?.release();
  }

  async #open(bytes: Uint8Array): Promise<Session> {
    const rt = this.#runtime ?? await getRuntime("node");
    return rt.createSession(bytes, { graphOptimizationLevel: "all", ...this.#options });
  }
}

async function runOn(session: Session, feeds: Record<string, TensorValue>, fetch: readonly string[], id: string) {
  try {
    return await session.run(feeds, fetch);
  } catch (err) {
    const shapes = Object.entries(feeds).map(([k, t]) => `"${k}" [${t.dims.join(",")}]`).join(", ");
    const why = err instanceof Error ? err.message : String(err);
    throw new InputError(`Cannot calibrate on sample "${id}" (${shapes}): ${why}`, { cause: err });
  }
}
