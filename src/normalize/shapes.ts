/**
 * Records the dtype and shape of every intermediate value by asking ONNX
 * Runtime: each value becomes a graph output of a copy of the model, which
 * runs on generated inputs. Passes that need shapes (quantization, BN folding
 * after MatMul, static-shape validation) read them from `graph.valueInfo`.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { InputError } from "../errors.ts";
import { type Dim, Graph, type ValueInfo } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { encodeModel } from "../onnx/encode.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, RuntimeName, Session, TensorValue } from "../runtime/types.ts";
import { constantValue } from "./constants.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** What the input generator is asked for: one input of one run. */
export interface InputRequest {
  input: string;
  dtype: DType;
  dims: readonly number[];
  /** 0 for the first run, 1 for the second. */
  run: number;
  seed: number;
}

/** Options of {@linkcode recordShapes}. */
export interface RecordShapesOptions {
  /** Backend to run on, or its name. @default "node" */
  runtime: Runtime | RuntimeName;
  /**
   * Concrete shapes per input name: one shape (used by both runs, so its
   * dynamic dims come out as numbers) or two (one per run). Inputs not named
   * here get shapes from `dims` and the defaults. @default {}
   */
  inputShapes: Readonly<Record<string, readonly (readonly number[])[]>>;
  /**
   * Sizes of named dynamic dims (`dim_param`) in the two runs, e.g.
   * `{ H: [48, 48] }` to keep H fixed. Unnamed ones default to [1, 2] on
   * axis 0 (batch) and to 64 then 64 + 32·(k+1) elsewhere, k counting the
   * model's non-batch dynamic dims, so strides up to 32 still fit and every
   * dim gets its own pair of sizes. @default {}
   */
  dims: Readonly<Record<string, readonly [number, number]>>;
  /** Fills each input; the default is seeded uniform [-1, 1) for floats, zeros otherwise. */
  generate: (req: InputRequest) => TensorValue;
  /** Seed handed to `generate`. @default 0 */
  seed: number;
  /** How error messages name the model. @default "" (just "model") */
  modelName: string;
  /**
   * With one input shape, run the model once after ONNX Runtime's shape
   * inference, which does not check everything a run does (a Conv fed the
   * wrong channel count). A caller that runs the model on these very shapes
   * next (calibration) may skip it: a session and a run (0.15 s on the
   * recognizer, 0.3 s on the detector). @default true
   */
  check: boolean;
}

/** What {@linkcode recordShapes} did. */
export interface ShapeReport {
  /** Values whose dtype and shape were written (value infos and untyped graph outputs). */
  values: number;
  /** Dims written as a symbolic name (the two runs disagreed on their size). */
  symbolicDims: number;
  /** Model runs: 1 when no input shape varies between the runs, else 2. */
  runs: number;
  /** Wall time, including session creation. */
  ms: number;
}

const DEFAULTS: RecordShapesOptions = {
  runtime: DEFAULT_RUNTIME,
  inputShapes: {},
  dims: {},
  generate: seededInput,
  seed: 0,
  modelName: "",
  check: true,
};

const BATCH: readonly [number, number] = [1, 2];
const SIZE = 64;
const STEP = 32;

/**
 * Writes dtype and shape of every node output of `model.graph` into
 * `graph.valueInfo` (and into graph outputs that lack them). The model runs
 * twice with different sizes for its dynamic dims; a dim both runs agree on is
 * recorded as a number, one that follows an input dim takes that input's
 * `dim_param`, any other gets a name `d_<value>_<axis>` shared by every dim
 * with the same pair of sizes. The model is changed only after both runs
 * succeed; a failed run throws an {@linkcode InputError} naming the inputs.
 *
 * @example
 * ```ts
 * const model = readModel("ch_ppocr_mobile_v2.0_cls_infer.onnx");
 * await recordShapes(model, { dims: { "p2o.DynamicDimension.1": [48, 48] } });
 * model.graph.valueInfo.get("p2o.Add.87")?.shape; // ["p2o.DynamicDimension.0", 2] (the Softmax input)
 * ```
 */
