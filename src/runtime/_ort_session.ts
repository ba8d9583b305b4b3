/**
 * What the node and web backends share: both speak onnxruntime-common's API,
 * so each passes its own `ort` module in and this file does the rest (the
 * hono adapter pattern). Only types are imported here; the module that loads
 * onnxruntime is the backend file.
 */

import type * as OrtCommon from "onnxruntime-common";
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { DTYPE_BYTES, type DType } from "../ir/dtype.ts";
import type { Dim } from "../ir/mod.ts";
import { RuntimeModelError } from "../errors.ts";
import { resolveSessionOptions } from "./_options.ts";
import type { Session, SessionOptions, TensorValue, ValueMetadata } from "./types.ts";

/** The part of an onnxruntime package a backend needs. */
export type OrtApi = Pick<typeof OrtCommon, "InferenceSession" | "Tensor">;

/**
 * Opens `model` with `ort`, pinned to `executionProviders`. The providers are
 * always explicit: if a bundler ever merges the two packages' copies of
 * onnxruntime-common into one backend registry, the default would pick
 * whichever backend registered with the higher priority.
 */
export async function createOrtSession(
  ort: OrtApi,
  model: Uint8Array | string,
  options: Partial<SessionOptions> | undefined,
  executionProviders: readonly string[],
): Promise<Session> {
  const o = resolveSessionOptions(options);
  const label = modelLabel(model, o.modelName);
  const ortOptions: InferenceSession.SessionOptions = {
    executionProviders,
    graphOptimizationLevel: o.graphOptimizationLevel,
    executionMode: o.executionMode,
    logSeverityLevel: o.logSeverityLevel,
    ...(o.intraOpNumThreads > 0 ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
    ...(o.interOpNumThreads > 0 ? { interOpNumThreads: o.interOpNumThreads } : {}),
    ...(Object.keys(o.freeDimensionOverrides).length > 0
      ? { freeDimensionOverrides: o.freeDimensionOverrides }
      : {}),
  };
  let session: InferenceSession;
  try {
    // Two calls because `create` is overloaded and accepts no union.
    session = typeof model === "string"
      ? await ort.InferenceSession.create(model, ortOptions)
      : await ort.InferenceSession.create(model, ortOptions);
  } catch (err) {
    throw oneLineError(`Cannot open model ${label}`, err);
  }
  return new OrtSession(ort, session, label);
}

class OrtSession implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  readonly #ort: OrtApi;
  readonly #session: InferenceSession;
  readonly #label: string;
  #released = false;

  // Plain fields, not parameter properties: those are not erasable syntax.
  constructor(ort: OrtApi, session: InferenceSession, label: string) {
    this.#ort = ort;
    this.#session = session;
    this.#label = label;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    this.inputMetadata = this.inputNames.map((n) => valueMetadata(n, session.inputMetadata?.find((m) => m.name === n)));
    this.outputMetadata = this.outputNames.map((n) => valueMetadata(n, session.outputMetadata?.find((m) => m.name === n)));
  }

  async run(
    feeds: Readonly<Record<string, TensorValue>>,
    fetches?: readonly string[],
  ): Promise<Record<string, TensorValue>> {
    let results: InferenceSession.ReturnType;
    try {
      const ortFeeds: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(feeds)) {
        // onnxruntime-node ignores a feed it has no input for, web rejects
        // it; reject on both so a typo fails the same way everywhere.
        if (!this.inputNames.includes(name)) {
          throw new RangeError(`unknown input "${name}", the inputs are ${this.inputNames.join(", ")}`);
        }
        ortFeeds[name] = toOrtTensor(this.#ort, name, value);
      }
      results = fetches === undefined
        ? await this.#session.run(ortFeeds)
        : await this.#session.run(ortFeeds, [...fetches]);
    } catch (err) {
      throw oneLineError(`Cannot run model ${this.#label}`, err);
    }
    const out: Record<string, TensorValue> = {};
    for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(this.#label, name, value as Tensor);
    return out;
  }

  async release(): Promise<void> {
    // Both ORT packages reject a second release ("Session already disposed");
    // a caller's finally block and error path may both release.
    if (this.#released) return;
    this.#released = true;
    await this.#session.release();
  }
}

function modelLabel(model: Uint8Array | string, name: string): string {
  if (name) return JSON.stringify(name);
  return typeof model === "string" ? JSON.stringify(model) : `(${model.byteLength} bytes)`;
}

function valueMetadata(name: string, meta: InferenceSession.ValueMetadata | undefined): ValueMetadata {
  if (meta === undefined) return { name, isTensor: true, dtype: null, shape: null };
  if (!meta.isTensor) return { name, isTensor: false, dtype: null, shape: null };
  const shape = meta.shape as readonly (number | string | undefined | null)[] | undefined;
  return { name, isTensor: true, dtype: asDType(meta.type), shape: shape ? shape.map(toDim) : null };
}

// ORT reports an unnamed dynamic dimension as -1 or "" depending on version.
function toDim(d: number | string | undefined | null): Dim {
  if (typeof d === "number") return d >= 0 ? d : null;
  if (typeof d === "string") return d === "" ? null : d;
  return null;
}

function asDType(type: string): DType | null {
  return Object.hasOwn(DTYPE_BYTES, type) ? type as DType : null;
}

function toOrtTensor(ort: OrtApi, name: string, value: TensorValue): Tensor {
  if (value.dtype === "bfloat16") {
    throw new TypeError(`Input "${name}" is bfloat16, which ONNX Runtime's JavaScript API cannot feed`);
  }
  return new ort.Tensor(value.dtype, value.data, value.dims);
}

function fromOrtTensor(label: string, name: string, t: Tensor): TensorValue {
  const dtype = asDType(t.type);
  if (dtype === null) {
    throw new TypeError(`Cannot read output "${name}" of model ${label}: element type ${t.type} is not supported`);
  }
  let data: unknown = t.data;
  // ORT hands out Float16Array where the platform has one (Deno does, Node 20
  // does not); keep the raw bits so both runtimes give the same TensorValue.
  if (dtype === "float16" && !(data instanceof Uint16Array)) {
    const view = data as ArrayBufferView & { length: number };
    data = new Uint16Array(view.buffer, view.byteOffset, view.length);
  }
  return { dtype, dims: [...t.dims], data } as TensorValue;
}

/**
 * An error of the same kind (TypeError, RangeError; a RuntimeModelError for
 * what ONNX Runtime itself refused) whose message is
 * `prefix: cause` on one line, keeping the original as `cause`. ORT messages
 * span lines and repeat themselves ("Can't create a session. ERROR_CODE: 7,
 * ERROR_MESSAGE: ...", "Load model from m.onnx failed:Load model m.onnx
 * failed"); a CLI prints one line.
 */
export function oneLineError(prefix: string, err: unknown): Error {
  const raw = err instanceof Error ? err.message : String(err);
  const detail = raw
    .replace(/^Can't create a session\.\s*/, "")
    .replace(/ERROR_CODE: \d+, ERROR_MESSAGE: /g, "")
    .replace(/^failed to call OrtRun\(\)\.\s*/, "")
    .replace(/^Load model from .* failed:(?=Load model )/, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\.$/, "");
  const message = detail ? `${prefix}: ${detail}` : prefix;
  // Our own argument checks keep their kind; what ONNX Runtime refuses is the model's problem.
  if (err instanceof TypeError) return new TypeError(message, { cause: err });
  if (err instanceof RangeError) return new RangeError(message, { cause: err });
  return new RuntimeModelError(message, { cause: err });
}
