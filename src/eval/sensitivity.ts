/**
 * Sensitivity analysis: per node of a quantized model, the damage its own
 * quantization does to the model's outputs, measured two ways on data the
 * caller chooses (a split the calibration did not read):
 *
 * - **alone**: only this node quantized, everything else float;
 * - **kept float**: everything quantized but this node (the view mixed
 *   precision needs: what keeping it float buys).
 *
 * Both come from one ONNX Runtime session of a switchable model (see
 * `_switchable.ts`): the float graph with every rounding of the quantized
 * model behind a run-time switch, so a view costs one forward pass per
 * sample and node, and the model is never quantized again. A data-movement
 * node that rounds again on its input's grid is exact and not listed.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { openModel } from "../runtime/open_model.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";
import type { Runtime, RuntimeName, TensorValue } from "../runtime/types.ts";
import { floatData, resolveRuntime, sampleCount } from "./_session.ts";
import { type SwitchUnit, switchableModel } from "./_switchable.ts";

/** Options of {@linkcode analyzeSensitivity}; each field's default is in its doc. */
export interface SensitivityOptions {
  /** Samples read (the first ones). Default 8. */
  samples: number;
  /** Which views to measure. Default `"both"`. */
  views: "both" | "float" | "alone";
  /** Backend, or its name. Default the platform's ({@linkcode DEFAULT_RUNTIME}). */
  runtime: Runtime | RuntimeName;
  /** Called after each node's measurement with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** What quantizing one node costs, as {@linkcode analyzeSensitivity} measured it. */
export interface NodeSensitivity {
  /** The node (or `input "x"` for the rounding of a graph input). */
  node: string;
  opType: string;
  /** Nodes to keep float to undo it: the node and a Relu/Clip folded into it (empty for graph inputs). */
  nodes: string[];
  /** The activation values whose rounding it owns (by their float names): what a 16-bit type would widen. */
  values: string[];
  /** Output SQNR (dB, against FP32) with only this node quantized; `Infinity` when exact. Absent when not measured. */
  aloneDb?: number;
  /** Output SQNR with every node quantized but this one. Absent when not measured. */
  keptFloatDb?: number;
  /** What keeping it float gains over the fully quantized model (dB); negative when it does not help. */
  gainDb?: number;
  /** max / min of the weight's per-output-channel scales, for nodes with a per-channel weight. */
  weightSpread?: number;
  /** The range its output is quantized to, [min, max], when it is. */
  outputRange?: [number, number];
}

/** What {@linkcode analyzeSensitivity} found. */
export interface SensitivityReport {
  samples: number;
  /** Output SQNR of the fully quantized model, as simulated (dB). */
  quantizedDb: number;
  /**
   * Worst first: by `gainDb` when the kept-float view ran, else by
   * `aloneDb` (lowest first).
   */
  nodes: NodeSensitivity[];
  /** Forward passes run, and wall time (ms). */
  runs: number;
  ms: number;
}

/**
 * Ranks the nodes of `quantized` by the damage their quantization does to
 * its outputs (see the module doc), against `fp32Graph`, the float model as
 * the quantizer read it (`quantizeModel`'s `onFloatGraph`), on `data`.
 *
 * @example
 * ```ts
 * let fp32!: Model;
 * await quantizeModel(model, calib, { onFloatGraph: (m) => (fp32 = m) });
 * const { nodes } = await analyzeSensitivity(fp32, model, heldOut);
 * nodes[0].node; // keeping this node float gains the most
 * ```
 */
export async function analyzeSensitivity(
  fp32Graph: Model,
  quantized: Model,
  data: Dataset,
  opts: Partial<SensitivityOptions> = {},
): Promise<SensitivityReport> {
  const t0 = performance.now();
  const views = opts.views ?? "both";
  if (views !== "both" && views !== "float" && views !== "alone") throw new InputError(`Unknown sensitivity view "${views}": expected both, float or alone`);
  const samples = sampleCount(data, opts.samples ?? 8, "analyze sensitivity");
  const { model, units } = switchableModel(fp32Graph, quantized);
  const runtime = await resolveRuntime(opts.runtime ?? DEFAULT_RUNTIME);
  const session = await openModel(runtime, model, {});
  let runs = 0;
  try {
    const masks = units.map((u) => u.mask);
    const inputs = session.inputNames.filter((n) => !masks.includes(n));
    const feeds: Record<string, TensorValue>[] = [];
    for (let i = 0; i < samples; i++) {
      const s = await data.get(i);
      const f: Record<string, TensorValue> = {};
      for (const n of inputs) {
        if (!s[n]) throw new InputError(`Sample "${data.id(i)}" has no input "${n}"`);
        f[n] = s[n];
      }
      feeds.push(f);
    }
    const on = { dtype: "bool", dims: [], data: Uint8Array.of(1) } as TensorValue;
    const off = { dtype: "bool", dims: [], data: Uint8Array.of(0) } as TensorValue;
    const outputs = session.outputNames;
    /** The outputs for sample i with the units in `quantizedUnits` switched on. */
    const run = async (i: number, isOn: (k: number) => boolean) => {
      const f: Record<string, TensorValue> = { ...feeds[i] };
      masks.forEach((m, k) => (f[m] = isOn(k) ? on : off));
      runs++;
      const out = await session.run(f, outputs);
      return outputs.map((o) => floatData(out[o]));
    };
    const reference: (Float32Array | undefined)[][] = [];
    for (let i = 0; i < samples; i++) reference.push(await run(i, () => false));
    /** Mean over outputs of noise power / signal power, over all samples. */
    const noise = async (isOn: (k: number) => boolean) => {
      const ee = new Float64Array(outputs.length), rr = new Float64Array(outputs.length);
      for (let i = 0; i < samples; i++) {
        const got = await run(i, isOn);
        got.forEach((y, o) => {
          const x = reference[i][o];
          if (!x || !y) return;
          for (let j = 0; j < x.length; j++) {
            const e = x[j] - y[j];
            ee[o] += e * e;
            rr[o] += x[j] * x[j];
          }
        });
      }
      let sum = 0, n = 0;
      for (let o = 0; o < outputs.length; o++) {
        if (rr[o] === 0 && ee[o] === 0) continue;
        sum += rr[o] > 0 ? ee[o] / rr[o] : Infinity;
        n++;
      }
      return n ? sum / n : 0;
    };
    const db = (p: number) => (p === 0 ? Infinity : -10 * Math.log10(p));
    const all = await noise(() => true);
    const nodes: NodeSensitivity[] = [];
    const total = units.length;
    for (let k = 0; k < units.length; k++) {
      const u = units[k];
      if (repeatsRounding(quantized, u)) {
        opts.onProgress?.(k + 1, total);
        continue;
      }
      const s: NodeSensitivity = { node: u.name, opType: u.opType, nodes: u.nodes, values: u.values };
      if (views !== "float") s.aloneDb = db(await noise((j) => j === k));
      if (views !== "alone") {
        s.keptFloatDb = db(await noise((j) => j !== k));
        s.gainDb = s.keptFloatDb - db(all);
      }
      const node = quantized.graph.nodes.find((n) => n.label === u.name);
      if (node) {
        const spread = weightSpread(quantized, node.inputs[1]);
        if (spread !== undefined) s.weightSpread = spread;
      }
      const range = u.values.length ? outputRange(quantized, u.values[0]) : undefined;
      if (range) s.outputRange = range;
      nodes.push(s);
      opts.onProgress?.(k + 1, total);
    }
    const key = (s: NodeSensitivity) => (s.gainDb !== undefined ? -s.gainDb : s.aloneDb ?? Infinity);
    nodes.sort((a, b) => key(a) - key(b) || (a.aloneDb ?? Infinity) - (b.aloneDb ?? Infinity));
    return { samples, quantizedDb: db(all), nodes, runs, ms: performance.now() - t0 };
  } finally {
    await session.release();
  }
}

/** Ops whose outputs are some of their input's values, moved: rounding them again on the same grid changes nothing. */
const MOVEMENT = new Set(["Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Gather", "Split", "MaxPool", "Identity", "Expand", "Tile", "DepthToSpace", "SpaceToDepth"]);

/** Whether a unit only rounds a moved value again with its input's scale and zero point (exact, so not worth measuring). */
function repeatsRounding(m: Model, u: SwitchUnit): boolean {
  if (u.constants.length || !MOVEMENT.has(u.opType)) return false;
  const g = m.graph;
  const node = g.nodes.find((n) => n.label === u.name);
  const dq = node && g.producer(node.inputs[0]);
  if (!node || dq?.opType !== "DequantizeLinear") return false;
  const same = (a: string | undefined, b: string | undefined) => {
    const x = a ? g.constant(a)?.toFloat64() : undefined, y = b ? g.constant(b)?.toFloat64() : undefined;
    return !!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]);
  };
  return node.outputs.every((o) => {
    const q = g.consumers(o).find((n) => n.opType === "QuantizeLinear");
    return !q || (same(q.inputs[1], dq.inputs[1]) && (q.inputs[2] ?? "") !== "" === ((dq.inputs[2] ?? "") !== "") && (!q.inputs[2] || same(q.inputs[2], dq.inputs[2])));
  });
}

