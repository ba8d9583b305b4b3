/**
 * Static shapes for targets that compile them: fix the dims of graph inputs,
 * record every value's shape with ONNX Runtime, then fold the integer shape
 * arithmetic (Shape → Cast/Slice/Concat/… → Reshape's shape) into constants,
 * so the graph no longer computes shapes at run time.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { foldConstants } from "./fold_constants.ts";
import { recordShapes, type RecordShapesOptions } from "./shapes.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** What {@linkcode makeShapesStatic} did. */
export interface StaticShapesReport {
  /** The shape now declared for each input that was given one. */
  inputs: Record<string, number[]>;
  /** Nodes replaced by constants (Shape and the integer arithmetic after it). */
  folded: number;
  /** Values that still have a dim that is not a number, after folding. */
  dynamic: string[];
}


/**
 * Parses `--input-shape` values like `x=1,3,48,320` into a map of input name → dims.
 *
 * @example
 * ```ts
 * parseInputShapes(["x=1,3,48,320"]); // { x: [1, 3, 48, 320] }
 * ```
 */
export function parseInputShapes(specs: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(\d+(?:,\d+)*)$/.exec(spec.trim());
    const dims = m?.[2].split(",").map(Number);
    if (!m || !dims!.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new InputError(`Option --input-shape must look like NAME=1,3,48,320 (positive sizes), got "${spec}"`);
    }
    out[m[1]] = dims!;
  }
  return out;
}

/**
 * Fixes the shapes of the named graph inputs of a normalized model (in
 * place), records every value's shape with ONNX Runtime, and folds the
 * integer computations that only depended on shapes into initializers.
 * Values downstream of data-dependent ops (NonZero, TopK, Loop, …) are not
 * folded. Throws an InputError for an unknown input or a shape that
 * contradicts a declared dim. Options: `runtime` (default onnxruntime-node)
 * records the shapes; `check: false` skips the one run that checks what
 * shape inference does not ({@linkcode RecordShapesOptions.check}), for a
 * caller that runs the model on these shapes next anyway.
 *
 * @example
 * ```ts
 * const model = readModel("ch_PP-OCRv4_rec_infer.onnx");
 * await normalize(model, { shapes: false });
 * const r = await makeShapesStatic(model, { x: [1, 3, 48, 320] });
 * r.folded; // 37: every Shape/Cast/Slice/Concat feeding a Reshape
 * r.dynamic; // []
 * ```
 */
export async function makeShapesStatic(
  model: Model,
  shapes: Readonly<Record<string, readonly number[]>>,
  { runtime = DEFAULT_RUNTIME, check = true }: Partial<Pick<RecordShapesOptions, "runtime" | "check">> = {},
): Promise<StaticShapesReport> {
  const g = model.graph;
  const inputs = g.inputs.filter((v) => !g.initializers.has(v.name));
  for (const [name, dims] of Object.entries(shapes)) {
    const v = inputs.find((i) => i.name === name);
    if (!v) throw new InputError(`Unknown input "${name}" in --input-shape: the model's inputs are ${inputs.map((i) => `"${i.name}"`).join(", ")}`);
    const declared = v.shape;
    if (declared && (declared.length !== dims.length || declared.some((d, i) => typeof d === "number" && d >= 0 && d !== dims[i]))) {
      throw new InputError(
        `Cannot give input "${name}" the shape [${dims.join(",")}]: it is declared [${declared.map((d) => d ?? "?").join(",")}]`,
      );
    }
    v.shape = [...dims];
  }
  // Stale declared output shapes would keep their symbolic dims.
  for (const o of g.outputs) o.shape = undefined;
  const fixed = Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, [d]]));
  await recordShapes(model, { runtime, inputShapes: fixed, check });
  const r = await foldConstants(model, { shapes: true, runtime });
  const folded = Object.values(r.folded).reduce((a, b) => a + b, 0) + r.branches.length;
  const dynamic = [...g.inputs, ...g.outputs, ...g.valueInfo.values()]
    .filter((v) => !g.initializers.has(v.name) && (!v.shape || v.shape.some((d) => typeof d !== "number")))
    .map((v) => v.name);
  return { inputs: Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, [...d]])), folded, dynamic: [...new Set(dynamic)] };
}
