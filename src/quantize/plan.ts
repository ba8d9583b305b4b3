/**
 * The quantization plan as plain data: which activation values calibration
 * must collect ranges for, and what happens to each node.
 *
 * @module
 */
import type { Model } from "../ir/model.ts";
import { detailedPlan } from "./_plan.ts";
import { resolveQuantizeOptions } from "./options.ts";
import type { OpKind } from "./registry.ts";
import type { QuantizeOptions } from "./types.ts";

/** One node's fate. */
export interface PlannedNode {
  /** Node name, or `opType(firstOutput)` when it has none. */
  node: string;
  opType: string;
  kind: OpKind;
  quantized: boolean;
  /** Why it stays float (or why its bias does). */
  reason?: string;
  /** For a folded Relu/Clip: the node it folds into. */
  foldedInto?: string;
}

/** What {@linkcode planQuantization} decided. */
export interface QuantPlan {
  options: QuantizeOptions;
  /**
   * Float values whose range calibration must collect (graph inputs and node
   * outputs), in topological order. Values that share another's parameters
   * (data movement) or have fixed ones (Softmax) are not listed.
   */
  activations: string[];
  /** Values that reuse another value's parameters: value → the value it shares with. */
  shared: Record<string, string>;
  /** Every node in topological order. */
  nodes: PlannedNode[];
}

/**
 * Plans QDQ quantization of a normalized model (opset ≥ 13) without changing
 * it. Throws InputError below opset 13.
 *
 * @example
 * ```ts
 * const plan = planQuantization(model, { activations: "int8" });
 * const ranges = await calibrate(model, plan.activations, dataset); // Map<string, Range>
 * quantize(model, ranges, { activations: "int8" });
 * ```
 */
export function planQuantization(model: Model, opts: Partial<QuantizeOptions> = {}): QuantPlan {
  const options = resolveQuantizeOptions(opts);
  const p = detailedPlan(model, options);
  const activations: string[] = [];
  const shared: Record<string, string> = {};
  for (const v of p.values.values()) {
    if (v.source.kind === "calibrated") activations.push(v.name);
    if (v.source.kind === "shared") shared[v.name] = v.source.from;
  }
  activations.sort((a, b) => p.position.get(a)! - p.position.get(b)!);
  return {
    options,
    activations,
    shared,
    nodes: p.nodes.map((n) => ({
      node: n.node.label,
      opType: n.node.opType,
      kind: n.rule.kind,
      quantized: n.quantized,
      ...(n.reason ? { reason: n.reason } : {}),
      ...(n.foldedInto ? { foldedInto: n.foldedInto.label } : {}),
    })),
  };
}
