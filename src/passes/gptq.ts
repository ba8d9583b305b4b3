/**
 * The `gptq` pass: optimal weight rounding. Rounding every weight to its
 * nearest integer minimizes each weight's own error, not the layer's output
 * error; GPTQ (Frantar et al. 2022, after Optimal Brain Quantization)
 * rounds a layer's input columns one at a time and spreads each column's
 * rounding error over the columns not yet rounded, weighted by the inputs'
 * second moments H = Σ x·xᵀ, so the output W·x moves as little as it can:
 *
 *     for each column i (largest H_ii first):
 *       q_i = round(w_i / s) · s                  (per output row, its scale s)
 *       e   = (w_i − q_i) / U_ii
 *       w_j −= e · U_ij   for the columns j after i
 *
 * with U the upper Cholesky factor of H⁻¹ (H damped by 1 % of its mean
 * diagonal). Closed form, one layer at a time, from one extra pass over
 * the calibration data that sums H inside ONNX Runtime (`collectGrams`).
 * Conv (plain, grouped, depthwise: one H per group, im2col columns), Gemm
 * and MatMul with a constant weight; the scales are the quantizer's own
 * (per channel or per tensor, power-of-two, bias-guard floors), pinned so
 * QDQ insertion finds the same integers. A layer keeps round-to-nearest
 * where GPTQ would not lower its output error on the calibration inputs.
 *
 * Where it matters: per-tensor weights, whose small channels round
 * coarsely, and integer-only targets that cannot keep a layer in float.
 *
 * @module
 */
import type { GramRequest } from "../calibrate/gram.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { type Linear, linearOf, setInput } from "./_linear.ts";
import type { Pass, PassContext, PassReport } from "./types.ts";

/** One layer GPTQ may round: its linear view, Gram request and weight layout. */
interface Layer {
  linear: Linear;
  request: GramRequest;
  /** Output rows per group, the group's input columns, groups. */
  rows: number;
  cols: number;
  groups: number;
  /** Column blocks per group, each with its own diagonal block of H (see {@linkcode MAX_BLOCK}). */
  blocks: number;
  /** Flat weight index of (output row o, column k of its group). */
  index: (o: number, k: number) => number;
}

/**
 * Most columns one factorization takes. A K-column layer costs ≈ K³/2
 * multiply-adds in JavaScript and its H K² numbers a sample from ONNX
 * Runtime: the recognizer's neck Conv (K = 2880) took 5.6 s and 33 MB a
 * sample whole. Wider layers are rounded in blocks of whole input channels,
 * each against its own diagonal block of H: an error is spread within its
 * block only, which is the approximation.
 */
const MAX_BLOCK = 1024;

/** The fewest blocks of whole channels (a divisor of `channels`) that keep `perChannel`-column blocks within {@linkcode MAX_BLOCK}. */
function blocksFor(channels: number, perChannel: number): number {
  for (let b = 1; b <= channels; b++) if (channels % b === 0 && (channels / b) * perChannel <= MAX_BLOCK) return b;
  return channels;
}

function layerOf(model: Model, node: Node): Layer | undefined {
  const g = model.graph;
  const l = linearOf(g, node);
  if (!l) return undefined;
  const w = g.constant(node.inputs[1])!;
  const dtype = g.info(node.inputs[0])?.dtype;
  if (dtype !== undefined && dtype !== "float32") return undefined;
  if (l.kind === "conv") {
    if (w.dims.length !== 4) return undefined;
    const [o, cg, kh, kw] = w.dims;
    const cols = cg * kh * kw, blocks = blocksFor(cg, kh * kw);
    return {
      linear: l,
      request: {
        kind: "conv",
        value: node.inputs[0],
        channels: cg * l.group,
        group: l.group * blocks,
        kernel: [kh, kw],
        strides: node.attrInts("strides", [1, 1]),
        pads: node.attrInts("pads", [0, 0, 0, 0]),
        dilations: node.attrInts("dilations", [1, 1]),
        autoPad: node.attrString("auto_pad", "NOTSET"),
      },
      rows: o / l.group,
      cols,
      groups: l.group,
      blocks,
      index: (r, k) => r * cols + k,
    };
  }
  const transB = l.kind === "gemm" && node.attrInt("transB", 0) === 1;
  const outputs = l.outputs, cols = l.inputs, blocks = blocksFor(cols, 1);
  return {
    linear: l,
    request: { kind: "rows", value: node.inputs[0], columns: cols, blocks },
    rows: outputs,
    cols,
    groups: 1,
    blocks,
    index: transB ? (r, k) => r * cols + k : (r, k) => k * outputs + r,
  };
}

/** Dampings tried, as multiples of the `gptqDamp` setting: the one that rounds best on held-out inputs is used. */
const DAMP_STEPS = [1, 10, 100];

