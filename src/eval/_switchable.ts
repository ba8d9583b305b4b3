/**
 * A float model whose quantization can be switched on and off per node at
 * run time, for sensitivity analysis: every rounding the quantized model
 * does is put into the float graph behind a boolean graph input, one input
 * per unit, each an `If`: an activation's QuantizeLinear → DequantizeLinear
 * in one branch and the value as it is in the other; a node with rounded
 * weights or bias run on the dequantized or the float constants (both stay
 * constants ONNX Runtime prepacks). Only the branch taken runs: with
 * `Where` on the weights every recognizer run took 52 ms, with `Where` on
 * the activations 32 ms, with `If` throughout 20 ms (the float graph: 14).
 * One session then runs any mix of float and quantized units, so a node's
 * damage is measured without quantizing the model again.
 *
 * A unit is a node of the quantized model: its weights and bias, and the
 * rounding of what it outputs (a Relu or Clip the quantizer folded into it
 * belongs to it, as the rounding happens after the clamp). Roundings of
 * graph inputs form units of their own that name no node.
 *
 * @module
 */
import { cloneModel } from "../ir/clone.ts";
import { Graph, type NameScope } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";

/** One switch of the model: what it rounds and the nodes it stands for. */
export interface SwitchUnit {
  /** The node of the quantized model, or `input "x"` for a graph input's rounding. */
  name: string;
  opType: string;
  /** Nodes to keep float to remove what the unit rounds (empty for graph inputs). */
  nodes: string[];
  /** The boolean graph input that turns the unit's rounding on. */
  mask: string;
  /** Activation values and constants it rounds, by their float names. */
  values: string[];
  constants: string[];
}

/** The switchable model and its units, in graph order. */
export interface Switchable {
  model: Model;
  units: SwitchUnit[];
}

/**
 * Builds the switchable model from the float graph the quantizer read
 * (`fp32Graph`, names as in the quantized model) and the QDQ model. Roundings
 * whose value or reader cannot be found in the float graph are left out
 * (they are the quantizer's own plumbing, e.g. duplicated biases).
 */
export function switchableModel(fp32Graph: Model, quantized: Model): Switchable {
  const model = cloneModel(fp32Graph);
  const s = model.graph;
  const q = quantized.graph;
  const inQuantized = new Set(q.nodes.map((n) => n.name).filter(Boolean));
  const byName = new Map(s.nodes.filter((n) => n.name).map((n) => [n.name, n]));
  const units = new Map<string, SwitchUnit>();
  const scope = s.nameScope();
  // Readers of switched constants: the unit, and the dequantized copy per input slot.
  const switched = new Map<Node, { unit: SwitchUnit; slots: Map<number, Tensor> }>();

  const unitOf = (owner: Node | undefined, input: string): SwitchUnit => {
    let name: string, opType: string;
    const nodes: string[] = [];
    if (owner) {
      name = owner.label;
      opType = owner.opType;
      if (owner.name) nodes.push(owner.name);
    } else {
      name = `input "${input}"`;
      opType = "input";
    }
    let u = units.get(name);
    if (!u) {
      u = { name, opType, nodes, mask: scope.unique(`edgeq_switch_${units.size}`), values: [], constants: [] };
      units.set(name, u);
      s.inputs.push({ name: u.mask, dtype: "bool", shape: [] });
    }
    return u;
  };

  for (const dq of q.nodes) {
    if (dq.opType !== "DequantizeLinear") continue;
    const src = dq.inputs[0];
    const readers = q.consumers(dq.outputs[0]);
    if (q.constant(src)) {
      // A weight, bias or other constant: its reader gets an If that runs it on the dequantized copy.
      const dequantized = dequantize(q, dq);
      for (const r of readers) {
        const sr = byName.get(r.name);
        if (!sr) continue;
        r.inputs.forEach((v, k) => {
          if (v !== dq.outputs[0]) return;
          const w = s.constant(sr.inputs[k]);
          if (!w || w.dtype !== "float32" || w.size !== dequantized.length) return;
          const u = unitOf(r, "");
          let sw = switched.get(sr);
          if (!sw) switched.set(sr, sw = { unit: u, slots: new Map() });
          sw.slots.set(k, Tensor.fromArray(scope.unique(`${w.name}_switch_q`), [...w.dims], dequantized));
          u.constants.push(w.name);
        });
      }
      continue;
    }
    const qn = q.producer(src);
    if (qn?.opType !== "QuantizeLinear") continue;
    const v = qn.inputs[0];
    // The graph output case: the quantized model renamed what feeds Q and gave the DQ the output's name.
    const isOutput = q.isOutput(dq.outputs[0]) && !!s.producer(dq.outputs[0]);
    const value = isOutput ? dq.outputs[0] : v;
    if (!s.producer(value) && !s.inputs.some((i) => i.name === value)) continue;
    const targets = isOutput ? [] : readers.map((r) => byName.get(r.name)).filter((n): n is Node => !!n && n.inputs.includes(value));
    if (!isOutput && targets.length === 0) continue;
    const owner = ownerOf(q, s, qn, value, inQuantized);
    const u = unitOf(owner.node, value);
    for (const extra of owner.folded) if (!u.nodes.includes(extra)) u.nodes.push(extra);
    let raw = value;
    if (isOutput) {
      raw = scope.unique(`${value}_unrounded`);
      s.producer(value)!.outputs[s.producer(value)!.outputs.indexOf(value)] = raw;
      s.invalidate();
    }
    const params = qn.inputs.slice(1).filter(Boolean).map((p) => {
      const t = q.constant(p)!;
      const name = scope.unique(`${value}_switch_${p.endsWith("zero_point") ? "zero_point" : "scale"}`);
      s.addInitializer(t.reshape([...t.dims], name));
      return name;
    });
    const names = { q: scope.unique(`${value}_switch_q`), dq: scope.unique(`${value}_switch_dq`), out: isOutput ? value : scope.unique(`${value}_switched`) };
    const axis = qn.attrs.get("axis");
    const at = { ...(axis ? { axis } : {}) };
    const after = s.producer(raw);
    const thenG = new Graph(`${names.out}_then`);
    thenG.nodes.push(
      new Node({ opType: "QuantizeLinear", name: scope.unique(`${names.q}_node`), inputs: [raw, ...params], outputs: [names.q], attrs: at }),
      new Node({ opType: "DequantizeLinear", name: scope.unique(`${names.dq}_node`), inputs: [names.q, ...params], outputs: [names.dq], attrs: at }),
    );
    thenG.outputs = [{ name: names.dq }];
    const elseG = new Graph(`${names.out}_else`);
    const id = scope.unique(`${names.out}_id`);
    elseG.nodes.push(new Node({ opType: "Identity", name: scope.unique(`${id}_node`), inputs: [raw], outputs: [id] }));
    elseG.outputs = [{ name: id }];
    const added = [
      new Node({ opType: "If", name: scope.unique(`${names.out}_If`), inputs: [u.mask], outputs: [names.out], attrs: { then_branch: { type: "graph", value: thenG }, else_branch: { type: "graph", value: elseG } } }),
    ];
    if (after) for (const n of added.reverse()) s.addNode(n, { after });
    else for (const n of added) s.addNode(n, { before: s.nodes[0] });
    for (const t of targets) t.inputs = t.inputs.map((i) => (i === value ? names.out : i));
    s.invalidate();
    u.values.push(value);
  }
  for (const [node, sw] of switched) switchNode(s, node, sw.unit.mask, sw.slots, scope);
  s.sort();
  return { model, units: [...units.values()] };
}

