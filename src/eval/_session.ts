/**
 * What comparing two models shares: opening them, feeding one sample, and
 * reading float outputs as Float32Array.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { Model } from "../ir/model.ts";
import { float16ToFloat32 } from "../ir/tensor.ts";
import { openModel } from "../runtime/open_model.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, RuntimeName, Session, SessionOptions, TensorValue } from "../runtime/types.ts";
import type { Dataset } from "../data/types.ts";

/** A model as a file path, its bytes, or IR. */
export type ModelSource = Model | Uint8Array | string;

/** `opts` over `defaults`, where a field given as `undefined` keeps its default. */
export function withDefaults<T extends object>(defaults: T, opts: Partial<T>): T {
  const o = { ...defaults };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}

/** The backend itself, or its name. */
export async function resolveRuntime(rt: Runtime | RuntimeName): Promise<Runtime> {
  return typeof rt === "string" ? await getRuntime(rt) : rt;
}

/** Opens both models; if the second fails, the first is released. */
export async function openPair(
  runtime: Runtime,
  models: readonly [ModelSource, ModelSource],
  options: Partial<SessionOptions>,
): Promise<[Session, Session]> {
  const open = (m: ModelSource) => (m instanceof Model ? openModel(runtime, m, options) : runtime.createSession(m, options));
  const a = await open(models[0]);
  try {
    return [a, await open(models[1])];
  } catch (err) {
    await a.release();
    throw err;
  }
}

/** Number of samples to use: `limit` capped by the dataset; an empty dataset is an error. */
export function sampleCount(data: Dataset, limit: number | undefined, what: string): number {
  if (limit !== undefined && !(limit >= 1)) throw new InputError(`Cannot ${what}: samples must be at least 1, got ${limit}`);
  const n = Math.min(data.size, limit ?? Infinity);
  if (n < 1) throw new InputError(`Cannot ${what}: the dataset has no samples`);
  return n;
}

/** The feeds of `session` from sample `i`, naming the sample when an input is missing. */
export async function feedsOf(data: Dataset, i: number, session: Session): Promise<Record<string, TensorValue>> {
  const sample = await data.get(i);
  const feeds: Record<string, TensorValue> = {};
  for (const name of session.inputNames) {
    const t = sample[name];
    if (!t) {
      throw new InputError(
        `Sample "${data.id(i)}" has no input "${name}": it provides ${Object.keys(sample).map((k) => `"${k}"`).join(", ") || "nothing"}`,
      );
    }
    feeds[name] = t;
  }
  return feeds;
}

/** A float output as float32 elements, or `undefined` for integer, bool and string outputs. */
export function floatData(v: TensorValue): Float32Array | undefined {
  switch (v.dtype) {
    case "float32":
      return v.data;
    case "float64":
      return Float32Array.from(v.data);
    case "float16":
      return float16ToFloat32(v.data);
    case "bfloat16":
      return new Float32Array(Uint32Array.from(v.data, (h) => h << 16).buffer);
    default:
      return undefined;
  }
}

/** `[1, 3, 48]` → `"[1, 3, 48]"`. */
export const dimsText = (dims: readonly number[]): string => `[${dims.join(", ")}]`;

/**
 * `b`'s data where it has more channels (axis 1) than `a` and is otherwise
 * the same shape: its first channels, the ones `a` has (a quantized model for
 * ONNX Runtime's CPU kernels pads depthwise channels with zeros). Otherwise
 * `b`'s data as it is.
 */
export function leadingChannels(a: TensorValue, b: TensorValue, data: Float32Array): Float32Array {
  const x = a.dims, y = b.dims;
  if (x.length < 2 || x.length !== y.length || y[1] <= x[1] || x.some((d, i) => i !== 1 && d !== y[i])) return data;
  const inner = x.slice(2).reduce((p, d) => p * d, 1);
  const out = new Float32Array(x.reduce((p, d) => p * d, 1));
  for (let n = 0; n < x[0]; n++) out.set(data.subarray(n * y[1] * inner, (n * y[1] + x[1]) * inner), n * x[1] * inner);
  return out;
}

/** Checks that two outputs of the same name have the same dims. */
export function sameDims(name: string, a: TensorValue, b: TensorValue): void {
  if (a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i])) return;
  throw new InputError(
    `Cannot compare value "${name}": shape ${dimsText(a.dims)} in the float model, ${dimsText(b.dims)} in the quantized model`,
  );
}
