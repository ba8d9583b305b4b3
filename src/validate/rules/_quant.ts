/**
 * Integer ranges and zero points of quantized types, for the rules.
 *
 * @module
 */
import type { DType } from "../../ir/dtype.ts";
import type { Tensor } from "../../ir/tensor.ts";

/** Range of each integer type a quantized tensor may use. */
export const INT_RANGE: Readonly<Partial<Record<DType, [number, number]>>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
};

/** The zero point that makes a type symmetric: 0 for signed types, the middle for unsigned ones. */
export function symmetricZeroPoint(dt: DType | undefined): number {
  return dt === "uint8" ? 128 : dt === "uint16" ? 32768 : 0;
}

/** Zero point values (a missing zero point is 0). */
export function zeroPoints(t: Tensor | undefined): number[] {
  return t ? t.toNumbers() : [0];
}

/** Indices of the elements for which `bad` holds. */
export function indicesWhere(values: ArrayLike<number>, bad: (x: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (bad(values[i])) out.push(i);
  return out;
}
