/**
 * The calibration session: the augmented model, opened on first use, whose
 * outputs are decoded into one {@linkcode Reading} per observed value; and a
 * second session, opened only if some value ever needs re-reading whole
 * (non-finite extremes). Subsample strides are planned from each value's
 * element count in the previous run (or its static shape); the first run of
 * a model with subsampled values of unknown size is preceded by a probe run
 * that only learns the counts.
 * Private to src/calibrate/.
 */
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, Session, SessionOptions, TensorValue } from "../runtime/types.ts";
import { augment, type Augmented, type AugmentRequest, subsamplePlan, subsampleTake, viewShape } from "./_augment.ts";
import { openModel } from "../runtime/open_model.ts";
import { type ChannelSums, type Reading, wholeReading } from "./_reading.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/**
 * Input elements (all feeds of the first sample) from which values of known
 * channel count are reduced per channel. Measured on 2 cores, per sample:
 * the detector (3×320×320 = 307 200) saved 2–4 ms over a plain pass of
 * ~13, the recognizer (3×48×320 = 46 080) about 0.5 of ~15, the classifier
 * (3×48×192 = 27 648) lost 0.2–0.4 of ~1.1.
 */
const PER_CHANNEL_INPUT = 1 << 15;

/** What one run gives. */
export interface RunResult {
  /** Readings of every value of the request whose extremes were finite. */
  readings: Map<string, Reading>;
  /** Reduced values whose extremes were not finite: re-read them whole. */
  nonFinite: string[];
}

/** The sessions of one collection pass. */
export class Sessions {
  /** Milliseconds spent building the augmented models and opening their sessions. */
  openMs = 0;
  #main?: Session;
  #aug?: Omit<Augmented, "model">;
  #full?: Session;
  // Element counts of the sampled values in the last run, which plan the next run's strides.
  #sizes?: number[];
  readonly #model: Model;
  #req: AugmentRequest;
  readonly #fallback: readonly string[];
  readonly #options: Partial<SessionOptions>;
  readonly #runtime?: Runtime;

  /** `fallback`: every value that may need re-reading whole. */
  constructor(model: Model, req: AugmentRequest, fallback: readonly string[], options: Partial<SessionOptions>, runtime?: Runtime) {
    this.#model = model;
    this.#req = req;
    // Static shapes (e.g. after makeShapesStatic) give the sizes without a probe run; a
    // wrong declaration only makes the first run's strides stale.
    const sizes = req.sampled.map((v) => model.graph.info(v)?.shape?.reduce<number>((n, d) => (typeof d === "number" ? n * d : NaN), 1));
    if (sizes.length > 0 && sizes.every((n) => n !== undefined && Number.isInteger(n) && n > 0)) this.#sizes = sizes as number[];
    this.#fallback = fallback;
    this.#options = options;
    this.#runtime = runtime;
  }

