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