export async function recordShapes(model: Model, opts: Partial<RecordShapesOptions> = {}): Promise<ShapeReport> {
  const start = performance.now();
  const o: RecordShapesOptions = { ...DEFAULTS, ...opts };
  const g = model.graph;
  const { feeds, symbols } = samplePlan(g, o);
  const runs = JSON.stringify(feeds[0].map((f) => f.dims)) === JSON.stringify(feeds[1].map((f) => f.dims)) ? 1 : 2;

  const known = new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  const outputs = new Set(g.outputs.map((v) => v.name));
  const found = new Map<string, ValueInfo>();
  const fetch: string[] = [];
  for (const n of g.nodes) {
    for (const out of n.outputs) {
      if (!out || known.has(out) || found.has(out)) continue;
      const c = n.opType === "Constant" && !outputs.has(out) ? constantValue(n, out) : undefined;
      if (c) found.set(out, { name: out, dtype: c.dtype, shape: [...c.dims] });
      else fetch.push(out);
    }
  }

  const seen = await runAugmented(model, fetch, feeds.slice(0, runs), o);
  for (const name of fetch) {
    const [a, b = a] = seen.map((r) => r.get(name)!);
    let shape: Dim[] | undefined;
    if (a.dims.length === b.dims.length) {
      shape = a.dims.map((d, axis) => {
        if (d === b.dims[axis]) return d;
        const key = `${d},${b.dims[axis]}`;
        if (!symbols.has(key)) symbols.set(key, `d_${name}_${axis}`);
        return symbols.get(key)!;
      });
    }
    found.set(name, { name, dtype: a.dtype, shape });
  }

  let values = 0;
  let symbolicDims = 0;
  const written = (info: ValueInfo) => {
    values++;
    symbolicDims += info.shape?.filter((d) => typeof d === "string").length ?? 0;
  };
  for (const [name, info] of found) {
    if (outputs.has(name)) continue;
    g.valueInfo.set(name, { ...g.valueInfo.get(name), ...info });
    written(info);
  }
  for (const out of g.outputs) {
    const info = found.get(out.name);
    if (!info || (out.dtype && out.shape)) continue;
    out.dtype ??= info.dtype;
    out.shape ??= info.shape;
    written(out);
  }
  return { values, symbolicDims, runs, ms: performance.now() - start };
}

interface Seen {
  dtype: DType;
  dims: number[];
}

/**
 * Dtype and dims of every value of `fetch`, per feed. With one input shape,
 * ONNX Runtime's own shape inference first: a session of a copy that outputs
 * every value, optimized at "basic" so the shape arithmetic is folded, gives
 * most or all of them in its output metadata without a run (the recognizer:
 * 0.1 s instead of 1.3). The rest come from running a copy that outputs a
 * Shape of each (fetching the values themselves costs far more than the run),
 * or the value itself where ONNX Runtime reports no element type.
 */
