import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Attribute, type DType, Graph, Model, Node, Tensor } from "../ir/mod.ts";
import { encodeModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { constantsToInitializers } from "./constants.ts";

const Constants = suite("constantsToInitializers");

function constant(out: string, key: string, a: Attribute): Node {
  return new Node({ opType: "Constant", name: `const_${out}`, outputs: [out], attrs: { [key]: a } });
}

/** A graph whose only node reads `c`, so the Constant is not a graph output. */
function graphWith(node: Node): Graph {
  const g = new Graph("g");
  g.addNode(node);
  g.addNode(new Node({ opType: "Identity", inputs: ["c"], outputs: ["y"] }));
  g.outputs.push({ name: "y" });
  return g;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const cases: [string, Attribute, DType, number[], unknown[]][] = [
  ["value_float", { type: "float", value: 1.5 }, "float32", [], [1.5]],
  ["value_floats", { type: "floats", value: [1, 2.5] }, "float32", [2], [1, 2.5]],
  ["value_int", { type: "int", value: -3 }, "int64", [], [-3]],
  ["value_ints", { type: "ints", value: [4, 5, 6] }, "int64", [3], [4, 5, 6]],
  ["value_string", { type: "string", value: "é" }, "string", [], [utf8("é")]],
  ["value_strings", { type: "strings", value: ["a", "bc"] }, "string", [2], [utf8("a"), utf8("bc")]],
];
for (const [key, attr, dtype, dims, values] of cases) {
  Constants(`${key} becomes a ${dtype}[${dims}] initializer named after the output`, () => {
    const g = graphWith(constant("c", key, attr));
    assert.is(constantsToInitializers(g), 1);
    const t = g.constant("c")!;
    assert.ok(t, "initializer c");
    assert.is(t.name, "c");
    assert.is(t.dtype, dtype);
    assert.equal(t.dims, dims);
    assert.equal(dtype === "string" ? t.strings : t.toNumbers(), values);
    assert.equal(g.nodes.map((n) => n.opType), ["Identity"]);
  });
}

Constants("a value tensor keeps its bytes (shared, not copied)", () => {
  const src = Tensor.fromArray("", [2, 2], new Float32Array([1, 2, 3, 4]));
  const g = graphWith(constant("c", "value", { type: "tensor", value: src }));
  assert.is(constantsToInitializers(g), 1);
  assert.ok(g.constant("c")!.bytes === src.bytes);
  assert.equal(Array.from(g.constant("c")!.toFloat32()), [1, 2, 3, 4]);
});

Constants("a Constant that is a graph output stays a node", () => {
  const g = new Graph("g");
  g.addNode(constant("c", "value_float", { type: "float", value: 2 }));
  g.outputs.push({ name: "c" });
  assert.is(constantsToInitializers(g), 0);
  assert.is(g.nodes.length, 1);
  assert.is(g.initializers.size, 0);
});

Constants("a sparse_value Constant stays a node", () => {
  const g = graphWith(constant("c", "sparse_value", { type: "opaque", value: {} }));
  assert.is(constantsToInitializers(g), 0);
  assert.is(g.nodes[0].opType, "Constant");
});

/** If(cond) then x + [1, 2] else [5, 5]; each branch holds a Constant. */
function ifModel(): Model {
  const branch = (name: string, body: Node[], out: string) => {
    const g = new Graph(name);
    for (const n of body) g.addNode(n);
    g.outputs.push({ name: out, dtype: "float32", shape: [2] });
    return g;
  };
  const f32 = (v: number[]): Attribute => ({ type: "tensor", value: Tensor.fromArray("", [2], new Float32Array(v)) });
  const thenG = branch("then", [
    constant("k", "value", f32([1, 2])),
    new Node({ opType: "Add", inputs: ["x", "k"], outputs: ["t"] }),
  ], "t");
  const elseG = branch("else", [constant("e", "value", f32([5, 5]))], "e");
  const g = new Graph("main");
  g.inputs.push({ name: "x", dtype: "float32", shape: [2] }, { name: "cond", dtype: "bool", shape: [] });
  g.addNode(constant("one", "value_floats", { type: "floats", value: [1, 1] }));
  g.addNode(
    new Node({
      opType: "If",
      inputs: ["cond"],
      outputs: ["r"],
      attrs: { then_branch: { type: "graph", value: thenG }, else_branch: { type: "graph", value: elseG } },
    }),
  );
  g.addNode(new Node({ opType: "Mul", inputs: ["r", "one"], outputs: ["y"] }));
  g.outputs.push({ name: "y", dtype: "float32", shape: [2] });
  return new Model(g, { opsets: new Map([["", 13]]) });
}

async function run(m: Model, cond: boolean): Promise<number[]> {
  const rt = await getRuntime("node");
  const s = await rt.createSession(encodeModel(m).bytes);
  try {
    const feeds: Record<string, TensorValue> = {
      x: { dtype: "float32", dims: [2], data: new Float32Array([10, 20]) },
      cond: { dtype: "bool", dims: [], data: new Uint8Array([cond ? 1 : 0]) },
    };
    return Array.from((await s.run(feeds)).y.data as Float32Array);
  } finally {
    await s.release();
  }
}

Constants("If branches: their Constants become branch initializers, branch outputs stay, results match", async () => {
  const m = ifModel();
  const before = [await run(m, true), await run(m, false)];
  assert.is(constantsToInitializers(m.graph), 2);
  const ifNode = m.graph.nodes.find((n) => n.opType === "If")!;
  const [thenG, elseG] = ["then_branch", "else_branch"].map((k) => (ifNode.attrs.get(k) as { value: Graph }).value);
  assert.ok(m.graph.constant("one"));
  assert.ok(thenG.constant("k"), "then-branch constant is its initializer");
  assert.equal(elseG.nodes.map((n) => n.opType), ["Constant"], "else-branch output stays a Constant");
  assert.equal([await run(m, true), await run(m, false)], before);
  assert.equal(before, [[11, 22], [5, 5]]);
});

Constants.run();
