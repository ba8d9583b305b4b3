/**
 * `edgeq inspect`: what a model is made of and the weight facts that predict
 * quantization trouble.
 *
 * @module
 */
import type { Dim } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { cloneModel } from "../ir/clone.ts";
import { constantsToInitializers } from "../normalize/constants.ts";
import { foldBatchNorm } from "../normalize/fold_bn.ts";
import type { Tensor } from "../ir/tensor.ts";
import { type WeightChannels, weightChannels } from "./weights.ts";

/** A graph input or output. */
export interface IoSpec {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

/** Everything `inspect` reports, as plain JSON-able data. */
export interface InspectReport {
  irVersion: number;
  opsets: Record<string, number>;
  producer: string;
  nodes: number;
  /** Node count per op type, most frequent first. */
  ops: Record<string, number>;
  /** Parameters in initializers and Constant nodes. */
  parameters: number;
  parameterBytes: number;
  inputs: IoSpec[];
  outputs: IoSpec[];
  weights: WeightChannels[];
}

/** Options for {@linkcode inspectModel}. */
export interface InspectOptions {
  /**
   * Report weights after folding BatchNormalization into the layer before it,
   * as edgeq quantizes them. Default `true`. The model itself is not changed.
   */
  foldBatchNorm: boolean;
}

/**
 * Builds the inspect report of a model. The model is not changed: weight
 * facts are computed on a copy with Constant tensors resolved (and BN folded
 * unless `foldBatchNorm` is false).
 *
 * @example
 * ```ts
 * const report = inspectModel(readModel("model.onnx"));
 * report.weights.filter((w) => w.zero.length > 0);
 * ```
 */
export function inspectModel(model: Model, opts: Partial<InspectOptions> = {}): InspectReport {
  const g = model.graph;
  const copy = cloneModel(model).graph;
  constantsToInitializers(copy);
  if (opts.foldBatchNorm ?? true) foldBatchNorm(copy);
  const hist = new Map<string, number>();
  let parameters = 0;
  let parameterBytes = 0;
  const count = (t: Tensor) => {
    parameters += t.size;
    parameterBytes += t.dtype === "string" ? 0 : t.byteLength;
  };
  for (const t of g.initializers.values()) count(t);
  for (const n of g.nodes) {
    const key = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    hist.set(key, (hist.get(key) ?? 0) + 1);
    if (n.opType === "Constant") {
      const t = n.attrTensor("value");
      if (t) count(t);
    }
  }
  const io = (v: { name: string; dtype?: string; shape?: Dim[] }): IoSpec => ({
    name: v.name,
    dtype: v.dtype ?? "unknown",
    shape: v.shape ?? null,
  });
  const inits = new Set(g.initializers.keys());
  return {
    irVersion: model.irVersion,
    opsets: Object.fromEntries([...model.opsets].map(([d, v]) => [d || "ai.onnx", v])),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(" "),
    nodes: g.nodes.length,
    ops: Object.fromEntries([...hist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameters,
    parameterBytes,
    inputs: g.inputs.filter((v) => !inits.has(v.name)).map(io),
    outputs: g.outputs.map(io),
    weights: weightChannels(copy),
  };
}
