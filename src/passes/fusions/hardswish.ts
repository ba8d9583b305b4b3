/**
 * HardSigmoid and HardSwish from their decompositions, as exporters write
 * them below opset 14 (PaddlePaddle, PyTorch's `x * relu6(x + 3) / 6`):
 *
 *   Clip(x + 3, 0, 6) / 6            → HardSigmoid(x) (alpha 1/6, beta 0.5)
 *   x · Clip(x + 3, 0, 6) / 6        → HardSwish(x)
 *   x · HardSigmoid(x; 1/6, 0.5)     → HardSwish(x)
 *
 * (`/ 6` also as `· (1/6)`.) An integer target then quantizes one input and
 * one output instead of four fragments, each with its own rounding.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import { Node } from "../../ir/node.ts";
import { scalarOf, soleReader } from "../_graph.ts";
import { dataInput, near, producedBy } from "./_match.ts";

/** `x + 3` → Clip(·, 0, 6): the Clip's data input x, or `undefined` when `clip` is not that. */
function relu6Plus3(graph: Graph, clip: Node): { x: string; add: Node } | undefined {
  if (clip.opType !== "Clip" || !near(scalarOf(graph, clip.inputs[1]), 0) || !near(scalarOf(graph, clip.inputs[2]), 6)) return undefined;
  const add = producedBy(graph, clip.inputs[0], "Add");
  if (!add || soleReader(graph, add.outputs[0]) !== clip) return undefined;
  const d = dataInput(graph, add);
  if (d < 0 || !near(scalarOf(graph, add.inputs[1 - d]), 3)) return undefined;
  return { x: add.inputs[d], add };
}

/** A Div by 6 or a Mul by 1/6: its data input, else `undefined`. */
function overSix(graph: Graph, node: Node): string | undefined {
  const d = dataInput(graph, node);
  if (d < 0) return undefined;
  const c = scalarOf(graph, node.inputs[1 - d]);
  if (node.opType === "Div" && near(c, 6)) return node.inputs[d];
  if (node.opType === "Mul" && near(c, 1 / 6)) return node.inputs[d];
  return undefined;
}

/** Replaces `last` (and the `inner` nodes) by `op(x)`, which takes `last`'s output and name. */
function replace(graph: Graph, last: Node, inner: Node[], op: Node): void {
  graph.replaceNode(last, [op]);
  graph.removeNodes(inner);
}

/** Clip(x + 3, 0, 6) / 6 → HardSigmoid(x). Returns the nodes made. */
export function fuseHardSigmoid(graph: Graph): string[] {
  const made: string[] = [];
  for (const div of [...graph.nodes]) {
    if (div.opType !== "Div" && div.opType !== "Mul") continue;
    const clip = producedBy(graph, overSix(graph, div), "Clip");
    if (!clip || soleReader(graph, clip.outputs[0]) !== div) continue;
    const m = relu6Plus3(graph, clip);
    if (!m) continue;
    const hs = new Node({
      opType: "HardSigmoid",
      name: div.name || graph.uniqueName("HardSigmoid"),
      inputs: [m.x],
      outputs: [div.outputs[0]],
      attrs: { alpha: { type: "float", value: 1 / 6 }, beta: { type: "float", value: 0.5 } },
    });
    replace(graph, div, [clip, m.add], hs);
    made.push(hs.name);
  }
  return made;
}

/** x · Clip(x + 3, 0, 6) / 6 and x · HardSigmoid(x; 1/6, 0.5) → HardSwish(x). Returns the nodes made. */
export function fuseHardSwish(graph: Graph): string[] {
  const made: string[] = [];
  for (const node of [...graph.nodes]) {
    if (!graph.nodes.includes(node)) continue;
    let last: Node, mul: Node | undefined, inner: Node[], x: string | undefined;
    if (node.opType === "Div" || (node.opType === "Mul" && dataInput(graph, node) >= 0)) {
      // (x · Clip(x + 3, 0, 6)) / 6
      mul = producedBy(graph, overSix(graph, node), "Mul");
      if (!mul || soleReader(graph, mul.outputs[0]) !== node) continue;
      last = node;
      const found = gate(graph, mul, "clip");
      if (!found) continue;
      ({ x, inner } = found);
      inner.push(mul);
    } else if (node.opType === "Mul") {
      // x · HardSigmoid(x; 1/6, 0.5)
      const found = gate(graph, node, "hardsigmoid");
      if (!found) continue;
      last = node;
      ({ x, inner } = found);
    } else continue;
    const hs = new Node({ opType: "HardSwish", name: last.name || graph.uniqueName("HardSwish"), inputs: [x], outputs: [last.outputs[0]] });
    replace(graph, last, inner, hs);
    made.push(hs.name);
  }
  return made;
}

/** For `mul` = x · gate(x): x and the gate's nodes, when the gate is Clip(x + 3, 0, 6) or HardSigmoid(x; 1/6, 0.5). */
function gate(graph: Graph, mul: Node, kind: "clip" | "hardsigmoid"): { x: string; inner: Node[] } | undefined {
  if (mul.opType !== "Mul" || mul.inputs.length !== 2) return undefined;
  for (const k of [0, 1]) {
    const g = producedBy(graph, mul.inputs[k], kind === "clip" ? "Clip" : "HardSigmoid");
    if (!g || soleReader(graph, g.outputs[0]) !== mul) continue;
    const x = mul.inputs[1 - k];
    if (kind === "clip") {
      const m = relu6Plus3(graph, g);
      if (m && m.x === x) return { x, inner: [g, m.add] };
    } else if (g.inputs[0] === x && near(g.attrFloat("alpha", 0.2), 1 / 6) && near(g.attrFloat("beta", 0.5), 0.5)) {
      return { x, inner: [g] };
    }
  }
  return undefined;
}
