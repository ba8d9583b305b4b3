/**
 * Host/device split: when the ops a target cannot run form a head (before
 * everything it can run) or a tail (after it), the model is cut in up to
 * three parts — a float host head, the device middle, a float host tail —
 * so the device gets the largest part it can run. Each op the target lacks
 * (no kernel, or attributes beyond its limits)
 * goes to whichever side costs fewer nodes: the head takes it with all it
 * depends on, the tail with all that depends on it.
 *
 * The device part is quantized with the host nodes excluded from the whole
 * model, then cut out; the parts run in sequence compute exactly what the
 * quantized whole computes.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { Graph, subgraphReads, topologicalOrder, type ValueInfo } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import type { TargetProfile } from "../targets/types.ts";
import { ruleContext } from "../validate/context.ts";
import { limitsExceeded } from "../validate/rules/op_limits.ts";
import { opKey } from "../validate/rules/op_not_supported.ts";
import { dtypeResolver } from "./_dtypes.ts";
import { LOG_CHAIN, LOG_DOMAIN } from "./_plan.ts";

/** Which side each op the target lacks goes to, by node name. */
export interface SplitPlan {
  /**
   * Nodes the target has no kernel for, with the side each went to; `why`
   * when it has the op but not these attributes (what exceeds its limits:
   * `kernel 512 exceeds 16×16; strides 160 not in {1, 2, 3}`).
   */
  unsupported: { node: string; opType: string; side: "head" | "tail"; why?: string }[];
  /** Names of the host head's nodes (the unsupported ones and all they depend on). */
  head: string[];
  /** Names of the host tail's nodes (the unsupported ones and all that depends on them). */
  tail: string[];
  /** Data nodes left for the device. */
  device: number;
}

/** The parts of a split model, each a model of its own. */
export interface SplitModels {
  head?: Model;
  device: Model;
  tail?: Model;
  /** Values passed between the parts. */
  cut: { headToDevice: string[]; deviceToTail: string[]; headToTail: string[] };
}

const QDQ = new Set(["QuantizeLinear", "DequantizeLinear"]);

/**
 * Plans a split of `model` (float, normalized) for `profile`, or returns
 * `undefined` when the target runs every op (nothing to split). A plan
 * whose device part is empty (`device === 0`) means no split helps.
 *
 * @example
 * ```ts
 * const plan = planSplit(readModel("melspectrogram.onnx"), loadTarget("npu-int8-only"));
 * plan?.tail; // ["Log_17", "Mul_19", …]
 * ```
 */
export function planSplit(model: Model, profile: TargetProfile, prefer: ReadonlyMap<string, "head" | "tail"> = new Map()): SplitPlan | undefined {
  const g = model.graph;
  const ctx = ruleContext(model, profile);
  const data = new Set(ctx.dataNodes);
  // Ops it has no kernel for, and ops whose attributes exceed its limits (a 512-tap Conv).
  const beyond = new Map(ctx.dataNodes.map((n) => [n, limitsExceeded(n, ctx)] as const).filter(([, why]) => why.length));
  const lacking = ctx.dataNodes.filter((n) => !QDQ.has(n.opType) && (!Object.hasOwn(profile.ops, opKey(n)) || beyond.has(n)));
  if (!lacking.length) return undefined;
  const order = topologicalOrder(g);
  const head = new Set<Node>();
  const tail = new Set<Node>();
  const unsupported: SplitPlan["unsupported"] = [];
  for (const n of lacking) {
    if (head.has(n) || tail.has(n)) continue;
    const up = ancestors(g, n);
    const down = descendants(g, n, order);
    const side = prefer.get(n.name) ?? (count(up, data) <= count(down, data) ? "head" : "tail");
    for (const x of side === "head" ? up : down) (side === "head" ? head : tail).add(x);
    const why = beyond.get(n)?.join("; ");
    unsupported.push({ node: n.name, opType: n.opType, side, ...(why ? { why } : {}) });
  }
  // A node both sides claim (it feeds a head op and depends on a tail op) runs on the host tail, which comes last.
  for (const n of tail) head.delete(n);
  // What a host Log reads cannot cross the cut in int8 (small values round to 0, log(0) = −∞):
  // the chain computing it (elementwise, MatMul/Conv, data movement) goes to the host tail too.
  const logFed = new Set([...tail].filter((n) => LOG_DOMAIN.has(n.opType)));
  for (const n of [...order].reverse()) {
    if (!logFed.size || head.has(n) || tail.has(n) || !LOG_CHAIN.has(n.opType)) continue;
    const readers = n.outputs.filter(Boolean).flatMap((o) => [...g.consumers(o)]);
    if (n.outputs.some((o) => g.isOutput(o)) || !readers.length || !readers.every((r) => logFed.has(r))) continue;
    tail.add(n);
    logFed.add(n);
  }
  const device = ctx.dataNodes.filter((n) => !head.has(n) && !tail.has(n) && !QDQ.has(n.opType)).length;
  return {
    unsupported,
    head: order.filter((n) => head.has(n)).map((n) => n.name),
    tail: order.filter((n) => tail.has(n)).map((n) => n.name),
    device,
  };
}

