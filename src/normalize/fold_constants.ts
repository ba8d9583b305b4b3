/**
 * Constant folding: every node that computes from constants only (and, on
 * static shapes, `Shape` of a value whose shape is known) is evaluated once by
 * ONNX Runtime and replaced by an initializer; an `If` whose condition became
 * a constant is replaced by the branch it takes, inlined with fresh names.
 * Exporters leave such subgraphs everywhere (tf2onnx's `ConstantOfShape` →
 * `Concat` → `Cast` pads, PyTorch's shape arithmetic, a sample-rate switch),
 * and an integer-only target runs none of them.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { Graph, NameScope, renameOuterReads, subgraphReads, subgraphsOf, topologicalOrder } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { shapeSize, Tensor, type TypedArray } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime, RuntimeName } from "../runtime/types.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** Options of {@linkcode foldConstants}. */
export interface FoldConstantsOptions {
  /** Fold `Shape` of values whose recorded shape is all numbers (after {@linkcode recordShapes} on static inputs). @default false */
  shapes: boolean;
  /** Where the folded nodes are evaluated. @default "node" */
  runtime: Runtime | RuntimeName;
  /** Largest folded tensor, in elements, when it is larger than the node's inputs together (a `ConstantOfShape` may ask for any size). @default 1 << 20 */
  maxElements: number;
}

/** What {@linkcode foldConstants} did. */
export interface FoldReport {
  /** Nodes replaced by initializers, by op type. */
  folded: Record<string, number>;
  /** `If` nodes replaced by their taken branch: node name and branch. */
  branches: { node: string; taken: "then_branch" | "else_branch" }[];
}

// Output depends on more than the inputs' values, or on a shape a run may change.
const NEVER = new Set([
  "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli",
  "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
]);
// Their output shapes depend on data, so a shape recorded from one run proves nothing.
const DATA_DEPENDENT = new Set(["NonZero", "NonMaxSuppression", "Compress", "Unique", "TopK", "Loop", "If", "Scan"]);

/**
 * Folds constant computations of `model`'s main graph in place, repeating
 * until nothing changes (an inlined branch may hold more). Nodes whose
 * outputs are graph outputs, custom-domain nodes, nodes with subgraphs and
 * random or QDQ ops stay. Returns what went.
 *
 * @example
 * ```ts
 * const model = readModel("silero_vad.onnx");
 * freezeInputs(model, { sr: 16000 });
 * const r = await foldConstants(model);
 * r.branches; // [{ node: "If_25", taken: "then_branch" }]
 * ```
 */
export async function foldConstants(model: Model, opts: Partial<FoldConstantsOptions> = {}): Promise<FoldReport> {
  const o: FoldConstantsOptions = { shapes: false, runtime: DEFAULT_RUNTIME, maxElements: 1 << 20, ...opts };
  const report: FoldReport = { folded: {}, branches: [] };
  for (let round = 0; round < 16; round++) {
    const folded = await foldOnce(model, o, report);
    const inlined = inlineConstantIfs(model.graph, report);
    if (!folded && !inlined) break;
  }
  return report;
}

