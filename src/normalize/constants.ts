/**
 * Constant nodes → initializers, so later passes find every weight in one
 * place (`graph.initializers`) whatever the exporter did.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";

/**
 * Turns each Constant node of `graph` and of its subgraphs (If/Loop/Scan
 * bodies) into an initializer of the graph it sits in, named after the node's
 * output. The tensor bytes are shared, not copied. A Constant stays a node
 * when its output is an output of its graph (ONNX Runtime has mishandled
 * initializers returned as outputs, and If/Loop bodies must compute theirs)
 * or when it holds a sparse tensor. Returns how many nodes were converted.
 *
 * @example
 * ```ts
 * const n = constantsToInitializers(model.graph);
 * model.graph.nodes.some((x) => x.opType === "Constant"); // false unless kept
 * ```
 */
export function constantsToInitializers(graph: Graph): number {
  let converted = 0;
  const drop: Node[] = [];
  for (const node of graph.nodes) {
    for (const a of node.attrs.values()) {
      if (a.type === "graph") converted += constantsToInitializers(a.value);
      else if (a.type === "graphs") for (const g of a.value) converted += constantsToInitializers(g);
    }
    if (node.opType !== "Constant" || (node.domain !== "" && node.domain !== "ai.onnx")) continue;
    const out = node.outputs[0];
    if (!out || graph.isOutput(out)) continue;
    const t = constantValue(node, out);
    if (!t) continue;
    graph.addInitializer(t);
    drop.push(node);
  }
  if (drop.length) graph.removeNodes(drop);
  return converted + drop.length;
}

/** The tensor a Constant node yields, named `name`, or `undefined` (sparse or malformed). */
export function constantValue(node: Node, name: string): Tensor | undefined {
  const [key, a] = [...node.attrs][0] ?? [];
  if (node.attrs.size !== 1 || !a) return undefined;
  const utf8 = new TextEncoder();
  switch (key) {
    case "value": {
      if (a.type !== "tensor") return undefined;
      const t = a.value;
      return new Tensor({
        name,
        dtype: t.dtype,
        dims: t.dims,
        bytes: t.bytes,
        strings: t.strings,
        docString: t.docString,
        origin: t.origin,
      });
    }
    case "value_float":
      return a.type === "float" ? Tensor.fromArray(name, [], new Float32Array([a.value])) : undefined;
    case "value_floats":
      return a.type === "floats" ? Tensor.fromArray(name, [a.value.length], new Float32Array(a.value)) : undefined;
    case "value_int":
      return a.type === "int" ? Tensor.fromArray(name, [], BigInt64Array.of(BigInt(a.value))) : undefined;
    case "value_ints":
      return a.type === "ints"
        ? Tensor.fromArray(name, [a.value.length], BigInt64Array.from(a.value, (v) => BigInt(v)))
        : undefined;
    case "value_string":
      return a.type === "string"
        ? new Tensor({ name, dtype: "string", dims: [], strings: [utf8.encode(a.value)] })
        : undefined;
    case "value_strings":
      return a.type === "strings"
        ? new Tensor({ name, dtype: "string", dims: [a.value.length], strings: a.value.map((s) => utf8.encode(s)) })
        : undefined;
    default:
      // sparse_value, or an attribute this pass does not know: leave the node.
      return undefined;
  }
}
