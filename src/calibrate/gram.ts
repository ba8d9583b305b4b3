/**
 * Second moments of layer inputs: for a linear layer y = W·x, the Gram
 * matrix H = Σ x·xᵀ of the inputs each output row sees (the im2col columns
 * of a Conv, the rows of a MatMul's or Gemm's input), summed over the
 * calibration samples. What optimal weight rounding (GPTQ) minimizes
 * against: ‖(W − Q)·X‖² = tr((W − Q)·H·(W − Q)ᵀ).
 *
 * Computed inside ONNX Runtime, one session, one run per sample: a Conv's
 * input is unfolded by a grouped Conv with one-hot kernels (same strides,
 * pads and dilations as the layer: its output channels are the layer's
 * im2col columns, c·k + kernel position), reshaped to one [columns,
 * positions] matrix per group, and multiplied by its own transpose; only the
 * groups' K×K sums cross into JavaScript (the activations never do).
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { InputError } from "../errors.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { Node, type NodeInit } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";
import { DEFAULT_RUNTIME, getRuntime } from "../runtime/mod.ts";
import type { Runtime, TensorValue } from "../runtime/types.ts";

/** The layer whose input's Gram matrix is wanted. */
export type GramRequest =
  | {
    kind: "conv";
    /** The Conv's data input (4-D, NCHW). */
    value: string;
    /**
     * Input channels, and the groups H is computed for: the Conv's groups,
     * or a multiple of them that splits each group's channels into equal
     * blocks (H's diagonal blocks only).
     */
    channels: number;
    group: number;
    kernel: readonly [number, number];
    strides?: readonly number[];
    pads?: readonly number[];
    dilations?: readonly number[];
    autoPad?: string;
  }
  | {
    kind: "rows";
    /** A MatMul's or Gemm's data input: every row of its last axis is one input vector. */
    value: string;
    /** Length of the last axis. */
    columns: number;
    /** Equal consecutive column blocks H is computed for (its diagonal blocks only). @default 1 */
    blocks?: number;
  };

/**
 * Summed Gram matrices of one request: `groups` row-major K×K blocks,
 * K = {@linkcode gramColumns}, summed separately over each fold of the
 * samples (sample i in fold i mod folds), so a caller can fit on one and
 * check on another.
 */
export interface Gram {
  groups: number;
  columns: number;
  /** Per fold: groups · K · K sums, group after group. */
  folds: Float64Array[];
  /** Per fold: input vectors summed (positions × samples). */
  counts: number[];
}

/** Columns per group of a request: (C / group) · kh · kw, or the row length over its blocks. */
export function gramColumns(r: GramRequest): number {
  return r.kind === "rows" ? r.columns / (r.blocks ?? 1) : (r.channels / r.group) * r.kernel[0] * r.kernel[1];
}

/** Groups of a request's Gram: the conv request's groups, or a rows request's blocks. */
function gramGroups(r: GramRequest): number {
  return r.kind === "rows" ? r.blocks ?? 1 : r.group;
}

/**
 * Runs the first `samples` samples of `data` through a copy of `model` that
 * outputs the Gram matrix of each request's input, and returns their sums,
 * one per request, in order.
 *
 * @example
 * ```ts
 * const [h] = await collectGrams(model, calib, [{ kind: "rows", value: "fc_in", columns: 64 }], 32);
 * h.folds[0].length; // 64 * 64
 * ```
 */
export async function collectGrams(
  model: Model,
  data: Dataset,
  requests: readonly GramRequest[],
  samples: number,
  opts: { folds?: number; runtime?: Runtime; onProgress?: (done: number, total: number) => void } = {},
): Promise<Gram[]> {
  const folds = opts.folds ?? 1;
  const out = requests.map((r): Gram => {
    const k = gramColumns(r), groups = gramGroups(r);
    return { groups, columns: k, folds: Array.from({ length: folds }, () => new Float64Array(groups * k * k)), counts: new Array<number>(folds).fill(0) };
  });
  if (requests.length === 0) return out;
  const { bytes, outputs, counts } = gramModel(model, requests);
  const rt = opts.runtime ?? (await getRuntime(DEFAULT_RUNTIME));
  const session = await rt.createSession(bytes, { graphOptimizationLevel: "basic" });
  const g = model.graph;
  const feedNames = g.inputs.filter((v) => !g.initializers.has(v.name)).map((v) => v.name);
  const n = Math.min(samples, data.size);
  try {
    for (let i = 0; i < n; i++) {
      const sample = await data.get(i);
      const feeds: Record<string, TensorValue> = {};
      for (const name of feedNames) {
        const t = sample[name];
        if (!t) throw new InputError(`Calibration sample "${data.id(i)}" has no input "${name}"`);
        feeds[name] = t;
      }
      const r = await session.run(feeds, [...outputs, ...counts]);
      const f = i % folds;
      requests.forEach((_, k) => {
        const s = r[outputs[k]].data as Float32Array, acc = out[k].folds[f];
        for (let j = 0; j < acc.length; j++) acc[j] += s[j];
        out[k].counts[f] += Number((r[counts[k]].data as BigInt64Array)[0]);
      });
      opts.onProgress?.(i + 1, n);
    }
  } finally {
    await session.release();
  }
  return out;
}

