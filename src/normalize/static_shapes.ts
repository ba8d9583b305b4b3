/**
 * Static shapes for targets that compile them: fix the dims of graph inputs,
 * record every value's shape with ONNX Runtime, then fold the integer shape
 * arithmetic (Shape → Cast/Slice/Concat/… → Reshape's shape) into constants,
 * so the graph no longer computes shapes at run time.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { InputError } from "../errors.ts";
import { Graph, topologicalOrder } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { Tensor, type TypedArray } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, RuntimeName } from "../runtime/types.ts";
import { recordShapes } from "./shapes.ts";

/** What {@linkcode makeShapesStatic} did. */
export interface StaticShapesReport {
  /** The shape now declared for each input that was given one. */
  inputs: Record<string, number[]>;
  /** Nodes replaced by constants (Shape and the integer arithmetic after it). */
  folded: number;
  /** Values that still have a dim that is not a number, after folding. */
  dynamic: string[];
}

// Their output shapes depend on data, so a shape recorded from one run proves nothing.
const DATA_DEPENDENT = new Set(["NonZero", "NonMaxSuppression", "Compress", "Unique", "TopK", "Loop", "If", "Scan"]);
const FLOAT_TYPES = new Set<DType>(["float32", "float16", "bfloat16", "float64"]);
const QDQ = new Set(["QuantizeLinear", "DequantizeLinear"]);

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
 * contradicts a declared dim.
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
  runtime: Runtime | RuntimeName = "node",
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
  await recordShapes(model, { runtime, inputShapes: fixed });
  const folded = await foldShapeArithmetic(model, runtime);
  const dynamic = [...g.inputs, ...g.outputs, ...g.valueInfo.values()]
    .filter((v) => !g.initializers.has(v.name) && (!v.shape || v.shape.some((d) => typeof d !== "number")))
    .map((v) => v.name);
  return { inputs: Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, [...d]])), folded, dynamic: [...new Set(dynamic)] };
}

/**
 * Shape nodes on static values become constants; so do the integer nodes
 * that then compute from constants only (run once in ONNX Runtime).
 * Returns how many nodes went.
 */
async function foldShapeArithmetic(model: Model, runtime: Runtime | RuntimeName): Promise<number> {
  const g = model.graph;
  const order = topologicalOrder(g);
  const tainted = dataDependentValues(order);
  const shapes = new Map<string, Tensor>();
  const fold: Node[] = [];
  const foldedOut = new Set<string>();
  const isConstant = (v: string) => !v || g.initializers.has(v) || foldedOut.has(v);
  for (const n of order) {
    if (n.outputs.some((o) => g.isOutput(o)) || n.domain !== "" || hasSubgraph(n) || QDQ.has(n.opType)) continue;
    let take = false;
    if (n.opType === "Shape") {
      const dims = tainted.has(n.inputs[0]) ? undefined : g.info(n.inputs[0])?.shape;
      if (dims?.every((d): d is number => typeof d === "number")) {
        shapes.set(n.outputs[0], shapeTensor(n, dims));
        take = true;
      }
    } else {
      take = n.inputs.length > 0 && n.inputs.every(isConstant) &&
        n.outputs.every((o) => !FLOAT_TYPES.has(g.info(o)?.dtype ?? "float32"));
    }
    if (take) {
      fold.push(n);
      for (const o of n.outputs) foldedOut.add(o);
    }
  }
  if (!fold.length) return 0;
  const folded = new Set(fold);
  const frontier = [...foldedOut].filter((v) => v && g.consumers(v).some((c) => !folded.has(c)));
  const computed = await evaluate(model, fold.filter((n) => n.opType !== "Shape"), shapes, frontier, runtime);
  for (const name of frontier) {
    const t = shapes.get(name) ?? computed.get(name);
    if (!t) throw new Error(`static shapes: no value computed for "${name}"`);
    g.addInitializer(t);
    g.valueInfo.delete(name);
  }
  g.removeNodes(fold);
  g.prune();
  return fold.length;
}

/** The output of a Shape node (with its `start`/`end`) on a value of static shape `dims`. */
function shapeTensor(n: Node, dims: number[]): Tensor {
  const rank = dims.length;
  const axis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = axis(n.attrInt("start", 0));
  const part = dims.slice(start, Math.max(start, axis(n.attrInt("end", rank))));
  return Tensor.fromArray(n.outputs[0], [part.length], BigInt64Array.from(part.map(BigInt)));
}

/** Runs `nodes` (all their inputs constant) in ONNX Runtime and returns `fetch` as tensors. */
async function evaluate(
  model: Model,
  nodes: Node[],
  known: Map<string, Tensor>,
  fetch: string[],
  runtime: Runtime | RuntimeName,
): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  const wanted = fetch.filter((v) => !known.has(v));
  if (!wanted.length) return out;
  const g = model.graph;
  const sub = new Graph(`${g.name}_shapes`);
  sub.nodes = nodes;
  for (const n of nodes) {
    for (const i of n.inputs) {
      const t = g.initializers.get(i) ?? known.get(i);
      if (t) sub.initializers.set(i, t);
    }
  }
  sub.outputs = wanted.map((name) => ({ name }));
  const bytes = encodeModel(new Model(sub, { irVersion: model.irVersion, opsets: model.opsets })).bytes;
  const rt = typeof runtime === "string" ? await getRuntime(runtime) : runtime;
  const session = await rt.createSession(bytes, { graphOptimizationLevel: "disabled" });
  try {
    const result = await session.run({}, wanted);
    for (const name of wanted) {
      const v = result[name];
      if (v.dtype === "string") continue;
      out.set(name, Tensor.fromArray(name, v.dims, v.data as TypedArray, v.dtype));
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Values computed after a data-dependent op: their recorded shapes may differ on other inputs. */
function dataDependentValues(order: readonly Node[]): Set<string> {
  const out = new Set<string>();
  for (const n of order) {
    const custom = n.domain !== "" && n.domain !== "ai.onnx";
    if (custom || DATA_DEPENDENT.has(n.opType) || n.inputs.some((i) => out.has(i))) for (const o of n.outputs) out.add(o);
  }
  return out;
}

function hasSubgraph(n: Node): boolean {
  for (const a of n.attrs.values()) if (a.type === "graph" || a.type === "graphs") return true;
  return false;
}
