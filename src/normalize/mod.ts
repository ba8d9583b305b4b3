/**
 * Normalization: the exact clean-ups real exports need before calibration
 * and quantization, so later passes see one shape of model.
 *
 * @module
 */
import { type Graph, subgraphsOf } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { constantsToInitializers } from "./constants.ts";
import { foldBatchNorm } from "./fold_bn.ts";
import { foldConstants, type FoldReport } from "./fold_constants.ts";
import { upgradeOpset } from "./opset.ts";
import { recordShapes, type RecordShapesOptions, type ShapeReport } from "./shapes.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

export { constantsToInitializers } from "./constants.ts";
export { foldBatchNorm } from "./fold_bn.ts";
export { foldConstants, type FoldConstantsOptions, type FoldReport } from "./fold_constants.ts";
export { freezeInputs, parseInputValues } from "./freeze_inputs.ts";
export { upgradeOpset } from "./opset.ts";
export { recordShapes, type RecordShapesOptions, type ShapeReport } from "./shapes.ts";
export { makeShapesStatic, parseInputShapes, type StaticShapesReport } from "./static_shapes.ts";

/** Options of {@linkcode normalize}. */
export interface NormalizeOptions {
  /** Opset of the default domain to upgrade to (never below 13 if you quantize per channel). @default 13 */
  opset: number;
  /** Fold inference BatchNormalization into the Conv/ConvTranspose/Gemm/MatMul before it. @default true */
  foldBatchNorm: boolean;
  /** Evaluate nodes that compute from constants only, and inline `If`s on constant conditions (needs ONNX Runtime). @default true */
  foldConstants: boolean;
  /** Record every value's dtype and shape by running the model (needs ONNX Runtime). @default true */
  shapes: boolean;
  /** How shapes are recorded; see {@linkcode RecordShapesOptions}. @default {} */
  shapeOptions: Partial<RecordShapesOptions>;
}

/** What {@linkcode normalize} did. */
export interface NormalizeReport {
  /** Constant nodes turned into initializers (subgraphs included). */
  constantsConverted: number;
  /** BatchNormalization nodes folded away. */
  batchNormsFolded: number;
  /** Nodes evaluated into initializers and `If`s inlined, when `foldConstants` was on. */
  constantsFolded?: FoldReport;
  /** Identity nodes removed (those that were not graph outputs). */
  identitiesRemoved: number;
  /** Default-domain opset before and after. */
  opset: { from: number; to: number };
  /** Node count of the main graph before and after. */
  nodes: { before: number; after: number };
  /** The shape recording, when `shapes` was on. */
  shapes?: ShapeReport;
}

const DEFAULTS: NormalizeOptions = { opset: 13, foldBatchNorm: true, foldConstants: true, shapes: true, shapeOptions: {} };

/**
 * Normalizes `model` in place, in this order:
 *
 * 1. Constant nodes → initializers, so every weight is in one place.
 * 2. Opset upgrade to `opts.opset` (per-channel QDQ needs ≥ 13).
 * 3. Constant folding, `If`s on constant conditions inlined (ONNX Runtime evaluates).
 * 4. BatchNormalization folding (needs 1: parameters as initializers).
 * 5. Identity removal and pruning of dead nodes, initializers and value info.
 * 6. Shape recording with ONNX Runtime (last: it sees the final graph).
 *
 * @example
 * ```ts
 * const model = readModel("model.onnx");
 * const report = await normalize(model, { shapes: false });
 * report.batchNormsFolded; // e.g. 35
 * ```
 */
export async function normalize(model: Model, opts: Partial<NormalizeOptions> = {}): Promise<NormalizeReport> {
  const o: NormalizeOptions = { ...DEFAULTS, ...stripUndefined(opts) };
  const before = { nodes: model.graph.nodes.length, opset: model.opset() };

  const constantsConverted = constantsToInitializers(model.graph);
  upgradeOpset(model, o.opset);
  const constantsFolded = o.foldConstants ? await foldConstants(model, { runtime: o.shapeOptions.runtime ?? DEFAULT_RUNTIME }) : undefined;
  const batchNormsFolded = o.foldBatchNorm ? foldBatchNorm(model.graph) : 0;
  const identitiesRemoved = dropIdentities(model.graph);
  pruneDead(model.graph);
  const shapes = o.shapes ? await recordShapes(model, o.shapeOptions) : undefined;

  return {
    constantsConverted,
    ...(constantsFolded ? { constantsFolded } : {}),
    batchNormsFolded,
    identitiesRemoved,
    opset: { from: before.opset, to: model.opset() },
    nodes: { before: before.nodes, after: model.graph.nodes.length },
    ...(shapes ? { shapes } : {}),
  };
}

/** Removes Identity nodes whose output is not an output of their graph; returns how many. */
function dropIdentities(graph: Graph): number {
  let removed = 0;
  const drop: Node[] = [];
  for (const n of graph.nodes) {
    for (const sg of subgraphsOf(n)) removed += dropIdentities(sg);
    if (n.opType !== "Identity" || n.domain !== "" || !n.inputs[0] || graph.isOutput(n.outputs[0])) continue;
    renameReads(graph, n.outputs[0], n.inputs[0], false);
    drop.push(n);
  }
  graph.removeNodes(drop);
  return removed + drop.length;
}

/**
 * Points every read of `from` at `to`, in `graph` and in the subgraphs that
 * see it as an outer-scope value (whose outputs may name it directly).
 */
function renameReads(graph: Graph, from: string, to: string, nested: boolean): void {
  for (const n of graph.nodes) {
    for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
    for (const sg of subgraphsOf(n)) renameReads(sg, from, to, true);
  }
  if (nested) for (const o of graph.outputs) if (o.name === from) o.name = to;
  graph.invalidate();
}

/**
 * Drops default-domain nodes that no graph output depends on, then
 * initializers and value info nothing reads; in subgraphs too.
 */
function pruneDead(graph: Graph): void {
  const keep = new Set<Node>();
  const todo = graph.outputs.map((o) => o.name);
  for (const n of graph.nodes) if (n.domain !== "" && n.domain !== "ai.onnx") todo.push(...n.outputs);
  const seen = new Set<string>();
  while (todo.length) {
    const v = todo.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = graph.producer(v);
    if (!p || keep.has(p)) continue;
    keep.add(p);
    todo.push(...p.inputs, ...p.outputs);
    for (const sg of subgraphsOf(p)) for (const sn of allNodes(sg)) todo.push(...sn.inputs);
  }
  if (keep.size !== graph.nodes.length) graph.removeNodes(graph.nodes.filter((n) => !keep.has(n)));
  graph.prune();
  for (const n of graph.nodes) for (const sg of subgraphsOf(n)) pruneDead(sg);
}

function allNodes(g: Graph): Node[] {
  return g.nodes.flatMap((n) => [n, ...subgraphsOf(n).flatMap(allNodes)]);
}

// `{ opset: undefined }` (an unset CLI flag) must mean "default".
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