/** max / min of a DequantizeLinear-fed weight's per-channel scales, when `input` is one with several. */
function weightSpread(m: Model, input: string | undefined): number | undefined {
  if (!input) return undefined;
  const g = m.graph;
  const dq = g.producer(input);
  if (dq?.opType !== "DequantizeLinear" || !g.constant(dq.inputs[0])) return undefined;
  const scale = g.constant(dq.inputs[1])?.toFloat32();
  if (!scale || scale.length < 2) return undefined;
  let lo = Infinity, hi = 0;
  for (const x of scale) {
    if (x > 0 && x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return hi > 0 ? hi / lo : undefined;
}

/** The float range a value's QuantizeLinear maps onto its integer type. */
function outputRange(m: Model, value: string): [number, number] | undefined {
  const g = m.graph;
  const q = g.consumers(value).find((n) => n.opType === "QuantizeLinear") ??
    g.nodes.find((n) => n.opType === "QuantizeLinear" && g.isOutput(g.consumers(n.outputs[0])[0]?.outputs[0] ?? "") && g.consumers(n.outputs[0])[0]?.outputs[0] === value);
  if (!q) return undefined;
  const s = g.constant(q.inputs[1])?.toFloat32();
  if (!s || s.length !== 1) return undefined;
  const zt = q.inputs[2] ? g.constant(q.inputs[2]) : undefined;
  const z = zt ? zt.toFloat32()[0] : 0;
  const [lo, hi] = zt?.dtype === "int8" ? [-128, 127] : zt?.dtype === "int16" ? [-32768, 32767] : [0, 255];
  return [(lo - z) * s[0], (hi - z) * s[0]];
}
