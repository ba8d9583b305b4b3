/**
 * Constant tensors for the opset converters: reading a value that is an
 * initializer or a Constant node's output, and building small new ones.
 *
 * @module
 */
import type { DType } from "../../ir/dtype.ts";
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import { Tensor, type TypedArray } from "../../ir/tensor.ts";

/**
 * The tensor behind `value`: an initializer, or the value of the Constant
 * node computing it. The constants→initializers pass may not have run yet.
 */
export function readConstant(graph: Graph, value: string): Tensor | undefined {
  if (!value) return undefined;
  const init = graph.initializers.get(value);
  if (init) return init;
  const p = graph.producer(value);
  if (!p || p.opType !== "Constant" || (p.domain !== "" && p.domain !== "ai.onnx")) return undefined;
  return constantNodeValue(p);
}

/** The tensor a Constant node produces, whichever `value*` attribute holds it. */
export function constantNodeValue(n: Node): Tensor | undefined {
  const name = n.outputs[0] ?? "";
  for (const [key, a] of n.attrs) {
    if (key === "value" && a.type === "tensor") return a.value;
    if (key === "value_float" && a.type === "float") return tensorOf(name, "float32", [], [a.value]);
    if (key === "value_floats" && a.type === "floats") return tensorOf(name, "float32", [a.value.length], a.value);
    if (key === "value_int" && a.type === "int") return tensorOf(name, "int64", [], [a.value]);
    if (key === "value_ints" && a.type === "ints") return tensorOf(name, "int64", [a.value.length], a.value);
  }
  return undefined;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * A number as int64. Attributes keep int64 as doubles, so INT64_MAX (a
 * common Slice `ends`) arrives as 2^63, which BigInt would overflow: saturate.
 */
export function toInt64(x: number): bigint {
  if (x >= 9223372036854775807) return INT64_MAX;
  if (x <= -9223372036854775808) return INT64_MIN;
  return BigInt(Math.trunc(x));
}

/** A tensor of `dtype` holding `values` (numbers are converted, ints truncated). */
export function tensorOf(name: string, dtype: DType, dims: readonly number[], values: readonly number[]): Tensor {
  return Tensor.fromArray(name, dims, typedArrayOf(dtype, values), dtype);
}

function typedArrayOf(dtype: DType, v: readonly number[]): TypedArray {
  switch (dtype) {
    case "float32":
      return Float32Array.from(v);
    case "float64":
      return Float64Array.from(v);
    case "float16":
      return Uint16Array.from(v, float32ToFloat16);
    case "bfloat16":
      return Uint16Array.from(v, (x) => new Uint32Array(Float32Array.of(x).buffer)[0] >>> 16);
    case "int8":
      return Int8Array.from(v);
    case "uint8":
    case "bool":
      return Uint8Array.from(v);
    case "int16":
      return Int16Array.from(v);
    case "uint16":
      return Uint16Array.from(v);
    case "int32":
      return Int32Array.from(v);
    case "uint32":
      return Uint32Array.from(v);
    case "int64":
      return BigInt64Array.from(v, toInt64);
    case "uint64":
      return BigUint64Array.from(v, (x) => BigInt(Math.max(0, Math.trunc(x))));
    case "string":
      throw new TypeError("Cannot build a numeric tensor of dtype string");
  }
}

/** IEEE float32 → float16 bits, rounding to nearest even. */
function float32ToFloat16(x: number): number {
  const u = new Uint32Array(Float32Array.of(x).buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const e32 = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (e32 === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = e32 - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let base = exp << 10;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    shift = 14 - exp;
    base = 0;
  }
  let h = base + (mant >>> shift);
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1))) h++;
  return sign | h;
}