async function runAugmented(
  model: Model,
  fetch: readonly string[],
  feeds: readonly TensorValue[][],
  o: RecordShapesOptions,
): Promise<Map<string, Seen>[]> {
  const label = o.modelName ? `model "${o.modelName}"` : "model";
  const runtime = typeof o.runtime === "string" ? await getRuntime(o.runtime) : o.runtime;
  const open = async (bytes: Uint8Array, level: "basic" | "disabled") => {
    try {
      return await runtime.createSession(bytes, { graphOptimizationLevel: level, modelName: o.modelName });
    } catch (err) {
      throw new InputError(`Cannot record shapes of ${label}: ${message(err)}`, { cause: err });
    }
  };
  const metadata = (session: Session) => {
    const m = new Map<string, { dtype: DType | null; dims?: number[] }>();
    session.outputMetadata.forEach((v, i) => {
      // Rank 0 is what the metadata also says for a shape it does not know: only rank ≥ 1 is taken.
      const dims = v.shape && v.shape.length > 0 && v.shape.every((d): d is number => typeof d === "number") ? [...v.shape] : undefined;
      m.set(session.outputNames[i], { dtype: v.dtype, dims });
    });
    return m;
  };

  const g = model.graph;
  const inputs = g.inputs.filter((v) => !g.initializers.has(v.name));
  const runOn = async (session: Session, feed: readonly TensorValue[], fetches: readonly string[]) => {
    try {
      return await session.run(Object.fromEntries(inputs.map((v, i) => [v.name, feed[i]])), fetches);
    } catch (err) {
      const shapes = inputs.map((v, i) => `"${v.name}" of shape [${feed[i].dims.join(",")}]`).join(", ");
      throw new InputError(`Cannot run ${label} on input ${shapes}: ${message(err)}`, { cause: err });
    }
  };

  const known = new Map<string, Seen>();
  if (feeds.length === 1) {
    const session = await open(augmented(model, fetch, new Map(), feeds[0]), "basic");
    try {
      for (const [v, m] of metadata(session)) if (m.dtype && m.dims) known.set(v, { dtype: m.dtype, dims: m.dims });
    } finally {
      await session.release();
    }
    if (fetch.every((v) => known.has(v))) {
      if (!o.check) return [known];
      // Inference does not check everything a run does (a Conv fed the wrong
      // channel count): one run of the model as it is (a run of the copy that
      // outputs every value costs 20× more, its buffers no longer reused).
      const plain = await open(augmented(model, [], new Map(), feeds[0]), "basic");
      try {
        const out = await runOn(plain, feeds[0], g.outputs.map((v) => v.name));
        const seen = new Map(fetch.map((v) => [v, known.get(v)!]));
        for (const [v, t] of Object.entries(out)) if (seen.has(v)) seen.set(v, { dtype: t.dtype, dims: [...t.dims] });
        return [seen];
      } finally {
        await plain.release();
      }
    }
  }

  const rest = fetch.filter((v) => !known.has(v));
  const names = g.nameScope();
  const shapeOf = new Map(rest.map((v) => [v, names.unique(`${v}_edgeq_shape`)]));
  const session = await open(augmented(model, rest, shapeOf), feeds.length === 1 ? "basic" : "disabled");
  const meta = metadata(session);
  const wanted = rest.map((v) => (meta.get(v)?.dtype ? shapeOf.get(v)! : v));
  try {
    const seen: Map<string, Seen>[] = [];
    for (const feed of feeds) {
      const result = await runOn(session, feed, wanted);
      const run = new Map(known);
      for (const v of rest) {
        const whole = result[v];
        run.set(v, whole
          ? { dtype: whole.dtype, dims: [...whole.dims] }
          : { dtype: meta.get(v)!.dtype!, dims: Array.from(result[shapeOf.get(v)!].data as BigInt64Array, Number) });
      }
      seen.push(run);
    }
    return seen;
  } finally {
    await session.release();
  }
}

/**
 * A copy of `model` that also outputs `values` and, for each key of
 * `shapeOf`, a Shape of it under the mapped name; with `feed`, its inputs
 * declared with the feed's dims (one per non-initializer input, in order).
 */
function augmented(model: Model, values: readonly string[], shapeOf: ReadonlyMap<string, string>, feed?: readonly TensorValue[]): Uint8Array {
  const g = model.graph;
  const copy = new Graph(g.name);
  copy.carry = g.carry;
  copy.nodes = [...g.nodes, ...[...shapeOf].map(([v, s]) => new Node({ opType: "Shape", name: s, inputs: [v], outputs: [s] }))];
  copy.initializers = g.initializers;
  const fed = g.inputs.filter((v) => !g.initializers.has(v.name));
  copy.inputs = feed ? g.inputs.map((v) => (fed.includes(v) ? { ...v, shape: [...feed[fed.indexOf(v)].dims] } : v)) : g.inputs;
  // Untyped outputs are fine for ONNX Runtime: it infers their types. Stale
  // value infos, and the graph outputs' declared types and shapes, are left
  // out so they can neither make the run fail nor stand in for what ORT infers.
  const declared = new Set(g.outputs.map((v) => v.name));
  copy.outputs = [
    ...g.outputs.map((v) => ({ name: v.name })),
    ...values.filter((n) => !declared.has(n)).map((name) => ({ name })),
    ...[...shapeOf.values()].map((name) => ({ name })),
  ];
  return encodeModel(
    new Model(copy, {
      irVersion: model.irVersion,
      opsets: model.opsets,
      producerName: model.producerName,
      producerVersion: model.producerVersion,
      domain: model.domain,
      modelVersion: model.modelVersion,
      docString: model.docString,
      metadata: model.metadata,
      carry: model.carry,
    }),
  ).bytes;
}