  /** Runs sample `id`; `offset` moves the subsample positions (any non-negative integer). */
  async run(feeds: Record<string, TensorValue>, offset: number, id: string): Promise<RunResult> {
    if (!this.#main) {
      // Per-channel reductions run on all threads but cost more per node: they
      // pay off on large activations only, which small inputs do not make.
      let n = 0;
      for (const t of Object.values(feeds)) n += t.data.length;
      if (n < PER_CHANNEL_INPUT) this.#req = { ...this.#req, channels: new Map() };
      const t = performance.now();
      const { model, ...names } = augment(this.#model, this.#req);
      this.#main = await this.#open(model);
      this.openMs += performance.now() - t;
      this.#aug = names;
    }
    const aug = this.#aug!, req = this.#req;
    const fetch = [...req.whole, aug.stats, aug.sizes].filter((n) => n);
    // The probe takes one element of each value (a stride beyond any size) to learn the sizes.
    if (aug.starts && !this.#sizes) this.#sizes = sizesOf(await this.#runPlanned(feeds, fetch, id, () => ({ start: 0, step: 2 ** 52 })), aug, req).counts;
    const sizes = this.#sizes;
    const plans = sizes ? sizes.map((n) => subsamplePlan(n, req.size, offset)) : [];
    const out = await this.#runPlanned(feeds, fetch, id, (k) => plans[k]);
    const readings = new Map<string, Reading>();
    for (const v of req.whole) readings.set(v, wholeReading(v, out[v]));
    const nonFinite: string[] = [];
    if (req.extremes.length === 0) return { readings, nonFinite };
    for (const [v, r] of this.#decode(out, plans)) {
      if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) nonFinite.push(v);
      else readings.set(v, r);
    }
    return { readings, nonFinite };
  }

  /** One run of the main session, with the subsample plan of the k-th sampled value given by `plan`. */
  async #runPlanned(
    feeds: Record<string, TensorValue>,
    fetch: readonly string[],
    id: string,
    plan: (k: number) => { start: number; step: number },
  ): Promise<Record<string, TensorValue>> {
    const aug = this.#aug!, k = this.#req.sampled.length;
    if (!aug.starts) return runOn(this.#main!, feeds, fetch, id, feeds);
    const starts = new BigInt64Array(k), steps = new BigInt64Array(k);
    for (let i = 0; i < k; i++) {
      const p = plan(i);
      starts[i] = BigInt(p.start);
      steps[i] = BigInt(p.step);
    }
    const all: Record<string, TensorValue> = {
      ...feeds,
      [aug.starts]: { dtype: "int64", dims: [k], data: starts },
      [aug.steps]: { dtype: "int64", dims: [k], data: steps },
    };
    return runOn(this.#main!, all, fetch, id, feeds);
  }

  /** Runs sample `id` again on a model that outputs `values` whole. */
  async runWhole(feeds: Record<string, TensorValue>, values: readonly string[], id: string): Promise<Map<string, Reading>> {
    const req = { whole: this.#fallback, extremes: [], sampled: [], channels: new Map(), channelStats: new Map(), runs: new Map(), size: 0 };
    if (!this.#full) {
      const t = performance.now();
      this.#full = await this.#open(augment(this.#model, req).model);
      this.openMs += performance.now() - t;
    }
    const out = await runOn(this.#full, feeds, values, id, feeds);
    return new Map(values.map((v) => [v, wholeReading(v, out[v])]));
  }

  async release(): Promise<void> {
    await this.#main?.release();
    await this.#full?.release();
  }

  /**
   * Each value's reading from the `stats` output (laid out as
   * {@linkcode Augmented.stats} says): its extremes (of its per-channel ones,
   * NaN when any was, or any channel sum was not finite, so that it is
   * re-read whole), its channel sums, and its subsample, split by the
   * element counts the graph reported and the strides it was taken with
   * (planned from the previous run's counts: a value whose size changed
   * since still gives an even stride, with its own weight). Keeps the counts
   * for the next plans.
   */
  #decode(out: Record<string, TensorValue>, plans: readonly { start: number; step: number }[]): Map<string, Reading> {
    const aug = this.#aug!, req = this.#req, readings = new Map<string, Reading>();
    const stats = out[aug.stats];
    if (stats?.dtype !== "float32") throw new Error(`internal: ONNX Runtime returned no statistics`);
    const d = stats.data, { counts: sizes, shapes } = aug.sizes ? sizesOf(out, aug, req) : { counts: [], shapes: [] };
    const sampled = new Set(req.sampled);
    let at = 0, s = 0, dims = 0;
    for (const v of req.extremes) {
      const view = req.channelStats.get(v);
      const c = view?.channels ?? req.channels.get(v) ?? 1;
      let min = Infinity, max = -Infinity, nan = false;
      for (let j = at; j < at + c; j++) {
        const lo = d[j], hi = d[j + c];
        if (lo < min) min = lo;
        if (hi > max) max = hi;
        if (lo !== lo || hi !== hi) nan = true;
      }
      let channel: ChannelSums | undefined;
      if (view) {
        const rank = viewShape(view).length, sum = d.subarray(at + 2 * c, at + 3 * c);
        const sumSq = view.squares ? d.subarray(at + 3 * c, at + 4 * c) : undefined;
        let n = 1;
        for (let j = dims; j < dims + rank; j++) n *= shapes[j];
        dims += rank;
        for (let j = 0; j < c; j++) if (sum[j] - sum[j] !== 0 || (sumSq && sumSq[j] - sumSq[j] !== 0)) nan = true;
        // The view is [d0 … C, rest] (axis ≥ 0, rest = the dims after the channel) or [rest, C].
        const run = view.axis < 0 ? 1 : shapes[dims - 1];
        channel = { min: d.subarray(at, at + c), max: d.subarray(at + c, at + 2 * c), sum, sumSq, perChannel: n / c, run };
      }
      const batch = !view && req.runs.has(v) ? shapes[dims++] : undefined;
      if (nan) min = max = NaN;
      at += (view ? (view.squares ? 4 : 3) : 2) * c;
      if (!sampled.has(v)) {
        readings.set(v, { min, max, nonFinite: 0, whole: false, weight: 1, channel });
        continue;
      }
      const n = sizes[s], { start, step } = plans[s++];
      const { length, fetched } = subsampleTake(n, start, step);
      const data = d.subarray(at, at + length);
      at += fetched;
      // A subsample stands for the n − 2 values other than the extremes, which count once each.
      const whole = length === n;
      readings.set(
        v,
        length === 0
          ? { min, max, nonFinite: 0, whole: false, weight: 1, channel }
          : { min, max, nonFinite: 0, data, whole, weight: whole ? 1 : (n - 2) / length, start, step, channel, ...(batch && { run: n / (batch * req.runs.get(v)!) }) },
      );
    }
    if (at !== d.length) throw new Error(`internal: statistics lengths do not add up (${at} ≠ ${d.length})`);
    if (req.sampled.length > 0) this.#sizes = sizes;
    return readings;
  }

  async #open(model: Model): Promise<Session> {
    const rt = this.#runtime ?? await getRuntime(DEFAULT_RUNTIME);
    return openModel(rt, model, { graphOptimizationLevel: "all", modelName: "the calibration model", ...this.#options });
  }
}

/** The element counts of the sampled values and the dims of the channel views, as the graph reported them. */
function sizesOf(out: Record<string, TensorValue>, aug: Omit<Augmented, "model">, req: AugmentRequest): { counts: number[]; shapes: number[] } {
  const sizes = out[aug.sizes], k = req.sampled.length;
  let n = k;
  for (const view of req.channelStats.values()) n += viewShape(view).length;
  n += req.runs.size;
  if (sizes?.dtype !== "int64" || sizes.data.length !== n) throw new Error(`internal: ONNX Runtime returned no subsample sizes`);
  const all = Array.from(sizes.data, Number);
  return { counts: all.slice(0, k), shapes: all.slice(k) };
}

async function runOn(
  session: Session,
  feeds: Record<string, TensorValue>,
  fetch: readonly string[],
  id: string,
  shown: Record<string, TensorValue>,
): Promise<Record<string, TensorValue>> {
  try {
    return await session.run(feeds, fetch);
  } catch (err) {
    const shapes = Object.entries(shown).map(([k, t]) => `"${k}" [${t.dims.join(",")}]`).join(", ");
    const why = err instanceof Error ? err.message : String(err);
    throw new InputError(`Cannot calibrate on sample "${id}" (${shapes}): ${why}`, { cause: err });
  }
}
