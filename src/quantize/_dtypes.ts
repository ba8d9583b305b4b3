/**
 * Element types of values, from the graph's recorded types or, where a value
 * has none, from its producer. The planner must never put a
 * QuantizeLinear on a value that is not float32.
 *
 * @module
 */
import { type DType, dtypeFromOnnx } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import type { Attribute } from "../ir/node.ts";

const INT64_OUT = new Set(["Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression"]);
const BOOL_OUT = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not", "Xor", "IsNaN", "IsInf"]);

/** A function giving each value's dtype, or `undefined` when it cannot be told. */
export function dtypeResolver(graph: Graph): (value: string) => DType | undefined {
  const memo = new Map<string, DType | undefined>();
  const resolve = (v: string, depth: number): DType | undefined => {
    if (!v) return undefined;
    if (memo.has(v)) return memo.get(v);
    let dt = graph.info(v)?.dtype;
    const p = dt ? undefined : graph.producer(v);
    if (p && depth < 10_000) {
      const k = p.outputs.indexOf(v);
      if (p.domain !== "" && p.domain !== "ai.onnx") dt = undefined;
      else if (INT64_OUT.has(p.opType) || (p.opType === "TopK" && k === 1)) dt = "int64";
      else if (BOOL_OUT.has(p.opType)) dt = "bool";
      else if (p.opType === "Cast") dt = dtypeFromOnnx(p.attrInt("to", 0));
      else if (p.opType === "CastLike") dt = resolve(p.inputs[1], depth + 1);
      else if (p.opType === "DequantizeLinear") dt = "float32";
      else if (p.opType === "QuantizeLinear") dt = resolve(p.inputs[2], depth + 1) ?? "uint8";
      else if (p.opType === "Constant") dt = p.attrTensor("value")?.dtype ?? (p.attrs.has("value_float") ? "float32" : undefined);
      else if (p.opType === "ConstantOfShape") dt = p.attrTensor("value")?.dtype ?? "float32";
      else if (p.opType === "Where") dt = resolve(p.inputs[1], depth + 1);
      else if (p.opType === "If") dt = branchOutputType(p.attrs.get("then_branch"), k) ?? branchOutputType(p.attrs.get("else_branch"), k);
      else if (p.opType === "Loop" || p.opType === "Scan") dt = undefined;
      else dt = firstKnown(p.inputs, (i) => resolve(i, depth + 1));
    }
    memo.set(v, dt);
    return dt;
  };
  return (v) => resolve(v, 0);
}

/** The declared (or, from its own producers, inferred) type of output `k` of an If branch. */
function branchOutputType(a: Attribute | undefined, k: number): DType | undefined {
  if (a?.type !== "graph") return undefined;
  const o = a.value.outputs[k];
  return o ? o.dtype ?? dtypeResolver(a.value)(o.name) : undefined;
}

function firstKnown(inputs: readonly string[], f: (v: string) => DType | undefined): DType | undefined {
  for (const i of inputs) {
    const d = f(i);
    if (d) return d;
  }
  return undefined;
}