/** ONNX Runtime's own words, without the runtime layer's "Cannot run model …" prefix. */
function message(err: unknown): string {
  const e = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim().replace(/\.$/, "");
}

/**
 * Feeds for the two runs (one per non-initializer input, in input order), and
 * the input `dim_param` each pair of sizes stands for.
 */
function samplePlan(g: Graph, o: RecordShapesOptions): { feeds: TensorValue[][]; symbols: Map<string, string> } {
  const inputs = g.inputs.filter((v) => !g.initializers.has(v.name));
  const sizes = new Map<string, readonly [number, number]>();
  let k = 0;
  const sizeOf = (key: string, axis: number): readonly [number, number] => {
    let s = sizes.get(key) ?? o.dims[key];
    if (!s) s = axis === 0 ? BATCH : [SIZE, SIZE + STEP * ++k];
    sizes.set(key, s);
    return s;
  };
  const symbols = new Map<string, string>();
  const shapes = inputs.map((v): number[][] => {
    if (!v.dtype) throw new InputError(`Cannot record shapes: input "${v.name}" has no element type`);
    const given = o.inputShapes[v.name];
    if (given) return checkGiven(v, given);
    if (!v.shape) {
      throw new InputError(`Cannot record shapes: input "${v.name}" has no declared shape; pass its shape in inputShapes`);
    }
    const pairs = v.shape.map((d, axis) =>
      typeof d === "number" && d >= 0 ? [d, d] as const : sizeOf(typeof d === "string" ? d : `${v.name}:${axis}`, axis)
    );
    return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
  });
  inputs.forEach((v, i) =>
    v.shape?.forEach((d, axis) => {
      const key = `${shapes[i][0][axis]},${shapes[i][1][axis]}`;
      if (typeof d === "string" && shapes[i][0][axis] !== shapes[i][1][axis] && !symbols.has(key)) symbols.set(key, d);
    })
  );
  const feeds = [0, 1].map((run) =>
    inputs.map((v, i) => o.generate({ input: v.name, dtype: v.dtype!, dims: shapes[i][run], run, seed: o.seed }))
  );
  return { feeds, symbols };
}

function checkGiven(v: ValueInfo, given: readonly (readonly number[])[]): number[][] {
  const [a, b = a] = given;
  for (const s of [a, b]) {
    const bad = !s || s.some((d) => !Number.isInteger(d) || d < 0) || (v.shape && s.length !== v.shape.length);
    if (bad || given.length > 2) {
      throw new InputError(
        `Invalid option inputShapes: input "${v.name}"${v.shape ? ` has rank ${v.shape.length}` : ""}, got ${JSON.stringify(given)}`,
      );
    }
  }
  return [[...a], [...b]];
}

/** Uniform [-1, 1) for floats (mulberry32, seeded per input and run), zeros for integers and bools. */
function seededInput({ input, dtype, dims, run, seed }: InputRequest): TensorValue {
  const n = dims.reduce((x, y) => x * y, 1);
  const d = [...dims];
  switch (dtype) {
    case "float32":
    case "float64": {
      const data = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
      let h = (seed ^ Math.imul(run + 1, 0x9e3779b1)) >>> 0;
      for (const ch of input) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
      for (let i = 0; i < n; i++) {
        h = (h + 0x6d2b79f5) >>> 0;
        let t = Math.imul(h ^ (h >>> 15), h | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        data[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
      }
      return dtype === "float32"
        ? { dtype, dims: d, data: data as Float32Array }
        : { dtype, dims: d, data: data as Float64Array };
    }
    case "int64":
      return { dtype, dims: d, data: new BigInt64Array(n) };
    case "uint64":
      return { dtype, dims: d, data: new BigUint64Array(n) };
    case "string":
      return { dtype, dims: d, data: new Array<string>(n).fill("") };
    default: {
      const Ctor = ZEROS[dtype];
      return { dtype, dims: d, data: new Ctor(n) } as TensorValue;
    }
  }
}

const ZEROS = {
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;