/**
 * Replaces `node` by an If on `mask` whose then-branch runs it on the
 * dequantized constants and whose else-branch on the float ones: both keep
 * constant weights (ONNX Runtime prepacks them), and only one runs.
 */
function switchNode(s: Graph, node: Node, mask: string, slots: ReadonlyMap<number, Tensor>, scope: NameScope): void {
  const branch = (side: "then" | "else") => {
    const g = new Graph(`${node.label}_${side}`);
    const outs = node.outputs.map((o) => (o ? scope.unique(`${o}_${side}`) : ""));
    const inputs = node.inputs.map((v, k) => {
      const t = side === "then" ? slots.get(k) : undefined;
      if (!t) return v;
      g.addInitializer(t);
      return t.name;
    });
    g.nodes.push(new Node({ opType: node.opType, domain: node.domain, name: scope.unique(`${node.label}_${side}`), inputs, outputs: outs, attrs: node.attrs }));
    g.outputs = outs.filter(Boolean).map((name) => ({ name }));
    return g;
  };
  const sw = new Node({
    opType: "If",
    name: scope.unique(`${node.label}_switch`),
    inputs: [mask],
    outputs: node.outputs.filter(Boolean),
    attrs: { then_branch: { type: "graph", value: branch("then") }, else_branch: { type: "graph", value: branch("else") } },
  });
  s.replaceNode(node, [sw]);
}

/**
 * The node of the quantized model that owns a rounded value: its producer
 * there; a Relu/Clip of the float graph the quantizer folded away joins it.
 */
function ownerOf(q: Graph, s: Graph, qn: Node, value: string, inQuantized: ReadonlySet<string>): { node: Node | undefined; folded: string[] } {
  const folded: string[] = [];
  let p = s.producer(value);
  while (p && p.name && !inQuantized.has(p.name) && p.inputs.length >= 1) {
    folded.push(p.name);
    p = s.producer(p.inputs[0]);
  }
  const node = q.producer(qn.inputs[0]) ?? (p && inQuantized.has(p.name) ? q.nodes.find((n) => n.name === p!.name) : undefined);
  return { node, folded };
}

/** The float values a DequantizeLinear of a constant gives, per axis where it has one. */
function dequantize(q: Graph, dq: Node): Float32Array {
  const x = q.constant(dq.inputs[0])!.toFloat64();
  const t = q.constant(dq.inputs[0])!;
  const scale = q.constant(dq.inputs[1])!.toFloat64();
  const zp = dq.inputs[2] ? q.constant(dq.inputs[2])?.toFloat64() : undefined;
  const out = new Float32Array(x.length);
  if (scale.length === 1) {
    const z = zp ? zp[0] : 0;
    for (let i = 0; i < x.length; i++) out[i] = (x[i] - z) * scale[0];
    return out;
  }
  const rank = t.dims.length;
  const axis = ((dq.attrInt("axis", 1) % rank) + rank) % rank;
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = t.dims[axis];
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = (x[i] - (zp ? zp[c] : 0)) * scale[c];
  }
  return out;
}
