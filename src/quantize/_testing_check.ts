/**
 * Test helpers (not part of the API): structural checks of a QDQ model and a
 * quantize-then-compare routine, the three checks ORT's quantization tests
 * make: op counts, dtypes, closeness to the float model.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import type { RuntimeName } from "../runtime/types.ts";
import { dtypeResolver } from "./_dtypes.ts";
import { cosine, type Feeds, minMaxRanges, relMaxError, runModel } from "./_testing.ts";
import { planQuantization, type QuantPlan } from "./plan.ts";
import { quantize, type QuantizeReport } from "./quantize.ts";
import type { QuantizeOptions } from "./types.ts";

/** Problems found by {@linkcode qdqProblems}; empty when the model is well formed. */
export function qdqProblems(model: Model, activations: "int8" | "uint8"): string[] {
  const g = model.graph;
  const dtype = dtypeResolver(g);
  const out: string[] = [];
  for (const n of g.nodes) {
    if (n.opType !== "QuantizeLinear" && n.opType !== "DequantizeLinear") continue;
    const scale = g.constant(n.inputs[1]);
    const zp = g.constant(n.inputs[2]);
    if (!scale || scale.dtype !== "float32") out.push(`${n.name}: scale is not a float32 initializer`);
    else if (!scale.toFloat32().every((s) => Number.isFinite(s) && s > 0)) out.push(`${n.name}: scale not finite and positive`);
    if (!zp) {
      out.push(`${n.name}: no zero point initializer`);
      continue;
    }
    const axis = n.attrInt("axis");
    if (scale && zp.size !== scale.size) out.push(`${n.name}: ${scale.size} scales, ${zp.size} zero points`);
    if (n.opType === "QuantizeLinear") {
      if (dtype(n.inputs[0]) !== "float32") out.push(`${n.name}: quantizes a ${dtype(n.inputs[0])} value`);
      if (zp.dtype !== activations) out.push(`${n.name}: zero point ${zp.dtype}, want ${activations}`);
      continue;
    }
    const src = g.constant(n.inputs[0]);
    const want: DType = src ? src.dtype : (g.producer(n.inputs[0])?.opType === "QuantizeLinear" ? activations : "float32");
    if (zp.dtype !== want) out.push(`${n.name}: zero point ${zp.dtype}, input ${want}`);
    if (!src && g.producer(n.inputs[0])?.opType !== "QuantizeLinear") out.push(`${n.name}: input is neither an initializer nor a QuantizeLinear`);
    if (src && axis !== undefined && scale && src.dims[axis] !== scale.size) {
      out.push(`${n.name}: ${scale.size} scales on axis ${axis} of [${src.dims.join(",")}]`);
    }
  }
  return out;
}

/** Nodes of one op type. */
export function nodesOf(g: Graph, op: string): Node[] {
  return g.nodes.filter((n) => n.opType === op);
}

/** The DequantizeLinear that writes `value`, if any. */
export function dqOf(g: Graph, value: string): Node | undefined {
  const p = g.producer(value);
  return p?.opType === "DequantizeLinear" ? p : undefined;
}

/** Result of {@linkcode quantizeAndCompare}. */
export interface Compared {
  plan: QuantPlan;
  report: QuantizeReport;
  /** The quantized copy (the input model is left as it was). */
  model: Model;
  /** Worst cosine and worst relative max error over outputs and samples, per runtime. */
  cos: Record<RuntimeName, number>;
  rel: Record<RuntimeName, number>;
  nan: boolean;
}

/**
 * Plans, calibrates (min/max over `calib` on onnxruntime-node), quantizes a
 * copy and compares its outputs with the float model's on `evalFeeds`, in
 * onnxruntime-node and onnxruntime-web.
 */
export async function quantizeAndCompare(
  model: Model,
  opts: Partial<QuantizeOptions>,
  calib: readonly Feeds[],
  evalFeeds: readonly Feeds[] = calib,
): Promise<Compared> {
  const plan = planQuantization(model, opts);
  const ranges = await minMaxRanges(model, plan.activations, calib);
  const q = cloneModel(model);
  const report = quantize(q, ranges, opts);
  const ref = await runModel(model, evalFeeds, "node");
  const cos = { node: 1, web: 1 }, rel = { node: 0, web: 0 };
  let nan = false;
  for (const rt of ["node", "web"] as const) {
    const got = await runModel(q, evalFeeds, rt);
    got.forEach((res, i) => {
      for (const [k, t] of Object.entries(ref[i])) {
        const a = t.data as Float32Array, b = res[k].data as Float32Array;
        if (b.some(Number.isNaN)) nan = true;
        cos[rt] = Math.min(cos[rt], cosine(a, b));
        rel[rt] = Math.max(rel[rt], relMaxError(a, b));
      }
    });
  }
  return { plan, report, model: q, cos, rel, nan };
}
