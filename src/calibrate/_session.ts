/**
 * The calibration session: the augmented model, opened on first use, whose
 * outputs are decoded into one {@linkcode Reading} per observed value; and a
 * second session, opened only if some value ever needs re-reading whole
 * (non-finite extremes). Private to src/calibrate/.
 */
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, Session, SessionOptions, TensorValue } from "../runtime/types.ts";
import { augment, type Augmented, type AugmentRequest, subsampleLayout } from "./_augment.ts";
import { type Reading, wholeReading } from "./_reading.ts";

/** What one run gives. */
export interface RunResult {
  /** Readings of every value of the request whose extremes were finite. */
  readings: Map<string, Reading>;
  /** Reduced values whose extremes were not finite: re-read them whole. */
  nonFinite: string[];
}

/** The sessions of one collection pass. */
export class Sessions {
  #main?: Session;
  #aug?: Augmented;
  #full?: Session;
  readonly #model: Model;
  readonly #req: AugmentRequest;
  readonly #fallback: readonly string[];
  readonly #options: Partial<SessionOptions>;
  readonly #runtime?: Runtime;

  /** `fallback`: every value that may need re-reading whole. */
  constructor(model: Model, req: AugmentRequest, fallback: readonly string[], options: Partial<SessionOptions>, runtime?: Runtime) {
    this.#model = model;
    this.#req = req;
    this.#fallback = fallback;
    this.#options = options;
    this.#runtime = runtime;
  }

  /** Runs sample `id`; `offset` moves the subsample positions (any non-negative integer). */
  async run(feeds: Record<string, TensorValue>, offset: number, id: string): Promise<RunResult> {
    if (!this.#main) {
      this.#aug = augment(this.#model, this.#req);
      this.#main = await this.#open(this.#aug.bytes);
    }
    const aug = this.#aug!, req = this.#req;
    const fetch = [...req.whole, aug.extremes, aug.sizes, aug.subsample].filter((n) => n);
    const all: Record<string, TensorValue> = aug.offset
      ? { ...feeds, [aug.offset]: { dtype: "int64", dims: [1], data: new BigInt64Array([BigInt(offset)]) } }
      : feeds;
    const out = await runOn(this.#main, all, fetch, id, feeds);
    const readings = new Map<string, Reading>();
    for (const v of req.whole) readings.set(v, wholeReading(v, out[v]));
    const nonFinite: string[] = [];
    if (!aug.extremes) return { readings, nonFinite };
    const ext = out[aug.extremes];
    if (ext?.dtype !== "float32" || ext.data.length !== 2 * req.extremes.length) throw new Error(`internal: ONNX Runtime returned no extremes`);
    const samples = this.#subsamples(out, offset);
    req.extremes.forEach((v, k) => {
      const min = ext.data[2 * k], max = ext.data[2 * k + 1];
      if (!Number.isFinite(min) || !Number.isFinite(max)) return void nonFinite.push(v);
      const s = samples.get(v);
      if (!s) return void readings.set(v, { min, max, nonFinite: 0, whole: false, weight: 1 });
      // A subsample stands for the n − 2 values other than the extremes, which count once each.
      const whole = s.data.length === s.n;
      readings.set(v, { min, max, nonFinite: 0, data: s.data, whole, weight: whole ? 1 : (s.n - 2) / s.data.length });
    });
    return { readings, nonFinite };
  }

  /** Runs sample `id` again on a model that outputs `values` whole. */
  async runWhole(feeds: Record<string, TensorValue>, values: readonly string[], id: string): Promise<Map<string, Reading>> {
    this.#full ??= await this.#open(augment(this.#model, { whole: this.#fallback, extremes: [], sampled: [], size: 0 }).bytes);
    const out = await runOn(this.#full, feeds, values, id, feeds);
    return new Map(values.map((v) => [v, wholeReading(v, out[v])]));
  }

  async release(): Promise<void> {
    await this.#main?.release();
    await this.#full?.release();
  }

  /** Splits the concatenated subsamples by the element counts the graph reported. */
  #subsamples(out: Record<string, TensorValue>, offset: number): Map<string, { data: Float32Array; n: number }> {
    const aug = this.#aug!, req = this.#req, parts = new Map<string, { data: Float32Array; n: number }>();
    if (!aug.subsample) return parts;
    const sizes = out[aug.sizes], sub = out[aug.subsample];
    if (sizes?.dtype !== "int64" || sub?.dtype !== "float32" || sizes.data.length !== req.sampled.length) {
      throw new Error(`internal: ONNX Runtime returned no subsamples`);
    }
    let at = 0;
    req.sampled.forEach((v, k) => {
      const n = Number(sizes.data[k]);
      const { length } = subsampleLayout(n, req.size, offset);
      parts.set(v, { data: sub.data.subarray(at, at + length), n });
      at += length;
    });
    if (at !== sub.data.length) throw new Error(`internal: subsample lengths do not add up (${at} ≠ ${sub.data.length})`);
    return parts;
  }

  async #open(bytes: Uint8Array): Promise<Session> {
    const rt = this.#runtime ?? await getRuntime("node");
    return rt.createSession(bytes, { graphOptimizationLevel: "all", ...this.#options });
  }
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
