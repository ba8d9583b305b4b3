import { test } from "uvu";
import * as assert from "uvu/assert";
import { Graph } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { runModel } from "../quantize/_testing.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import { randomInput } from "../quantize/_testing.ts";
import { foldConstants } from "./fold_constants.ts";
import { freezeInputs, parseInputValues } from "./freeze_inputs.ts";
import { normalize } from "./mod.ts";
import { makeShapesStatic } from "./static_shapes.ts";

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType).sort();
const out = async (m: Model, feeds: Record<string, ReturnType<typeof randomInput>>) => Array.from((await runModel(m, [feeds]))[0].y.data as Float32Array);

test("constant subgraphs fold: ConstantOfShape/Concat/Cast pads, Range, Equal/GreaterOrEqual/Not → Where, Shape → Gather → Concat → Reshape target", async () => {
  const b = new Builder();
  const x = b.input("x", [-1, 4, 6, 6] as number[]);
  b.g.inputs[0].shape = ["N", 4, 6, 6];
  // tf2onnx's pads: ConstantOfShape([4]) → Concat with [0,0,1,1] → Cast → Pad.
  const zeros = b.node("ConstantOfShape", [b.ints("four", [4])], "zeros", { value: { type: "tensor", value: Tensor.fromArray("v", [1], BigInt64Array.of(0n)) } });
  const pads = b.node("Concat", [zeros, b.ints("tail", [0, 0, 1, 1])], "pads8", { axis: int(0) });
  const padsI = b.node("Cast", [pads], "pads", { to: int(7) });
  const padded = b.node("Pad", [x, padsI], "padded"); // [N,4,7,7]
  // A per-channel scale from Range and comparisons on constants.
  const r = b.node("Range", [b.scalar("start", 0), b.scalar("limit", 4), b.scalar("delta", 1)], "r"); // [0,1,2,3]
  const ge = b.node("GreaterOrEqual", [r, b.scalar("two", 2)], "ge");
  const eq = b.node("Equal", [r, b.scalar("one", 1)], "eq");
  const not = b.node("Not", [eq], "noteq");
  const both = b.node("And", [ge, not], "both");
  const sel = b.node("Where", [both, b.scalar("big", 3), b.scalar("small", 0.5)], "sel");
  const scale = b.node("Reshape", [sel, b.ints("c11", [4, 1, 1])], "scale");
  const scaled = b.node("Mul", [padded, scale], "scaled");
  // The Reshape target from the value's own shape: [N, 4*7*7].
  const shape = b.node("Shape", [scaled], "shp");
  const n = b.node("Gather", [shape, b.init("zero", [1], BigInt64Array.of(0n))], "n", { axis: int(0) });
  const target = b.node("Concat", [n, b.ints("rest", [196])], "target", { axis: int(0) });
  b.node("Reshape", [scaled, target], "y");
  const model = b.model(["y"]);
  const feeds = { x: randomInput([1, 4, 6, 6], 3) };
  const before = await out(model, feeds);

  const report = await normalize(model, { shapes: false });
  assert.equal(report.constantsFolded?.folded, {
    ConstantOfShape: 1, Concat: 1, Cast: 1, Range: 1, GreaterOrEqual: 1, Equal: 1, Not: 1, And: 1, Where: 1, Reshape: 1,
  });
  assert.equal(ops(model), ["Concat", "Gather", "Mul", "Pad", "Reshape", "Shape"], "only the shape chain of a dynamic input is left");
  const s = await makeShapesStatic(model, { x: [1, 4, 6, 6] });
  assert.is(s.folded, 3, "Shape, Gather, Concat");
  assert.equal(ops(model), ["Mul", "Pad", "Reshape"]);
  assert.equal(model.graph.constant(model.graph.nodes.find((x) => x.opType === "Reshape")!.inputs[1])!.toNumbers(), [1, 196]);
  const after = await out(model, feeds);
  assert.equal(after, before, "same outputs, bit for bit");
});

