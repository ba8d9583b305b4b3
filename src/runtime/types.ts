/**
 * The contract every inference backend fulfils: a {@linkcode Runtime} opens a
 * model into a {@linkcode Session}, which runs plain {@linkcode TensorValue}s.
 * Nothing here depends on onnxruntime, so code that only passes tensors
 * around never loads a backend.
 *
 * @module
 */

import type { DType } from "../ir/dtype.ts";
import type { Dim } from "../ir/mod.ts";

/** Names of the available backends. */
export type RuntimeName = "node" | "web";

/**
 * Element storage for each dtype, as ONNX Runtime's JavaScript API holds it.
 * `float16` and `bfloat16` are raw bit patterns; `bool` is one byte per
 * element (0 or 1).
 */
export interface TensorDataMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
}

/** Storage of any dtype. */
export type TensorData = TensorDataMap[DType];

/**
 * A dense tensor in host memory, in C order. The union is discriminated by
 * `dtype`, so checking `dtype` narrows `data`.
 *
 * @example
 * ```ts
 * const x: TensorValue = {
 *   dtype: "float32",
 *   dims: [1, 3],
 *   data: new Float32Array([0.1, 0.2, 0.3]),
 * };
 * ```
 */
export type TensorValue<T extends DType = DType> = T extends DType ? {
    readonly dtype: T;
    readonly dims: readonly number[];
    readonly data: TensorDataMap[T];
  }
  : never;

/**
 * What a session reports about one of its inputs or outputs. Each `Dim` is a
 * fixed size, a symbolic name such as `"batch"`, or `null` when unnamed.
 */
export interface ValueMetadata {
  readonly name: string;
  /** `false` for sequences, maps and optionals, which edgeq does not run. */
  readonly isTensor: boolean;
  /** `null` when not a tensor or an element type edgeq does not handle (int4, float8). */
  readonly dtype: DType | null;
  /** `null` when not a tensor or the rank is unknown. */
  readonly shape: readonly Dim[] | null;
}

/** Graph optimisation level, as ONNX Runtime names them. */
export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

/**
 * How a session is created. Callers pass a `Partial<SessionOptions>`; each
 * field's default is applied in one place (`resolveSessionOptions`).
 */
export interface SessionOptions {
  /**
   * Threads used inside one operator; `0` lets the backend choose (node: one
   * per physical core). The web backend applies this to the whole process at
   * its first session (an ONNX Runtime Web limitation) and treats `0` as 1,
   * because wasm threads need workers and, in browsers, cross-origin isolation.
   *
   * @default 0
   */
  intraOpNumThreads: number;
  /**
   * Threads used to run independent operators at once when `executionMode`
   * is `"parallel"`; `0` lets the backend choose. Ignored by the web backend.
   *
   * @default 0
   */
  interOpNumThreads: number;
  /**
   * Graph optimisations ONNX Runtime applies before running. Use `"disabled"`
   * or `"basic"` when intermediate tensors must keep the names they have in
   * the file, since higher levels fuse nodes away.
   *
   * @default "all"
   */
  graphOptimizationLevel: GraphOptimizationLevel;
  /**
   * Run operators one after another or, where the graph allows, at once.
   *
   * @default "sequential"
   */
  executionMode: "sequential" | "parallel";
  /**
   * Fixed sizes for symbolic dimensions, e.g. `{ batch: 1 }`, which lets
   * ONNX Runtime plan memory as for a static model.
   *
   * @default {}
   */
  freeDimensionOverrides: Readonly<Record<string, number>>;
  /**
   * ONNX Runtime's own log threshold: 0 verbose, 1 info, 2 warning, 3 error,
   * 4 fatal. Defaults to fatal only: ONNX Runtime's warnings and errors go to
   * stderr, which the CLI keeps for its own progress and its one-line errors,
   * and every error reaches the caller as an exception anyway.
   *
   * @default 4
   */
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
  /**
   * How error messages name the model, e.g. the file a bundle entry came
   * from. Empty means the path when given a path, or the byte count.
   *
   * @default ""
   */
  modelName: string;
}

/**
 * An opened model. Release it when done: the node backend holds native
 * memory the garbage collector does not see.
 */
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** One entry per input, in `inputNames` order. */
  readonly inputMetadata: readonly ValueMetadata[];
  /** One entry per output, in `outputNames` order. */
  readonly outputMetadata: readonly ValueMetadata[];
  /**
   * Runs the model on `feeds` (one per input name) and returns the outputs
   * named in `fetches`, or all outputs when `fetches` is omitted. Returned
   * tensors own their data and stay valid after `release()`.
   */
  run(
    feeds: Readonly<Record<string, TensorValue>>,
    fetches?: readonly string[],
  ): Promise<Record<string, TensorValue>>;
  /** Frees the session; it cannot run afterwards. */
  release(): Promise<void>;
}

/**
 * An inference backend.
 *
 * @example
 * ```ts
 * const rt = await getRuntime("web");
 * const session = await rt.createSession("model.onnx", { graphOptimizationLevel: "basic" });
 * ```
 */
export interface Runtime {
  /** `"node"`, `"web"`, or a plugged-in backend's own name (e.g. a device vendor's). */
  readonly name: string;
  /**
   * Opens a model from a file path or its bytes. Rejects with a one-line
   * message that names the model when it cannot be opened.
   */
  createSession(
    model: Uint8Array | string,
    options?: Partial<SessionOptions>,
  ): Promise<Session>;
}
