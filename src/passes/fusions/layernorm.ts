/**
 * LayerNormalization (opset 17) from the decomposition exporters write
 * below it (PaddlePaddle, PyTorch at opset < 17, tf2onnx):
 *
 *   d = x − ReduceMean(x, axes)
 *   y = d / Sqrt(ReduceMean(d², axes) + ε)      (d² as Pow(d, 2) or d · d)
 *   [· γ] [+ β]
 *
 * over the last axes of x → LayerNormalization(x, γ, β, axis, ε). A target
 * that runs LayerNormalization as one op then quantizes its input and output
 * instead of nine fragments (the variance, the square root and the quotient
 * each lose resolution of their own).
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import { Node } from "../../ir/node.ts";
import { Tensor } from "../../ir/tensor.ts";
import { constantOf, scalarOf, soleReader } from "../_graph.ts";
import { dataInput, near, producedBy } from "./_match.ts";

/** The axes of a ReduceMean that keeps dims, as negative axes, when they are the last k axes. */
export function trailingAxes(graph: Graph, node: Node): number[] | undefined {
  if (node.opType !== "ReduceMean" || node.attrInt("keepdims", 1) !== 1) return undefined;
  let axes = node.attrInts("axes");
  if (!axes && node.inputs[1]) axes = constantOf(graph, node.inputs[1])?.toNumbers();
  if (!axes || axes.length === 0) return undefined;
  const rank = graph.info(node.inputs[0])?.shape?.length;
  const neg = axes.map((a) => (a < 0 ? a : rank === undefined ? NaN : a - rank)).sort((a, b) => a - b);
  return neg.every((a, i) => a === -neg.length + i) ? neg : undefined;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A Div that scales d by the root mean square of d over trailing axes: d / Sqrt(ReduceMean(d²) [+ ε]). */
export interface RmsDivision {
  /** The value divided, d. */
  d: string;
  /** Pow(d, 2) or d · d. */
  square: Node;
  /** The ReduceMean of the square (dims kept), and its trailing axes. */
  mean: Node;
  axes: number[];
  /** The Add of ε and ε's value, when there is one. */
  epsilon?: { add: Node; value: number };
  sqrt: Node;
}

/**
 * The root-mean-square chain behind `div`, each node read only by the next,
 * or `undefined`. It does not check who else reads d.
 */
export function rmsDivision(graph: Graph, div: Node): RmsDivision | undefined {
  if (div.opType !== "Div" || div.domain !== "" || div.inputs.length !== 2) return undefined;
  const d = div.inputs[0];
  const sqrt = producedBy(graph, div.inputs[1], "Sqrt");
  if (!sqrt || soleReader(graph, sqrt.outputs[0]) !== div) return undefined;
  let below: Node = sqrt, epsilon: RmsDivision["epsilon"];
  const add = producedBy(graph, sqrt.inputs[0], "Add");
  if (add) {
    const ei = dataInput(graph, add);
    const value = ei < 0 ? undefined : scalarOf(graph, add.inputs[1 - ei]);
    if (value === undefined || soleReader(graph, add.outputs[0]) !== sqrt) return undefined;
    below = add;
    epsilon = { add, value };
  }
  const mean = producedBy(graph, below.inputs[epsilon ? dataInput(graph, epsilon.add) : 0], "ReduceMean");
  if (!mean || soleReader(graph, mean.outputs[0]) !== below) return undefined;
  const axes = trailingAxes(graph, mean);
  if (!axes) return undefined;
  const square = producedBy(graph, mean.inputs[0], ["Pow", "Mul"]);
  if (!square || soleReader(graph, square.outputs[0]) !== mean) return undefined;
  const squares = square.opType === "Pow" ? square.inputs[0] === d && near(scalarOf(graph, square.inputs[1]), 2) : square.inputs[0] === d && square.inputs[1] === d;
  return squares ? { d, square, mean, axes, ...(epsilon ? { epsilon } : {}), sqrt } : undefined;
}

/** Fuses every decomposed layer norm; returns the LayerNormalization nodes made. */
export function fuseLayerNorm(graph: Graph): string[] {
  const made: string[] = [];
  for (const div of [...graph.nodes]) {
    if (div.opType !== "Div" || div.inputs.length !== 2 || !graph.nodes.includes(div)) continue;
    const sub = producedBy(graph, div.inputs[0], "Sub");
    if (!sub) continue;
    const mean = producedBy(graph, sub.inputs[1], "ReduceMean");
    const x = sub.inputs[0];
    if (!mean || mean.inputs[0] !== x || soleReader(graph, mean.outputs[0]) !== sub) continue;
    const axes = trailingAxes(graph, mean);
    if (!axes) continue;
    const d = sub.outputs[0];
    const dReaders = graph.consumers(d);
    if (graph.isOutput(d) || dReaders.length !== 2) continue;
    const rms = rmsDivision(graph, div);
    if (!rms?.epsilon || !(rms.epsilon.value > 0) || !same(rms.axes, axes)) continue;
    const { square: sq, mean: var_, sqrt } = rms, addEps = rms.epsilon.add, eps = rms.epsilon.value;
    if (!dReaders.includes(sq) || !dReaders.includes(div)) continue;

    // Optional scale and shift by constants of the normalized shape.
    let last = div;
    const inner: Node[] = [mean, sub, sq, var_, addEps, sqrt];
    let gamma: Tensor | undefined, beta: Tensor | undefined;
    const next = soleReader(graph, div.outputs[0]);
    if (next?.opType === "Mul" && dataInput(graph, next) >= 0) {
      gamma = constantOf(graph, next.inputs[1 - dataInput(graph, next)]);
      inner.push(last);
      last = next;
    }
    const after = soleReader(graph, last.outputs[0]);
    if (after?.opType === "Add" && dataInput(graph, after) >= 0) {
      beta = constantOf(graph, after.inputs[1 - dataInput(graph, after)]);
      inner.push(last);
      last = after;
    }
    const shape = normalizedShape(graph, x, axes, gamma, beta);
    if (!shape) continue;
    const scale = asShape(graph, gamma, shape, 1, `${last.outputs[0]}_ln_scale`);
    const bias = beta ? asShape(graph, beta, shape, 0, `${last.outputs[0]}_ln_bias`) : undefined;
    if (!scale || (beta && !bias)) continue;
    const ln = new Node({
      opType: "LayerNormalization",
      name: last.name || graph.uniqueName("LayerNormalization"),
      inputs: bias ? [x, scale, bias] : [x, scale],
      outputs: [last.outputs[0]],
      attrs: { axis: { type: "int", value: axes[0] }, epsilon: { type: "float", value: eps } },
    });
    graph.replaceNode(last, [ln]);
    graph.removeNodes(inner);
    made.push(ln.name);
  }
  return made;
}

/** The dims of the normalized axes: from the recorded shape of x, else from γ or β. */
function normalizedShape(graph: Graph, x: string, axes: number[], ...params: (Tensor | undefined)[]): number[] | undefined {
  const s = graph.info(x)?.shape;
  if (s && s.length >= axes.length) {
    const tail = s.slice(s.length - axes.length);
    if (tail.every((d) => typeof d === "number")) return tail as number[];
  }
  for (const t of params) {
    if (!t) continue;
    const dims = t.dims.slice(-axes.length);
    if (dims.length === axes.length && t.dims.slice(0, -axes.length).every((d) => d === 1)) return [...dims];
  }
  return undefined;
}

/** `t` as a float32 tensor of `shape` (broadcast from a scalar), or `fill` when absent; registered under a new name. */
function asShape(graph: Graph, t: Tensor | undefined, shape: number[], fill: number, name: string): string | undefined {
  const n = shape.reduce((p, d) => p * d, 1);
  let data: Float32Array;
  if (!t) data = new Float32Array(n).fill(fill);
  else {
    if (t.dtype !== "float32") return undefined;
    const v = t.view() as Float32Array;
    const lead = t.dims.slice(0, Math.max(0, t.dims.length - shape.length));
    if (lead.some((d) => d !== 1)) return undefined;
    if (v.length === n) data = Float32Array.from(v);
    else if (v.length === 1) data = new Float32Array(n).fill(v[0]);
    else return undefined;
  }
  const unique = graph.uniqueName(name);
  graph.addInitializer(Tensor.fromArray(unique, shape, data));
  return unique;
}
