/**
 * What every rule reads: the model, the profile, and facts computed once —
 * dtypes, constants (initializers and Constant nodes), shapes, the
 * quantized tensors and the nodes that compute on data.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { CycleError, type Dim, type Graph, topologicalOrder } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import type { TargetProfile } from "../targets/types.ts";
import { dtypeResolver, isFloatType } from "./_dtypes.ts";
import { METADATA_OPS, QDQ_OPS } from "./_ops.ts";
import { type QuantizedTensor, quantizedTensors } from "./_qdq.ts";

export type { QuantizedTensor, QuantRole } from "./_qdq.ts";

/** Everything a rule may look at; built once per validation. */
export interface RuleContext {
  readonly model: Model;
  readonly graph: Graph;
  readonly profile: TargetProfile;
  /** Nodes in topological order (file order when the graph has a cycle). */
  readonly nodes: readonly Node[];
  /** Nodes that compute on data: not Q/DQ, not Constant, not shape-only. */
  readonly dataNodes: readonly Node[];
  /** Quantized tensors, each once (a Q with its DQs, or a constant's DQ). */
  readonly quantized: readonly QuantizedTensor[];
  /** Element type of a value, recorded or inferred. */
  dtype(value: string): DType | undefined;
  /** Whether a value holds floating-point data. */
  isFloat(value: string): boolean;
  /** The constant behind a value: an initializer or a Constant node's tensor. */
  constant(value: string): Tensor | undefined;
  /** The constant a value is, directly or through one DequantizeLinear (weights as stored). */
  constantThroughDq(value: string): Tensor | undefined;
  /** Shape of a value: a constant's dims or a recorded shape (through Q/DQ); `undefined` when unknown. */
  shape(value: string): Dim[] | undefined;
}

/** Builds the context of one validation. */
export function ruleContext(model: Model, profile: TargetProfile): RuleContext {
  const graph = model.graph;
  let nodes: readonly Node[];
  try {
    nodes = topologicalOrder(graph);
  } catch (e) {
    if (!(e instanceof CycleError)) throw e;
    nodes = graph.nodes;
  }
  const constant = (v: string): Tensor | undefined => {
    if (!v) return undefined;
    const t = graph.constant(v);
    if (t) return t;
    const p = graph.producer(v);
    return p?.opType === "Constant" ? constantNodeTensor(p) : undefined;
  };
  const dtype = dtypeResolver(graph, constant);
  const isFloat = (v: string) => isFloatType(dtype(v));
  const ctx: RuleContext = {
    model,
    graph,
    profile,
    nodes,
    dataNodes: nodes.filter((n) => isDataNode(n, constant, dtype)),
    quantized: quantizedTensors(nodes, { graph, constant, dtype }),
    dtype,
    isFloat,
    constant,
    constantThroughDq: (v) => {
      const p = graph.producer(v);
      return constant(v) ?? (p?.opType === "DequantizeLinear" ? constant(p.inputs[0]) : undefined);
    },
    shape: function shape(v: string): Dim[] | undefined {
      const t = constant(v);
      if (t) return [...t.dims];
      const known = graph.info(v)?.shape;
      if (known) return known;
      // Q and DQ keep their input's shape.
      const p = graph.producer(v);
      return p && QDQ_OPS.has(p.opType) ? shape(p.inputs[0]) : undefined;
    },
  };
  return ctx;
}

/**
 * A node computes on data when it is not a quantization boundary, not a
 * constant, and some non-constant input or output holds float or small
 * integer data (or has an unknown type). Shape arithmetic on int64 tensors
 * folds to constants on static-shape targets and runs on the host elsewhere.
 */
function isDataNode(n: Node, constant: (v: string) => Tensor | undefined, dtype: (v: string) => DType | undefined): boolean {
  if (QDQ_OPS.has(n.opType) || n.opType === "Constant" || METADATA_OPS.has(n.opType)) return false;
  const values = [...n.inputs.filter((v) => v && !constant(v)), ...n.outputs.filter(Boolean)];
  return values.some((v) => {
    const dt = dtype(v);
    return dt === undefined || !INDEX_TYPES.has(dt);
  });
}

const INDEX_TYPES = new Set<DType>(["int32", "int64", "uint32", "uint64", "bool", "string"]);

/** The tensor of a Constant node (`value`, or the scalar/list shorthands). */
function constantNodeTensor(n: Node): Tensor | undefined {
  const t = n.attrTensor("value");
  if (t) return t;
  const name = n.outputs[0];
  const f = n.attrs.get("value_float"), fs = n.attrs.get("value_floats");
  const i = n.attrs.get("value_int"), is = n.attrs.get("value_ints");
  if (f?.type === "float") return Tensor.fromArray(name, [], new Float32Array([f.value]));
  if (fs?.type === "floats") return Tensor.fromArray(name, [fs.value.length], new Float32Array(fs.value));
  if (i?.type === "int") return Tensor.fromArray(name, [], new BigInt64Array([BigInt(i.value)]));
  if (is?.type === "ints") return Tensor.fromArray(name, [is.value.length], BigInt64Array.from(is.value.map(BigInt)));
  return undefined;
}