test("a node whose output is a graph output, or that is random, stays", async () => {
  const b = new Builder();
  b.input("x", [1, 2]);
  b.node("Add", [b.scalar("a", 1), b.scalar("c", 2)], "y");
  b.node("RandomUniform", [], "noise", { shape: ints([2]) });
  b.node("Add", ["x", "noise"], "z");
  const m = b.model(["y", "z"]);
  const r = await foldConstants(m);
  assert.equal(r.folded, {});
  assert.equal(ops(m), ["Add", "Add", "RandomUniform"]);
});

/** y = If(flag) then Relu(x) · w (w a branch initializer) else x (an outer value, straight through). */
function ifModel(): Model {
  const g = new Graph("if");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1, 4] }, { name: "flag", dtype: "bool", shape: [] });
  const then = new Graph("then");
  then.initializers.set("w", Tensor.fromArray("w", [4], new Float32Array([1, 2, 3, 4])));
  then.nodes.push(
    new Node({ opType: "Relu", name: "Relu_0", inputs: ["x"], outputs: ["r"] }),
    new Node({ opType: "Mul", name: "Mul_0", inputs: ["r", "w"], outputs: ["t"] }),
  );
  then.outputs.push({ name: "t", dtype: "float32", shape: [1, 4] });
  const els = new Graph("else");
  els.nodes.push(new Node({ opType: "Identity", name: "Id_0", inputs: ["x"], outputs: ["e"] }));
  els.outputs.push({ name: "e", dtype: "float32", shape: [1, 4] });
  g.nodes.push(new Node({
    opType: "If",
    name: "If_0",
    inputs: ["flag"],
    outputs: ["y"],
    attrs: { then_branch: { type: "graph", value: then }, else_branch: { type: "graph", value: els } },
  }));
  // A name the branch also uses: the inlined copy must get a fresh one.
  g.nodes.push(new Node({ opType: "Neg", name: "Relu_0", inputs: ["y"], outputs: ["z"] }));
  g.outputs.push({ name: "y", dtype: "float32", shape: [1, 4] }, { name: "z", dtype: "float32", shape: [1, 4] });
  return new Model(g, { opsets: new Map([["", 13]]), irVersion: 8 });
}

test("an If on a frozen input inlines the taken branch with fresh names; else branches that pass an outer value get an Identity", async () => {
  const feeds = { x: { dtype: "float32" as const, dims: [1, 4], data: new Float32Array([-1, 0.5, 2, -3]) } };
  for (const [flag, taken, expected] of [[1, "then_branch", [0, 1, 6, 0]], [0, "else_branch", [-1, 0.5, 2, -3]]] as const) {
    const m = ifModel();
    assert.equal(freezeInputs(m, parseInputValues([`flag=${flag}`])), { flag: [] });
    const r = await foldConstants(m);
    assert.equal(r.branches, [{ node: "If_0", taken }]);
    assert.not.ok(m.graph.nodes.some((n) => n.opType === "If"));
    const names = m.graph.nodes.map((n) => n.name);
    assert.is(new Set(names).size, names.length, `unique node names: ${names}`);
    const res = (await runModel(m, [feeds]))[0];
    assert.equal(Array.from(res.y.data as Float32Array), expected);
    assert.equal(Array.from(res.z.data as Float32Array), expected.map((v) => (v === 0 ? -0 : -v)));
  }
});

test("--input-value errors: an unknown input, a bad spec, a value the dtype cannot hold", () => {
  assert.throws(() => parseInputValues(["sr"]), /Option --input-value must look like NAME=16000/);
  assert.throws(() => freezeInputs(ifModel(), { sr: [1] }), /Unknown input "sr" in --input-value: the model's inputs are "x", "flag"/);
  assert.throws(() => freezeInputs(ifModel(), { flag: [1, 0] }), /Cannot freeze input "flag" to 2 value\(s\): it is declared \[\]/);
  const m = ifModel();
  m.graph.inputs[1].dtype = "int64";
  assert.throws(() => freezeInputs(m, { flag: [0.5] }), /it takes int64, integers only/);
});

test.run();
