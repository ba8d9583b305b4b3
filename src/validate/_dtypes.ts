/**
 * Element types of values: recorded types first, else inferred from the
 * producer. Validation must tell float data from shape/index tensors in
 * models that carry no value info (normalize skips shape recording).
 *
 * @module
 */
import { type DType, dtypeFromOnnx } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";

const INT64_OUT = new Set(["Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression"]);
const BOOL_OUT = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not", "Xor", "IsNaN", "IsInf"]);
const FLOATS = new Set<DType>(["float32", "float16", "bfloat16", "float64"]);

/** Whether `dt` is a floating-point type. */
export function isFloatType(dt: DType | undefined): boolean {
  return dt !== undefined && FLOATS.has(dt);
}

/** A function giving each value's dtype, or `undefined` when it cannot be told. */
export function dtypeResolver(graph: Graph, constantOf: (v: string) => { dtype: DType } | undefined): (value: string) => DType | undefined {
  const memo = new Map<string, DType | undefined>();
  const resolve = (v: string): DType | undefined => {
    if (!v) return undefined;
    if (memo.has(v)) return memo.get(v);
    memo.set(v, undefined); // a cycle resolves to "unknown" instead of recursing forever
    const dt = constantOf(v)?.dtype ?? graph.info(v)?.dtype ?? fromProducer(graph.producer(v), v, resolve);
    memo.set(v, dt);
    return dt;
  };
  return resolve;
}

function fromProducer(p: Node | undefined, v: string, resolve: (v: string) => DType | undefined): DType | undefined {
  if (!p || (p.domain !== "" && p.domain !== "ai.onnx")) return undefined;
  const k = p.outputs.indexOf(v);
  if (INT64_OUT.has(p.opType) || (p.opType === "TopK" && k === 1)) return "int64";
  if (BOOL_OUT.has(p.opType)) return "bool";
  switch (p.opType) {
    case "Cast":
      return dtypeFromOnnx(p.attrInt("to", 0));
    case "CastLike":
      return resolve(p.inputs[1]);
    case "DequantizeLinear":
      return "float32";
    case "QuantizeLinear": {
      const code = p.attrInt("output_dtype", 0);
      return (code ? dtypeFromOnnx(code) : undefined) ?? resolve(p.inputs[2] ?? "") ?? "uint8";
    }
    case "ConstantOfShape":
      return p.attrTensor("value")?.dtype ?? "float32";
    case "Where":
      return resolve(p.inputs[1]);
  }
  for (const i of p.inputs) {
    const d = resolve(i);
    if (d) return d;
  }
  return undefined;
}