/** One sweep: everything foldable now, evaluated in one ORT session. Returns how many nodes went. */
async function foldOnce(model: Model, o: FoldConstantsOptions, report: FoldReport): Promise<number> {
  const g = model.graph;
  const order = topologicalOrder(g);
  const tainted = dataDependentValues(order);
  const known = new Map<string, Tensor>();
  const fold: Node[] = [];
  const foldedOut = new Set<string>();
  const isConstant = (v: string) => !v || g.initializers.has(v) || foldedOut.has(v);
  for (const n of order) {
    if (n.outputs.some((out) => g.isOutput(out)) || (n.domain !== "" && n.domain !== "ai.onnx") || hasSubgraph(n) || NEVER.has(n.opType)) continue;
    let take = false;
    if ((n.opType === "Shape" || n.opType === "Size") && !isConstant(n.inputs[0])) {
      const dims = o.shapes && !tainted.has(n.inputs[0]) ? g.info(n.inputs[0])?.shape : undefined;
      if (dims?.every((d): d is number => typeof d === "number" && d >= 0)) {
        known.set(n.outputs[0], n.opType === "Shape" ? shapeTensor(n, dims) : Tensor.fromArray(n.outputs[0], [], BigInt64Array.of(BigInt(shapeSize(dims)))));
        take = true;
      }
    } else {
      take = n.inputs.length > 0 && n.inputs.every(isConstant) && n.outputs.every((out) => !tooLarge(g, n, out, o.maxElements));
    }
    if (take) {
      fold.push(n);
      for (const out of n.outputs) if (out) foldedOut.add(out);
    }
  }
  if (!fold.length) return 0;
  const folded = new Set(fold);
  const outerReads = new Set(g.nodes.flatMap(subgraphReads));
  const frontier = [...foldedOut].filter((v) => g.consumers(v).some((c) => !folded.has(c)) || outerReads.has(v));
  const computed = await evaluate(model, fold.filter((n) => !known.has(n.outputs[0])), known, frontier, o.runtime);
  for (const name of frontier) {
    const t = known.get(name) ?? computed.get(name);
    if (!t) throw new Error(`constant folding: no value computed for "${name}"`);
    g.addInitializer(t);
    g.valueInfo.delete(name);
  }
  for (const n of fold) report.folded[n.opType] = (report.folded[n.opType] ?? 0) + 1;
  g.removeNodes(fold);
  g.prune();
  return fold.length;
}

/** Whether folding `out` could create a tensor much larger than what the node reads. */
function tooLarge(g: Graph, n: Node, out: string, max: number): boolean {
  const dims = g.info(out)?.shape;
  const size = dims?.every((d): d is number => typeof d === "number") ? shapeSize(dims) : undefined;
  if (g.info(out)?.dtype === "string") return true;
  const inputs = n.inputs.reduce((s, i) => s + (g.initializers.get(i)?.size ?? 0), 0);
  return size !== undefined && size > max && size > inputs;
}

/**
 * Replaces each `If` whose condition is an initializer by the nodes of the
 * branch it takes, renamed so no name clashes anywhere in the model.
 */
function inlineConstantIfs(g: Graph, report: FoldReport): number {
  let inlined = 0;
  for (const n of [...g.nodes]) {
    if (n.opType !== "If" || (n.domain !== "" && n.domain !== "ai.onnx")) continue;
    const cond = g.initializers.get(n.inputs[0]);
    if (!cond || cond.size !== 1) continue;
    const taken = cond.toNumbers()[0] ? "then_branch" : "else_branch";
    const branch = n.attrs.get(taken);
    if (branch?.type !== "graph") continue;
    const scope = new NameScope(modelNames(g));
    const body = branch.value;
    const rename = new Map<string, string>();
    const local = (name: string) => {
      if (!name) return name;
      let r = rename.get(name);
      if (!r) rename.set(name, r = scope.unique(name));
      return r;
    };
    for (const t of body.initializers.values()) {
      const name = local(t.name);
      g.addInitializer(new Tensor({ name, dtype: t.dtype, dims: t.dims, bytes: t.bytes, strings: t.strings, origin: t.origin }));
    }
    const nodes: Node[] = [];
    for (const bn of body.nodes) {
      for (const out of bn.outputs) local(out);
    }
    for (const bn of body.nodes) {
      const copy = new Node({
        opType: bn.opType,
        domain: bn.domain,
        name: bn.name ? scope.unique(bn.name) : "",
        inputs: bn.inputs.map((i) => rename.get(i) ?? i),
        outputs: bn.outputs.map((out) => rename.get(out) ?? out),
        attrs: bn.attrs,
        docString: bn.docString,
      });
      renameOuterReads(copy, rename);
      nodes.push(copy);
    }
    for (const [name, info] of body.valueInfo) if (rename.has(name)) g.valueInfo.set(rename.get(name)!, { ...info, name: rename.get(name)! });
    // Each If output takes the branch output's value: rename its producer's output, or copy an outer value.
    body.outputs.forEach((bo, k) => {
      const target = n.outputs[k];
      if (!target) return;
      const inner = rename.get(bo.name);
      const producer = inner ? nodes.find((x) => x.outputs.includes(inner)) : undefined;
      if (producer && body.outputs.filter((x) => x.name === bo.name).length === 1) {
        producer.outputs[producer.outputs.indexOf(inner!)] = target;
        for (const x of nodes) for (let i = 0; i < x.inputs.length; i++) if (x.inputs[i] === inner) x.inputs[i] = target;
        for (const x of nodes) renameOuterReads(x, new Map([[inner!, target]]));
      } else {
        nodes.push(new Node({ opType: "Identity", name: scope.unique(`${n.name || "If"}_${k}`), inputs: [inner ?? bo.name], outputs: [target] }));
      }
    });
    g.replaceNode(n, nodes);
    report.branches.push({ node: n.name, taken });
    inlined++;
  }
  if (inlined) g.prune();
  return inlined;
}