/** The copy of `model` with one flat Gram output and one int64 count output per request. */
function gramModel(model: Model, requests: readonly GramRequest[]): { bytes: Uint8Array; outputs: string[]; counts: string[] } {
  const copy = cloneModel(model);
  const g = copy.graph;
  const base = g.uniqueName("edgeq_gram");
  const added: Node[] = [];
  const ints = (name: string, xs: readonly number[]) => {
    g.addInitializer(Tensor.fromArray(name, [xs.length], BigInt64Array.from(xs, BigInt)));
    return name;
  };
  const flat = ints(`${base}.flat`, [-1]);
  const outputs: string[] = [], counts: string[] = [];
  requests.forEach((r, k) => {
    const p = `${base}.${k}`;
    const add = (opType: string, name: string, inputs: string[], attrs?: NodeInit["attrs"]) => {
      added.push(new Node({ opType, name: `${p}.${name}`, inputs, outputs: [`${p}.${name}`], attrs }));
      return `${p}.${name}`;
    };
    const cols = gramColumns(r);
    let m: string; // [groups, K, vectors]
    if (r.kind === "rows") {
      // [..., K] → [V, K] → [K, V] → [blocks, K / blocks, V].
      const rows = add("Reshape", "rows", [r.value, ints(`${p}.rowshape`, [-1, r.columns])]);
      m = add("Transpose", "cols", [rows], { perm: { type: "ints", value: [1, 0] } });
      m = add("Reshape", "g", [m, ints(`${p}.bshape`, [gramGroups(r), cols, -1])]);
    } else {
      const [kh, kw] = r.kernel, c = r.channels;
      const strides = r.strides ?? [1, 1], dil = r.dilations ?? [1, 1], pads = r.pads ?? [0, 0, 0, 0];
      const identity = kh === 1 && kw === 1 && strides.every((s) => s === 1) && pads.every((x) => x === 0) &&
        (r.autoPad ?? "NOTSET") === "NOTSET";
      let u = r.value;
      if (!identity) {
        // One-hot kernels: output channel c·kh·kw + (i·kw + j) reads input channel c at kernel offset (i, j).
        const w = new Float32Array(c * kh * kw * kh * kw);
        for (let ch = 0; ch < c; ch++) for (let e = 0; e < kh * kw; e++) w[(ch * kh * kw + e) * kh * kw + e] = 1;
        const wName = `${p}.onehot`;
        g.addInitializer(Tensor.fromArray(wName, [c * kh * kw, 1, kh, kw], w));
        const attrs: NodeInit["attrs"] = {
          group: { type: "int", value: c },
          kernel_shape: { type: "ints", value: [kh, kw] },
          strides: { type: "ints", value: [...strides] },
          dilations: { type: "ints", value: [...dil] },
        };
        if (r.autoPad && r.autoPad !== "NOTSET") attrs.auto_pad = { type: "string", value: r.autoPad };
        else attrs.pads = { type: "ints", value: [...pads] };
        u = add("Conv", "unfold", [r.value, wName], attrs);
      }
      // [N, g·K, H', W'] → [N, g, K, P] → [g, K, N, P] → [g, K, N·P].
      const v = add("Reshape", "groups", [u, ints(`${p}.gshape`, [0, r.group, cols, -1])]);
      const t = add("Transpose", "gfirst", [v], { perm: { type: "ints", value: [1, 2, 0, 3] } });
      m = add("Reshape", "mat", [t, ints(`${p}.mshape`, [r.group, cols, -1])]);
    }
    const mt = add("Transpose", "matT", [m], { perm: { type: "ints", value: [0, 2, 1] } });
    const gram = add("MatMul", "gram", [m, mt]);
    outputs.push(add("Reshape", "out", [gram, flat]));
    // Vectors per group: the last dim of m.
    const shape = add("Shape", "mdims", [m]);
    counts.push(add("Gather", "count", [shape, ints(`${p}.last`, [2])]));
  });
  g.nodes = [...g.nodes, ...added];
  for (const o of [...outputs, ...counts]) g.outputs.push({ name: o });
  g.invalidate();
  return { bytes: encodeModel(copy).bytes, outputs, counts };
}
