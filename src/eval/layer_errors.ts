/**
 * Per-layer error attribution: which nodes of a quantized model lose the
 * most signal against the FP32 model, matched by value name.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { InputError } from "../errors.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Runtime, RuntimeName, SessionOptions } from "../runtime/types.ts";
import type { Node } from "../ir/node.ts";
import { ErrorStats, type ErrorSummary } from "./error_stats.ts";
import { matchValues, qdqSource, type ValueMatch } from "./_match.ts";
import { feedsOf, floatData, leadingChannels, openPair, resolveRuntime, sameDims, sampleCount, withDefaults } from "./_session.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** Options of {@linkcode layerErrors}; each field's default is in its doc. */
export interface LayerErrorOptions {
  /** Backend, or its name. Default `"node"`. */
  runtime: Runtime | RuntimeName;
  /**
   * Session options for both models, over `{ graphOptimizationLevel:
   * "disabled" }` so that every value is computed as the file says.
   */
  session: Partial<SessionOptions>;
  /** Use at most this many samples (the first ones). Default: all. */
  samples?: number;
  /**
   * Order of `layers`: `"sqnr"` lowest SQNR first, `"drop"` largest
   * `dropDb` first (the layers that add error rather than inherit it).
   * Default `"sqnr"`.
   */
  sortBy: "sqnr" | "drop";
  /** Called after each sample with the count done and the total. Default: none. */
  onProgress?: (done: number, total: number) => void;
}

/** Error of what the quantized model computes for one FP32 node output. */
export interface LayerError extends Omit<ErrorSummary, "rows" | "top1Agreement"> {
  /**
   * The node computing the value in the quantized model (the quantizer keeps
   * node names); `opType(value)` when unnamed.
   */
  node: string;
  opType: string;
  /** The FP32 value compared, by its name in the FP32 model. */
  value: string;
  /**
   * Lowest SQNR among the node's inputs that stand for compared values, traced
   * back through Q→DQ: the error the node inherits. Graph inputs count as
   * exact (`+Infinity`); weights and other constants are the node's own error.
   */
  inputSqnrDb: number;
  /** `inputSqnrDb − sqnrDb` (0 when equal): positive when this node adds error. */
  dropDb: number;
  /** Whether the node reads a DequantizeLinear output in the quantized model. */
  quantizedInputs: boolean;
}

/** What {@linkcode layerErrors} measured. */
export interface LayerErrorReport {
  samples: number;
  /** One entry per compared value, worst first (see `sortBy`). */
  layers: LayerError[];
}

/**
 * Runs copies of both models that output every intermediate value and
 * compares each float value `v` computed by a node of the FP32 model with
 * what the quantized model computes for it: `v` itself, or, where the
 * quantized model quantizes `v` (`v → QuantizeLinear → DequantizeLinear`),
 * the DequantizeLinear output its readers see. So a node's SQNR includes the
 * rounding of its own output as well as of its inputs and weights, and a
 * Relu the quantizer folded into the node before is compared after the clamp
 * (the raw `v` would then be the unclamped Conv output). Values are matched
 * by name, since the quantizer keeps the original names; its own values
 * exist only in the quantized model and are never reported. Statistics are
 * running sums: memory holds one sample's intermediates (of both models),
 * whatever the number of samples. The callers' models are not changed.
 *
 * @example
 * ```ts
 * const { layers } = await layerErrors(fp32Model, int8Model, dataset, { samples: 16 });
 * console.log(formatLayerErrors({ samples: 16, layers }, 10));
 * ```
 */
