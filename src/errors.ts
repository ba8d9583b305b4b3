/**
 * Errors edgeq raises for input it cannot use. The CLI turns an
 * {@linkcode InputError} into its one-line message and exit code 2; anything
 * else is a bug and keeps its stack.
 *
 * @module
 */

/**
 * Bad input: a file that is not a model, a missing external-data file, an
 * option out of range. The message is one line naming the file, node or option.
 *
 * @example
 * ```ts
 * throw new InputError(`Cannot read model "x.onnx": truncated file`);
 * ```
 */
export class InputError extends Error {
  override name = "InputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message.replace(/\s*\n\s*/g, " "), options);
  }
}

/**
 * The model cannot meet its target profile: an op the target does not run,
 * a dynamic shape on a static-shape target, a node that would stay float on
 * an integer-only target. The CLI prints the message and one line per
 * detail, and exits 1 (as for a model that fails validation).
 *
 * @example
 * ```ts
 * throw new TargetViolationError(`Model "m.onnx" cannot meet target "npu-int8-only"`, [`dynamic-shape: input "x" …`]);
 * ```
 */
export class TargetViolationError extends Error {
  override name = "TargetViolationError";
  constructor(message: string, readonly details: readonly string[] = []) {
    super(message.replace(/\s*\n\s*/g, " "));
  }
}

/**
 * ONNX Runtime could not open or run a model: a file that decodes but is not
 * a valid model, a shape the model rejects, an op the runtime lacks. Input,
 * not a bug of edgeq's, so the CLI prints the one line and exits 2.
 *
 * @example
 * ```ts
 * throw new RuntimeModelError(`Cannot open model "m.onnx": Invalid model. Node input 'w' is not a graph input`);
 * ```
 */
export class RuntimeModelError extends InputError {
  override name = "RuntimeModelError";
}
