/**
 * A model: one graph plus the opsets it is read against and its metadata.
 *
 * @module
 */
import { Graph } from "./graph.ts";

/**
 * An ONNX model as plain data.
 *
 * @example
 * ```ts
 * const m = new Model(new Graph("g"), { opsets: new Map([["", 13]]) });
 * m.opset(); // 13
 * ```
 */
export class Model {
  graph: Graph;
  irVersion: number;
  /** Opset version by domain (`""` is the default ONNX domain). */
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  /** Metadata key/value pairs, in file order. */
  metadata: Map<string, string>;
  /** What the file had that the IR does not model; writers copy it back. */
  carry: unknown;

  constructor(graph: Graph, init: Partial<Omit<Model, "graph" | "opset">> = {}) {
    this.graph = graph;
    this.irVersion = init.irVersion ?? 8;
    this.opsets = init.opsets ?? new Map([["", 13]]);
    this.producerName = init.producerName ?? "";
    this.producerVersion = init.producerVersion ?? "";
    this.domain = init.domain ?? "";
    this.modelVersion = init.modelVersion ?? 0;
    this.docString = init.docString ?? "";
    this.metadata = init.metadata ?? new Map();
    this.carry = init.carry;
  }

  /** The opset version imported for `domain` (`""` and `"ai.onnx"` are the same), or 0. */
  opset(domain = ""): number {
    if (domain === "" || domain === "ai.onnx") return this.opsets.get("") ?? this.opsets.get("ai.onnx") ?? 0;
    return this.opsets.get(domain) ?? 0;
  }
}