/** The `gptq` pass. */
export const gptq: Pass = {
  name: "gptq",
  stage: "calibrated",
  summary: "rounds each layer's weights column by column, spreading the rounding error where the inputs' second moments say it costs least (GPTQ)",
  async apply(model: Model, _stats, ctx: PassContext): Promise<PassReport> {
    if (!ctx.weights || !ctx.grams) throw new Error("internal: gptq needs the weight quantizer and the Gram collector");
    const g = model.graph;
    const layers: Layer[] = [];
    for (const n of g.nodes) {
      const l = layerOf(model, n);
      if (l && ctx.weights.quantized(n)) layers.push(l);
    }
    const t0 = performance.now();
    const grams = await ctx.grams(layers.map((l) => l.request));
    const tStats = performance.now() - t0;
    const base = ctx.settings.gptqDamp;
    const nodes: string[] = [];
    const kept: string[] = [];
    const thin: string[] = [];
    const rounded: { node: string; errorRatio: number; damp: number; columns: number; vectors: number }[] = [];
    let before = 0, after = 0;
    layers.forEach((layer, li) => {
      const node = layer.linear.node;
      const q = ctx.weights!.quantized(node)!;
      const w = g.constant(node.inputs[1])!.toFloat32();
      const h = grams[li];
      const R = layer.rows, K = h.columns;
      // Fewer input vectors than columns in a fold: its H is singular, and what GPTQ fits there is the calibration rows
      // (a 1536-input Gemm seeing one vector per sample: hey_mycroft lost up to 1.5 dB held out).
      if (Math.min(...h.counts) < K) {
        thin.push(node.label);
        return;
      }
      // One unit per (group, column block): its rows, its columns, its fit and check blocks of H.
      const units: { W: Float64Array; scales: Float64Array; fit: Float64Array; check: Float64Array; at: (r: number, k: number) => number }[] = [];
      for (let gi = 0; gi < layer.groups; gi++) {
        for (let b = 0; b < layer.blocks; b++) {
          const unit = gi * layer.blocks + b;
          const at = (r: number, k: number) => layer.index(gi * R + r, b * K + k);
          const W = new Float64Array(R * K);
          for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) W[r * K + k] = w[at(r, k)];
          const scales = Float64Array.from({ length: R }, (_, r) => q.scale[q.scale.length === 1 ? 0 : gi * R + r]);
          const part = (f: Float64Array) => f.subarray(unit * K * K, (unit + 1) * K * K);
          units.push({ W, scales, fit: part(h.folds[0]), check: part(h.folds[1] ?? h.folds[0]), at });
        }
      }
      // Held-out choice: fit on one half of the samples, measure the output error on the other.
      const rtnOf = (u: (typeof units)[number]) => u.W.map((x, i) => quantizeTo(x, u.scales[Math.floor(i / K)], q.range));
      const rtn = units.map(rtnOf);
      const errRtn = units.reduce((e, u, i) => e + outputError(u.W, rtn[i], u.check, R, K), 0);
      let best = { damp: 0, err: errRtn };
      for (const step of DAMP_STEPS) {
        const damp = base * step;
        if (damp >= 1) break;
        let err = 0;
        for (const u of units) {
          const Q = roundOptimally(u.W, u.fit, R, K, u.scales, q.range, damp);
          err += Q ? outputError(u.W, Q, u.check, R, K) : Infinity;
        }
        if (err < best.err) best = { damp, err };
      }
      before += errRtn;
      if (best.damp === 0) {
        kept.push(node.label);
        after += errRtn;
        return;
      }
      // The chosen damping, refitted on all the samples.
      const out = new Float32Array(w);
      for (const u of units) {
        const all = u.fit === u.check ? u.fit : u.fit.map((x, i) => x + u.check[i]);
        const Q = roundOptimally(u.W, all, R, K, u.scales, q.range, best.damp) ?? rtnOf(u);
        for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) out[u.at(r, k)] = Q[r * K + k];
      }
      after += best.err;
      setInput(g, node, 1, Tensor.fromArray(node.inputs[1], g.constant(node.inputs[1])!.dims, out));
      ctx.weights!.pin(node, q.scale);
      nodes.push(node.label);
      rounded.push({ node: node.label, errorRatio: best.err / errRtn, damp: best.damp, columns: layer.cols, vectors: h.counts.reduce((a, c) => a + c, 0) });
    });
    rounded.sort((a, b) => a.errorRatio - b.errorRatio);
    const ratio = before > 0 ? after / before : 1;
    return {
      pass: "gptq",
      params: { damp: base, samples: ctx.settings.gptqSamples },
      nodes,
      summary: `${nodes.length} layers rounded optimally: on held-out calibration inputs their output error is ${(100 * ratio).toFixed(0)}% of round-to-nearest's` +
        (kept.length ? `; ${kept.length} kept round-to-nearest (no gain there)` : "") +
        (thin.length ? `; ${thin.length} kept round-to-nearest (fewer calibration vectors than inputs)` : ""),
      details: { errorRatio: ratio, kept, thin, layers: rounded, statisticsMs: tStats },
      ms: performance.now() - t0 - tStats,
    };
  },
};

