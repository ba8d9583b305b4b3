/**
 * Structural copies: new nodes, graphs and value infos that can be edited
 * without touching the original. Tensors are shared (they are never changed
 * in place; passes make new ones).
 *
 * @module
 */
import { Graph, type ValueInfo } from "./graph.ts";
import { type Attribute, Node } from "./node.ts";
import { Model } from "./model.ts";

/**
 * A copy of `model` whose graph can be edited freely.
 *
 * @example
 * ```ts
 * const copy = cloneModel(model);
 * copy.graph.nodes.pop(); // model.graph is unchanged
 * ```
 */
export function cloneModel(model: Model): Model {
  const m = new Model(cloneGraph(model.graph), {
    irVersion: model.irVersion,
    opsets: new Map(model.opsets),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    metadata: new Map(model.metadata),
    carry: model.carry,
  });
  return m;
}

/**
 * A copy of `graph` (and its subgraphs) sharing tensors with the original.
 *
 * @example
 * ```ts
 * const copy = cloneGraph(model.graph);
 * copy.nodes.pop(); // model.graph is unchanged
 * ```
 */
export function cloneGraph(graph: Graph): Graph {
  const g = new Graph(graph.name);
  g.docString = graph.docString;
  g.carry = graph.carry;
  g.nodes = graph.nodes.map(cloneNode);
  g.initializers = new Map(graph.initializers);
  g.inputs = graph.inputs.map(cloneInfo);
  g.outputs = graph.outputs.map(cloneInfo);
  g.valueInfo = new Map([...graph.valueInfo].map(([k, v]) => [k, cloneInfo(v)]));
  return g;
}

/**
 * A copy of a node with copied input/output lists and attributes.
 *
 * @example
 * ```ts
 * const n = cloneNode(node);
 * n.name = "copy"; // node keeps its name
 * ```
 */
export function cloneNode(n: Node): Node {
  const c = new Node({
    opType: n.opType,
    name: n.name,
    domain: n.domain,
    inputs: n.inputs,
    outputs: n.outputs,
    attrs: [...n.attrs].map(([k, a]) => [k, cloneAttr(a)] as [string, Attribute]),
    docString: n.docString,
  });
  c.carry = n.carry;
  return c;
}

function cloneAttr(a: Attribute): Attribute {
  switch (a.type) {
    case "floats":
    case "ints":
      return { type: a.type, value: [...a.value] };
    case "strings":
      return { type: a.type, value: [...a.value] };
    case "tensors":
      return { type: a.type, value: [...a.value] };
    case "graph":
      return { type: a.type, value: cloneGraph(a.value) };
    case "graphs":
      return { type: a.type, value: a.value.map(cloneGraph) };
    default:
      return { ...a };
  }
}

function cloneInfo(v: ValueInfo): ValueInfo {
  return { ...v, shape: v.shape ? [...v.shape] : undefined };
}