export async function layerErrors(
  fp32Model: Model,
  quantizedModel: Model,
  data: Dataset,
  opts: Partial<LayerErrorOptions> = {},
): Promise<LayerErrorReport> {
  const o: LayerErrorOptions = withDefaults({ runtime: DEFAULT_RUNTIME, session: {}, sortBy: "sqnr" }, opts);
  if (o.sortBy !== "sqnr" && o.sortBy !== "drop") {
    throw new InputError(`Cannot attribute layer errors: sort "${o.sortBy}" is not one of sqnr, drop`);
  }
  const total = sampleCount(data, o.samples, "attribute layer errors");
  const matches = matchValues(fp32Model.graph, quantizedModel.graph);
  const runtime = await resolveRuntime(o.runtime);
  const [ref, test] = await openPair(
    runtime,
    [withOutputs(fp32Model, matches.map((m) => m.value)), withOutputs(quantizedModel, matches.map((m) => m.quantized))],
    { graphOptimizationLevel: "disabled", ...o.session },
  );
  let live = matches;
  const stats = new Map(matches.map((m) => [m.value, new ErrorStats()]));
  try {
    for (let i = 0; i < total; i++) {
      const feeds = await feedsOf(data, i, ref);
      const a = await ref.run(feeds, live.map((m) => m.value));
      const b = await test.run(feeds, live.map((m) => m.quantized));
      for (const m of live) {
        const x = floatData(a[m.value]);
        const y = floatData(b[m.quantized]);
        // Types unknown before the run: integer values (shapes, indices) drop out here.
        if (!x || !y) {
          stats.delete(m.value);
          continue;
        }
        const z = leadingChannels(a[m.value], b[m.quantized], y);
        if (z === y) sameDims(m.value, a[m.value], b[m.quantized]);
        stats.get(m.value)!.add(x, z);
      }
      live = live.filter((m) => stats.has(m.value));
      o.onProgress?.(i + 1, total);
    }
  } finally {
    await Promise.all([ref.release(), test.release()]);
  }
  const layers = attribute(quantizedModel.graph, live, stats);
  return { samples: total, layers: sortLayers(layers, o.sortBy) };
}

/** A copy of `model` with `values` as extra graph outputs. */
function withOutputs(model: Model, values: readonly string[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const declared = new Set(g.outputs.map((v) => v.name));
  // Untyped outputs are fine for ONNX Runtime, which infers their types.
  for (const v of values) if (!declared.has(v)) g.outputs.push({ name: v });
  return copy;
}

/**
 * Entries in float-model order. A node's inherited error is read from its
 * inputs in the quantized model, each traced back through Q→DQ to the value
 * it stands for (weights and other constants count as the node's own error).
 */
function attribute(q: Graph, matches: readonly ValueMatch[], stats: Map<string, ErrorStats>): LayerError[] {
  const summaries = new Map([...stats].map(([v, s]) => [v, s.summary()]));
  const standsFor = new Map<string, string>();
  for (const m of matches) standsFor.set(m.quantized, m.value).set(m.value, m.value);
  const graphInputs = new Set(q.inputs.map((v) => v.name));
  const inheritedSqnr = (node: Node): number => {
    let worst = Infinity;
    for (const input of node.inputs) {
      for (let v: string | undefined = input; v !== undefined; v = qdqSource(q, v)) {
        const fpName = standsFor.get(v);
        if (fpName !== undefined || graphInputs.has(v)) {
          const sqnr = fpName === undefined ? Infinity : summaries.get(fpName)?.sqnrDb ?? Infinity;
          if (sqnr < worst) worst = sqnr;
          break;
        }
      }
    }
    return worst;
  };
  return matches.map(({ value, node }) => {
    const s = summaries.get(value)!;
    const inputSqnrDb = inheritedSqnr(node);
    return {
      node: node.label,
      opType: node.opType,
      value,
      elements: s.elements,
      sqnrDb: s.sqnrDb,
      cosine: s.cosine,
      maxAbsDiff: s.maxAbsDiff,
      inputSqnrDb,
      dropDb: s.sqnrDb === inputSqnrDb ? 0 : inputSqnrDb - s.sqnrDb,
      quantizedInputs: node.inputs.some((i) => q.producer(i)?.opType === "DequantizeLinear"),
    };
  });
}

/** Stable sort, NaN last; ties in `"drop"` order go to the lower SQNR. */
function sortLayers(layers: LayerError[], by: "sqnr" | "drop"): LayerError[] {
  const key = (l: LayerError) => (Number.isNaN(by === "sqnr" ? l.sqnrDb : l.dropDb) ? 1 : 0);
  const bySqnr = (a: LayerError, b: LayerError) => (a.sqnrDb < b.sqnrDb ? -1 : a.sqnrDb > b.sqnrDb ? 1 : 0);
  return layers.sort((a, b) => {
    const nan = key(a) - key(b);
    if (nan) return nan;
    if (by === "sqnr") return bySqnr(a, b);
    return a.dropDb > b.dropDb ? -1 : a.dropDb < b.dropDb ? 1 : bySqnr(a, b);
  });
}