/**
 * Cuts `model` (usually the quantized whole, host nodes left float) into
 * head, device and tail models along `plan`. Nodes are placed by name, and
 * nodes the quantizer added (QuantizeLinear/DequantizeLinear) go to the
 * device. Boundary values keep their names; their dtypes and shapes come
 * from the model's value info.
 *
 * @example
 * ```ts
 * const plan = planSplit(model, loadTarget("npu-int8-only"));
 * if (plan) writeModel("device.onnx", cutModel(model, plan).device);
 * ```
 */
export function cutModel(model: Model, plan: SplitPlan): SplitModels {
  const g = model.graph;
  const headNames = new Set(plan.head);
  const tailNames = new Set(plan.tail);
  const order = topologicalOrder(g);
  const head = order.filter((n) => headNames.has(n.name));
  const tail = order.filter((n) => tailNames.has(n.name));
  const device = order.filter((n) => !headNames.has(n.name) && !tailNames.has(n.name));
  const dtype = dtypeResolver(g);
  const produced = (nodes: Node[]) => new Set(nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const [ph, pd, pt] = [produced(head), produced(device), produced(tail)];
  const reads = (nodes: Node[]) => new Set(nodes.flatMap((n) => [...n.inputs, ...subgraphReads(n)]).filter((v) => v && !g.initializers.has(v)));
  const [rd, rt] = [reads(device), reads(tail)];
  const headToDevice = [...rd].filter((v) => ph.has(v));
  const headToTail = [...rt].filter((v) => ph.has(v));
  const deviceToTail = [...rt].filter((v) => pd.has(v));
  const info = (v: string): ValueInfo => {
    const known = g.info(v);
    return { name: v, dtype: known?.dtype ?? dtype(v) ?? ("float32" as DType), shape: known?.shape ? [...known.shape] : undefined };
  };
  const part = (name: string, nodes: Node[], own: Set<string>, inputsFrom: string[]): Model => {
    const sub = new Graph(`${g.name}_${name}`);
    sub.nodes = nodes;
    const read = reads(nodes);
    const graphInputs = g.inputs.filter((v) => read.has(v.name) && !g.initializers.has(v.name));
    sub.inputs = [...graphInputs.map((v) => ({ ...v })), ...inputsFrom.filter((v) => read.has(v)).map(info)];
    const wanted = new Set<string>();
    for (const o of g.outputs) if (own.has(o.name)) wanted.add(o.name);
    const later = name === "head" ? new Set([...rd, ...rt]) : name === "device" ? rt : new Set<string>();
    for (const v of own) if (later.has(v)) wanted.add(v);
    sub.outputs = [...wanted].map((v) => g.outputs.find((o) => o.name === v) ?? info(v));
    for (const n of nodes) {
      for (const i of [...n.inputs, ...subgraphReads(n)]) {
        const t = g.initializers.get(i);
        if (t) sub.initializers.set(i, t);
      }
    }
    for (const [k, v] of g.valueInfo) if (own.has(k) && !wanted.has(k)) sub.valueInfo.set(k, v);
    return new Model(sub, { irVersion: model.irVersion, opsets: model.opsets, producerName: "edgeq", producerVersion: model.producerVersion });
  };
  return {
    ...(head.length ? { head: part("head", head, ph, []) } : {}),
    device: part("device", device, pd, headToDevice),
    ...(tail.length ? { tail: part("tail", tail, pt, [...headToTail, ...deviceToTail]) } : {}),
    cut: { headToDevice, deviceToTail, headToTail },
  };
}

function count(nodes: Set<Node>, data: Set<Node>): number {
  let n = 0;
  for (const x of nodes) if (data.has(x)) n++;
  return n;
}

/** `n` and every node it depends on. */
function ancestors(g: Graph, n: Node): Set<Node> {
  const out = new Set<Node>([n]);
  const todo = [...n.inputs, ...subgraphReads(n)];
  while (todo.length) {
    const p = g.producer(todo.pop()!);
    if (!p || out.has(p)) continue;
    out.add(p);
    todo.push(...p.inputs, ...subgraphReads(p));
  }
  return out;
}

/** `n` and every node that depends on it. */
function descendants(g: Graph, n: Node, order: readonly Node[]): Set<Node> {
  const out = new Set<Node>([n]);
  const values = new Set(n.outputs);
  for (const x of order) {
    if (out.has(x)) continue;
    if ([...x.inputs, ...subgraphReads(x)].some((v) => values.has(v))) {
      out.add(x);
      for (const o of x.outputs) values.add(o);
    }
  }
  return out;
}
