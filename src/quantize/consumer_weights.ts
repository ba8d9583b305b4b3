/**
 * Per-channel weights for a value's range: how much an error in each of its
 * channels grows in the output of the linear ops that read it.
 *
 * An MSE range balances rounding against clipping as if every element
 * mattered alike. When a Conv, ConvTranspose, MatMul or Gemm reads the
 * value, an error e in input channel c reaches its output scaled by that
 * channel's weights: with errors independent across elements, the output's
 * expected squared error is Σ_c E[e_c²] · ‖W_c‖², ‖W_c‖² the sum of squares
 * of every weight that multiplies channel c. Counting each element of the
 * value's histogram by its channel's ‖W_c‖² makes the MSE search minimize
 * that instead, so a range may clip a wide channel the consumer hardly
 * uses and must keep one it leans on.
 *
 * @module
 */
import type { ChannelWeights } from "../calibrate/histogram.ts";
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";

/**
 * The channel weights of `value` when every op that reads it is linear in it
 * with constant weights (Conv, ConvTranspose, MatMul with a 2-D weight, Gemm
 * without transA), reads it as its data input, and agrees on its channel
 * count and layout; the weights are ‖W_c‖² summed over the consumers,
 * scaled to a mean of 1. A Conv's input of no static shape leaves `inner`
 * out (calibration reads the runs' length from the running shapes).
 * Undefined otherwise, and when the value is a graph output (its own error
 * is seen) or every weight is 0.
 *
 * @example
 * ```ts
 * // x [1, 2, 4, 4] read by a 1×1 Conv whose weights are 3 on channel 0 and 1 on channel 1
 * consumerWeights(g, "x"); // { inner: 16, weights: [1.8, 0.2] }
 * ```
 */
export function consumerWeights(g: Graph, value: string): ChannelWeights | undefined {
  const readers = g.consumers(value);
  if (readers.length === 0 || g.isOutput(value)) return undefined;
  let sum: Float64Array | undefined, inner: number | undefined;
  for (const n of readers) {
    const w = linearWeights(g, n, value);
    if (!w || (sum && (w.energy.length !== sum.length || w.inner !== inner))) return undefined;
    if (sum) for (let c = 0; c < sum.length; c++) sum[c] += w.energy[c];
    else [sum, inner] = [w.energy, w.inner];
  }
  const total = sum!.reduce((a, b) => a + b, 0);
  if (!(total > 0) || !Number.isFinite(total)) return undefined;
  const scale = sum!.length / total;
  return { ...(inner !== undefined && { inner }), weights: Array.from(sum!, (e) => e * scale) };
}

/** ‖W_c‖² per input channel of a linear consumer `n` of `value`, and the length of a channel's run. */
function linearWeights(g: Graph, n: Node, value: string): { energy: Float64Array; inner?: number } | undefined {
  if (n.inputs[0] !== value || n.inputs.slice(1).includes(value)) return undefined;
  const W = g.constant(n.inputs[1] ?? "");
  if (!W || W.dtype !== "float32") return undefined;
  const w = W.toFloat32();
  switch (n.opType) {
    case "Conv":
    case "ConvTranspose": {
      // Without a static shape the channel runs' length is read as calibration runs (inner absent).
      const dims = staticShape(g, value);
      if (dims && dims.length !== W.dims.length) return undefined;
      const G = n.attrInt("group", 1);
      const C = dims ? dims[1] : n.opType === "Conv" ? W.dims[1] * G : W.dims[0];
      const inner = dims?.slice(2).reduce((a, b) => a * b, 1);
      const energy = new Float64Array(C);
      if (n.opType === "Conv") {
        // W [M, C/G, k…]: output channel m reads input channels of its group.
        const [M, Cg] = W.dims, k = w.length / (M * Cg), Mg = M / G;
        if (Cg * G !== C || !Number.isInteger(Mg)) return undefined;
        for (let m = 0; m < M; m++) {
          const base = Math.floor(m / Mg) * Cg;
          for (let c = 0; c < Cg; c++) {
            let s = 0;
            for (let j = (m * Cg + c) * k, end = j + k; j < end; j++) s += w[j] * w[j];
            energy[base + c] += s;
          }
        }
      } else {
        // W [C, M/G, k…]: input channel c's weights are its own slab.
        if (W.dims[0] !== C) return undefined;
        const per = w.length / C;
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let j = c * per, end = j + per; j < end; j++) s += w[j] * w[j];
          energy[c] = s;
        }
      }
      return { energy, inner };
    }
    case "MatMul":
    case "Gemm": {
      if (W.dims.length !== 2 || (n.opType === "Gemm" && n.attrInt("transA", 0) !== 0)) return undefined;
      // The contracted axis is the data input's last: Σ over W's row (MatMul, Gemm) or column (transB).
      const transposed = n.opType === "Gemm" && n.attrInt("transB", 0) !== 0;
      const [R, S] = W.dims, K = transposed ? S : R;
      const energy = new Float64Array(K);
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) energy[transposed ? s : r] += w[r * S + s] * w[r * S + s];
      }
      return { energy, inner: 1 };
    }
    default:
      return undefined;
  }
}

// Ops whose output has the shape of their first input when the others are constants no larger than it.
const SAME_SHAPE = new Set(["Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu", "PRelu", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Identity"]);

/**
 * `value`'s static shape: from the graph's value info, or (for values a pass
 * added, e.g. a shift before a padded Conv) from the input of the
 * element-wise op with constant operands that made it.
 */
function staticShape(g: Graph, value: string): number[] | undefined {
  const operands: (readonly number[])[] = [];
  for (let v = value, hops = 0; hops < 8; hops++) {
    const dims = g.info(v)?.shape;
    if (dims) {
      if (!dims.every((d) => typeof d === "number" && d > 0)) return undefined;
      const shape = dims as number[];
      // Each constant must broadcast into the shape without growing it.
      const fits = (c: readonly number[]) => c.length <= shape.length && c.every((d, i) => d === 1 || d === shape[shape.length - c.length + i]);
      return operands.every(fits) ? shape : undefined;
    }
    const p = g.producer(v);
    if (!p || !SAME_SHAPE.has(p.opType)) return undefined;
    for (const t of p.inputs.slice(1)) {
      if (!t) continue;
      const c = g.constant(t);
      if (!c) return undefined;
      operands.push(c.dims);
    }
    v = p.inputs[0];
  }
  return undefined;
}
