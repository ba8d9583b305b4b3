/**
 * Element types edgeq understands, named as ONNX Runtime's JavaScript API
 * names them, with their ONNX `TensorProto.DataType` codes and byte sizes.
 *
 * @module
 */

/** An element type of a tensor. */
export type DType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string";

/** ONNX `TensorProto.DataType` code of each dtype. */
export const ONNX_DTYPE_CODE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};

const BY_CODE = new Map<number, DType>(
  Object.entries(ONNX_DTYPE_CODE).map(([k, v]) => [v, k as DType]),
);

/**
 * The dtype for an ONNX data-type code, or `undefined` for codes edgeq does
 * not handle (complex, float8, int4 and the like).
 *
 * @example
 * ```ts
 * dtypeFromOnnx(1); // "float32"
 * ```
 */
export function dtypeFromOnnx(code: number): DType | undefined {
  return BY_CODE.get(code);
}

/** Bytes per element; `string` has no fixed size and reports 0. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
  string: 0,
};