/** w rounded to the grid of scale s, clamped to the integer range, dequantized. */
function quantizeTo(w: number, s: number, range: { qmin: number; qmax: number }): number {
  const r = Math.round(w / s); // ties away from zero differ from half-even on exact halves only, which the error feedback moves off
  return (r < range.qmin ? range.qmin : r > range.qmax ? range.qmax : r) * s;
}

/** Σ_r (W_r − Q_r)·H·(W_r − Q_r)ᵀ: the output error Q makes on the inputs H summarizes. */
export function outputError(W: Float64Array, Q: Float64Array, H: ArrayLike<number>, R: number, K: number): number {
  let e = 0;
  const d = new Float64Array(K);
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < K; k++) d[k] = W[r * K + k] - Q[r * K + k];
    for (let i = 0; i < K; i++) {
      if (d[i] === 0) continue;
      let s = 0;
      for (let j = 0; j < K; j++) s += H[i * K + j] * d[j];
      e += d[i] * s;
    }
  }
  return e;
}

/**
 * GPTQ on one weight matrix W (R rows × K columns, row-major) with input
 * second moments H (K × K): the dequantized rounded matrix, each row on its
 * own grid `scales[r]`; `undefined` when H cannot be factored even damped.
 * Columns are rounded in order of decreasing H_ii (act order); a column
 * whose input was always zero (H_ii = 0) rounds to nearest.
 */
export function roundOptimally(
  W0: Float64Array,
  H0: ArrayLike<number>,
  R: number,
  K: number,
  scales: Float64Array,
  range: { qmin: number; qmax: number },
  damp = 0.01,
): Float64Array | undefined {
  // Act order: the columns whose inputs carry the most energy first.
  const diag = Array.from({ length: K }, (_, k) => H0[k * K + k]);
  const perm = Array.from({ length: K }, (_, k) => k).sort((a, b) => diag[b] - diag[a]);
  const H = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) H[i * K + j] = H0[perm[i] * K + perm[j]];
  let mean = 0;
  for (let i = 0; i < K; i++) mean += H[i * K + i];
  mean /= K;
  if (!(mean > 0)) return undefined;
  for (let i = 0; i < K; i++) if (H[i * K + i] === 0) H[i * K + i] = mean;
  let U: Float64Array | undefined;
  for (let d = damp; d <= 1 && !U; d *= 10) {
    const Hd = H.slice();
    for (let i = 0; i < K; i++) Hd[i * K + i] += d * mean;
    U = inverseCholeskyUpper(Hd, K);
  }
  if (!U) return undefined;
  const W = new Float64Array(R * K);
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) W[r * K + k] = W0[r * K + perm[k]];
  const Q = new Float64Array(R * K);
  for (let i = 0; i < K; i++) {
    const uii = U[i * K + i];
    for (let r = 0; r < R; r++) {
      const row = r * K;
      const w = W[row + i];
      const q = quantizeTo(w, scales[r], range);
      Q[row + i] = q;
      const e = (w - q) / uii;
      if (e === 0) continue;
      for (let j = i + 1; j < K; j++) W[row + j] -= e * U[i * K + j];
    }
  }
  const out = new Float64Array(R * K);
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) out[r * K + perm[k]] = Q[r * K + k];
  return out;
}

/**
 * The upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ·U) for a symmetric positive
 * definite H (K × K, row-major), or `undefined` when H is not positive
 * definite in float64. With J the order-reversing permutation and
 * J·H·J = M·Mᵀ (M lower), H = V·Vᵀ for the upper V = J·M·J, so
 * H⁻¹ = V⁻ᵀ·V⁻¹ and U = V⁻¹ = J·M⁻¹·J: one factorization and one
 * triangular inverse (≈ K³/2 multiply-adds), no explicit H⁻¹.
 */
export function inverseCholeskyUpper(H: Float64Array, K: number): Float64Array | undefined {
  const P = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) P[i * K + j] = H[(K - 1 - i) * K + (K - 1 - j)];
  const M = cholesky(P, K);
  if (!M) return undefined;
  // X = M⁻¹, lower triangular, row by row: X_i = (e_i − Σ_{k<i} M_ik·X_k) / M_ii (contiguous rows).
  const X = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    const xi = i * K;
    for (let k = 0; k < i; k++) {
      const m = M[xi + k];
      if (m === 0) continue;
      const xk = k * K;
      for (let j = 0; j <= k; j++) X[xi + j] -= m * X[xk + j];
    }
    X[xi + i] += 1;
    const d = 1 / M[xi + i];
    for (let j = 0; j <= i; j++) X[xi + j] *= d;
  }
  const U = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) U[(K - 1 - i) * K + (K - 1 - j)] = X[i * K + j];
  return U;
}

/** Lower Cholesky factor of a symmetric positive definite matrix, or `undefined`. */
function cholesky(A: Float64Array, K: number): Float64Array | undefined {
  const L = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    const li = i * K;
    for (let j = 0; j <= i; j++) {
      const lj = j * K;
      let s = A[li + j];
      for (let k = 0; k < j; k++) s -= L[li + k] * L[lj + k];
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[li + i] = Math.sqrt(s);
      } else L[li + j] = s / L[lj + j];
    }
  }
  return L;
}