/** Every name used anywhere in the graph and its subgraphs (ONNX names are unique model-wide). */
function modelNames(g: Graph, into = new Set<string>()): Set<string> {
  for (const k of g.initializers.keys()) into.add(k);
  for (const v of [...g.inputs, ...g.outputs]) into.add(v.name);
  for (const n of g.nodes) {
    into.add(n.name);
    for (const v of [...n.inputs, ...n.outputs]) into.add(v);
    for (const sg of subgraphsOf(n)) modelNames(sg, into);
  }
  return into;
}

/** The output of a Shape node (with its `start`/`end`) on a value of static shape `dims`. */
function shapeTensor(n: Node, dims: number[]): Tensor {
  const rank = dims.length;
  const axis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = axis(n.attrInt("start", 0));
  const part = dims.slice(start, Math.max(start, axis(n.attrInt("end", rank))));
  return Tensor.fromArray(n.outputs[0], [part.length], BigInt64Array.from(part.map(BigInt)));
}

/** Runs `nodes` (all their inputs constant) in ONNX Runtime and returns `fetch` as tensors. */
async function evaluate(
  model: Model,
  nodes: Node[],
  known: Map<string, Tensor>,
  fetch: string[],
  runtime: Runtime | RuntimeName,
): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  const wanted = fetch.filter((v) => !known.has(v));
  if (!wanted.length) return out;
  const g = model.graph;
  const sub = new Graph(`${g.name}_constants`);
  sub.nodes = nodes;
  for (const n of nodes) {
    for (const i of n.inputs) {
      const t = g.initializers.get(i) ?? known.get(i);
      if (t) sub.initializers.set(i, t);
    }
  }
  sub.outputs = wanted.map((name) => ({ name }));
  const bytes = encodeModel(new Model(sub, { irVersion: model.irVersion, opsets: model.opsets })).bytes;
  const rt = typeof runtime === "string" ? await getRuntime(runtime) : runtime;
  const session = await rt.createSession(bytes, { graphOptimizationLevel: "disabled" });
  try {
    const result = await session.run({}, wanted);
    for (const name of wanted) {
      const v = result[name];
      if (v.dtype === "string") continue;
      out.set(name, Tensor.fromArray(name, v.dims, v.data as TypedArray, v.dtype as DType));
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Values computed after a data-dependent op: their recorded shapes may differ on other inputs. */
function dataDependentValues(order: readonly Node[]): Set<string> {
  const out = new Set<string>();
  for (const n of order) {
    const custom = n.domain !== "" && n.domain !== "ai.onnx";
    if (custom || DATA_DEPENDENT.has(n.opType) || n.inputs.some((i) => out.has(i))) for (const o of n.outputs) out.add(o);
  }
  return out;
}

function hasSubgraph(n: Node): boolean {
  return subgraphsOf(n).length > 0;
}
