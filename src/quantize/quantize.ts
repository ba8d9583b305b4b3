/**
 * QDQ insertion: turns a normalized float model into a QDQ model in place,
 * from the plan and the calibrated ranges.
 *
 * - Activations: `v → QuantizeLinear → v_quantized → DequantizeLinear →
 *   v_dequantized`, and every reader of `v` (quantized or not, as ORT does)
 *   reads `v_dequantized`. A graph output keeps its name and float type: the
 *   DequantizeLinear writes it and the producer writes `<v>_QuantizeLinear_Input`.
 * - Weights: int8 initializer + DequantizeLinear (per channel when asked);
 *   biases: int32 + DequantizeLinear; other constant inputs: activation-typed
 *   initializer + DequantizeLinear, from their own min/max.
 *
 * @module
 */
import type { Range } from "../calibrate/types.ts";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { renameOuterReads, subgraphsOf } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { initializerBytes, QdqEditor } from "./_edit.ts";
import { detailedPlan, type DetailedPlan } from "./_plan.ts";
import { quantizeConstant, quantizeNodeWeights, type WeightDq, zeroPointArray } from "./_weights.ts";
import { resolveQuantizeOptions } from "./options.ts";
import { activationParams, type ScaleZeroPoint, wideType } from "./params.ts";
import { emptyReport, fillCounts, type QuantizeReport } from "./report.ts";
import type { ActivationStorage, QuantizeOptions } from "./types.ts";
import { upgradeOpset } from "../normalize/opset.ts";

export type { ChannelNote, OpCounts, QuantizeReport } from "./report.ts";

/**
 * Quantizes `model` in place: QDQ around every value the plan lists, int8
 * weights, int32 biases. `ranges` must hold a range for every value that
 * {@linkcode planQuantization} lists in `activations` (InputError otherwise).
 *
 * @example
 * ```ts
 * const plan = planQuantization(model);
 * const report = quantize(model, ranges, { perChannel: true });
 * report.bytes.after / report.bytes.before; // ≈ 0.25
 * ```
 */
export function quantize(model: Model, ranges: ReadonlyMap<string, Range>, opts: Partial<QuantizeOptions> = {}): QuantizeReport {
  const o = resolveQuantizeOptions(opts);
  // 16-bit QuantizeLinear exists from opset 21 on.
  if (o.wideActivations?.length && model.opset() < 21) upgradeOpset(model, 21);
  const plan = detailedPlan(model, o);
  const g = model.graph;
  const params = resolveParams(plan, ranges, o);
  const before = initializerBytes(g);
  const ed = new QdqEditor(g);
  const report = emptyReport(o, before);

  for (const f of plan.folds) {
    f.producer.outputs[f.producer.outputs.indexOf(f.from)] = f.to;
    g.valueInfo.delete(f.from);
    report.folded.push({ node: f.node.label, into: f.producer.label });
  }
  g.removeNodes(plan.folds.map((f) => f.node));

  const constantDq = new Map<string, string>();
  const weightDq = new Map<string, WeightDq>();
  for (const np of plan.nodes) {
    if (!np.quantized || np.foldedInto) continue;
    if (np.weight) quantizeNodeWeights(np, params, o, ed, report, weightDq);
    for (const i of np.constants) {
      const c = np.node.inputs[i];
      let dq = constantDq.get(c);
      if (!dq) {
        dq = quantizeConstant(c, np.node, o, ed);
        constantDq.set(c, dq);
      }
      np.node.inputs[i] = dq;
    }
  }
  g.invalidate();
  insertActivationQdq(plan, params, o, ed);

  g.prune();
  g.sort();
  fillCounts(report, plan, ed.counts);
  report.bytes.after = initializerBytes(g);
  return report;
}

