/**
 * Opset upgrade: rewrites the default-domain nodes of a model exported at
 * an old opset (PaddleOCR: 9 and 11) into their form at a newer one, so
 * later passes can use per-channel QuantizeLinear (opset ≥ 13). Each op
 * walks its own version history (see `opset/registry.ts`), one since_version
 * at a time, applying the converter of each version that changed meaning.
 *
 * @module
 */
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import { type Graph, subgraphsOf } from "../ir/graph.ts";
import { type OpHistory, UpgradeContext, upgradeError } from "./opset/_context.ts";
import { MAX_OPSET, OPSET_REGISTRY } from "./opset/registry.ts";

export { MAX_OPSET } from "./opset/registry.ts";

/** The lowest IR version that may declare a default-domain opset (ONNX versioning table). */
function minIrVersion(opset: number): number {
  // 21 brought int16/uint16 QuantizeLinear, which ONNX Runtime reads only from IR 10 files.
  return opset >= 21 ? 10 : 7;
}

/**
 * Upgrades `model` in place to default-domain opset `target`. A model
 * already at or above `target` is left alone; nodes of other domains are not
 * touched. Throws an {@linkcode InputError} naming the first node whose op
 * has no converter or whose conversion needs what the model does not say
 * (checked for every node before anything changes), or a later node that
 * cannot be converted (the model is then partly converted: discard it).
 *
 * @example
 * ```ts
 * const model = readModel("ch_ppocr_mobile_v2.0_cls_infer.onnx"); // opset 9
 * upgradeOpset(model, 13);
 * model.opset(); // 13
 * ```
 */
export function upgradeOpset(model: Model, target = 13): void {
  if (!Number.isInteger(target) || target < 1 || target > MAX_OPSET) {
    throw new RangeError(`Cannot upgrade to opset ${target}: targets from 1 to ${MAX_OPSET} are supported`);
  }
  const from = model.opset("");
  if (from === 0 || from >= target) return;
  // Every graph, If branches and Loop/Scan bodies included, is checked before any changes.
  const graphs = withSubgraphs(model.graph);
  const queues = graphs.map((g) => {
    const nodes = g.nodes.filter(isDefaultDomain);
    const queue: [Node, number][] = nodes.map((n) => {
      const history = OPSET_REGISTRY.get(n.opType);
      if (!history) throw upgradeError(target, from, n, "has no converter");
      const version = versionAt(history, from);
      if (version === undefined) throw upgradeError(target, from, n, `does not exist before opset ${history.since[0]}`);
      return [n, version];
    });
    for (const n of nodes) n.domain = "";
    return queue;
  });
  graphs.forEach((g, k) => {
    const queue = queues[k];
    const ctx = new UpgradeContext(g, from, target, (n, v) => queue.push([n, v]));
    for (let i = 0; i < queue.length; i++) upgradeNode(queue[i][0], queue[i][1], ctx);
    dropOrphans(g, ctx.released);
    g.sort();
  });
  setDefaultOpset(model, target);
  model.irVersion = Math.max(model.irVersion, minIrVersion(target));
}

/** `g` and every graph nested in its nodes' attributes, outermost first. */
function withSubgraphs(g: Graph): Graph[] {
  const out = [g];
  for (let i = 0; i < out.length; i++) for (const n of out[i].nodes) out.push(...subgraphsOf(n));
  return out;
}

function isDefaultDomain(n: Node): boolean {
  return n.domain === "" || n.domain === "ai.onnx";
}

/** The since_version of the op version in force at `opset`. */
function versionAt(h: OpHistory, opset: number): number | undefined {
  let v: number | undefined;
  for (const s of h.since) if (s <= opset) v = s;
  return v;
}

/** The first version after `v`, up to `target`, that the op changed at. */
function nextStep(h: OpHistory, v: number, target: number): number | undefined {
  let next: number | undefined;
  const steps = [...h.since, ...Object.keys(h.steps ?? {}).map(Number)];
  for (const s of steps) if (s > v && s <= target && (next === undefined || s < next)) next = s;
  return next;
}

function upgradeNode(node: Node, version: number, ctx: UpgradeContext): void {
  let current = node;
  let v = version;
  for (;;) {
    // Looked up each time: a converter may change the op (Upsample → Resize).
    const history = OPSET_REGISTRY.get(current.opType);
    if (!history) return ctx.fail(current, "has no converter");
    const step = nextStep(history, v, ctx.target);
    if (step === undefined) return;
    const out = history.steps?.[step]?.(current, ctx, step);
    if (out === null) return;
    if (out) current = out;
    v = step;
  }
}

/** Removes initializers and Constant nodes that only fed attributes a converter moved. */
function dropOrphans(g: Graph, released: Set<string>): void {
  const dead: Node[] = [];
  for (const v of released) {
    if (g.consumers(v).length > 0 || g.isOutput(v)) continue;
    if (g.initializers.has(v) && !g.inputs.some((i) => i.name === v)) g.initializers.delete(v);
    const p = g.producer(v);
    if (p?.opType === "Constant" && p.outputs.length === 1) dead.push(p);
  }
  if (dead.length) g.removeNodes(dead);
}

/** Sets the default-domain import to `target`, folding an "ai.onnx" import into "". */
function setDefaultOpset(model: Model, target: number): void {
  const out = new Map<string, number>();
  for (const [domain, version] of model.opsets) {
    out.set(domain === "ai.onnx" ? "" : domain, domain === "" || domain === "ai.onnx" ? target : version);
  }
  model.opsets = out;
}