/** Scale and zero point of every planned value (shared ones from their root). */
export function resolveParams(plan: DetailedPlan, ranges: ReadonlyMap<string, Range>, o: QuantizeOptions): Map<string, ScaleZeroPoint> {
  const out = new Map<string, ScaleZeroPoint>();
  const storage = storageOf(plan, o);
  const get = (v: string): ScaleZeroPoint => {
    const known = out.get(v);
    if (known) return known;
    const src = plan.values.get(v)!.source;
    let p: ScaleZeroPoint;
    if (src.kind === "fixed") p = src.params;
    else if (src.kind === "shared") p = get(src.from);
    else {
      const r = ranges.get(v);
      if (!r) throw new InputError(`No range for "${v}": calibrate every value planQuantization lists`);
      if (!Number.isFinite(r.min) || !Number.isFinite(r.max) || r.min > r.max) {
        throw new InputError(`Range of "${v}" is [${r.min}, ${r.max}]: expected finite min ≤ max`);
      }
      p = activationParams(r, storage(v), o.symmetricActivations, o.powerOfTwoScales);
    }
    out.set(v, p);
    return p;
  };
  for (const v of plan.values.keys()) get(v);
  return out;
}

/**
 * The integer type each planned value is stored in: the 16-bit sibling for
 * `wideActivations` (a shared value follows the value it shares with).
 */
export function storageOf(plan: DetailedPlan, o: QuantizeOptions): (v: string) => ActivationStorage {
  const wide = new Set(o.wideActivations ?? []);
  const root = (v: string): string => {
    const src = plan.values.get(v)?.source;
    return src?.kind === "shared" ? root(src.from) : v;
  };
  return (v) => (wide.size && wide.has(root(v)) ? wideType(o.activations) : o.activations);
}

function insertActivationQdq(plan: DetailedPlan, params: Map<string, ScaleZeroPoint>, o: QuantizeOptions, ed: QdqEditor): void {
  const g = ed.graph;
  const storage = storageOf(plan, o);
  const paramNames = new Map<string, { s: string; z: string }>();
  const root = (v: string): string => {
    const src = plan.values.get(v)!.source;
    return src.kind === "shared" ? root(src.from) : v;
  };
  const names = (v: string) => {
    const r = root(v);
    let n = paramNames.get(r);
    if (!n) {
      const p = params.get(r)!;
      n = {
        s: ed.init(`${r}_scale`, [], new Float32Array([p.scale])),
        z: ed.init(`${r}_zero_point`, [], zeroPointArray(storage(r), p.zeroPoint), storage(r)),
      };
      paramNames.set(r, n);
    }
    return n;
  };
  const ordered = [...plan.values.values()].sort((a, b) => plan.position.get(a.name)! - plan.position.get(b.name)!);
  // One index up front: every addNode below drops the graph's own.
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const out of n.outputs) producers.set(out, n);
  const first = g.nodes[0];
  const outerRenames = new Map<string, string>();
  for (const { name: v, owner } of ordered) {
    const { s, z } = names(v);
    const producer = producers.get(v);
    const qOut = ed.name(`${v}_quantized`);
    let floatName = v;
    let dqOut: string;
    if (producer && g.isOutput(v)) {
      floatName = ed.name(`${v}_QuantizeLinear_Input`);
      producer.outputs[producer.outputs.indexOf(v)] = floatName;
      const vi = g.valueInfo.get(v);
      if (vi) g.valueInfo.set(floatName, { ...vi, name: floatName });
      dqOut = v;
    } else {
      // Graph outputs keep reading `v` (only a graph input can be one here).
      dqOut = ed.name(`${v}_dequantized`);
      // Every reader reads it dequantized, but the float chain into a Log, which keeps the exact value.
      for (const n of g.nodes) {
        if (!plan.logDomain.has(n)) for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === v) n.inputs[i] = dqOut;
      }
      outerRenames.set(v, dqOut);
    }
    const q = ed.qdq("QuantizeLinear", v, [floatName, s, z], qOut, owner.opType);
    const dq = ed.qdq("DequantizeLinear", v, [qOut, s, z], dqOut, owner.opType);
    if (producer) g.addNode(q, { after: producer });
    else g.addNode(q, { before: first });
    g.addNode(dq, { after: q });
  }
  // If/Loop bodies that read a quantized value from the outer scope read it dequantized too.
  if (outerRenames.size) for (const n of g.nodes) if (subgraphsOf(n).length) renameOuterReads(n, outerRenames);
}
