// Fixing input dims: every shape becomes a number, the recognizer's
// Shape → Cast/Slice/Concat → Reshape chains fold into constants, outputs
// are unchanged; data-dependent shapes are left alone.
import * as ort from "onnxruntime-node";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { Graph } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { encodeModel } from "../onnx/encode.ts";
import { readModel } from "../onnx/file.ts";
import { REAL_MODELS, seededFloats } from "../../tests/fixtures/onnx_models.ts";
import { normalize } from "./mod.ts";
import { makeShapesStatic, parseInputShapes } from "./static_shapes.ts";

const Static = suite("normalize: static shapes");

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (e: unknown) => e);
  assert.instance(e, InputError);
  assert.match((e as Error).message, message);
}
const REC = REAL_MODELS.find((m) => m.name === "recognizer")!;

Static("parseInputShapes: NAME=d0,d1,… per option; anything else names the option", () => {
  assert.equal(parseInputShapes(["x=1,3,48,320", "mask=1,1"]), { x: [1, 3, 48, 320], mask: [1, 1] });
  for (const bad of ["x", "x=", "x=1,,3", "x=1,0", "x=1,-3", "=1,2", "x=1.5"]) {
    assert.throws(() => parseInputShapes([bad]), (e: Error) => e instanceof InputError && e.message.includes(`got "${bad}"`), bad);
  }
});

Static("the recognizer at [1,3,48,160]: no shape arithmetic left, every shape static, same outputs", async () => {
  const model = readModel(REC.file);
  await normalize(model, { shapes: false });
  const before = encodeModel(model).bytes;
  const shapeOps = (m: Model) => m.graph.nodes.filter((n) => ["Shape", "Cast"].includes(n.opType)).length;
  assert.ok(shapeOps(model) > 10, `${shapeOps(model)} Shape/Cast nodes before`);
  const r = await makeShapesStatic(model, { x: [1, 3, 48, 160] });
  assert.equal(r.inputs, { x: [1, 3, 48, 160] });
  assert.equal(r.dynamic, []);
  assert.is(shapeOps(model), 0);
  assert.ok(r.folded > 10, `${r.folded} nodes folded`);
  const g = model.graph;
  assert.equal(g.outputs[0].shape, [1, 20, 6625]);
  for (const n of g.nodes.filter((n) => n.opType === "Reshape")) {
    assert.is(g.constant(n.inputs[1])?.dtype, "int64", `${n.name} reads a constant shape`);
  }
  const x = new ort.Tensor("float32", seededFloats(3 * 48 * 160, 5), [1, 3, 48, 160]);
  const run = async (bytes: Uint8Array) => Object.values(await (await ort.InferenceSession.create(bytes)).run({ x }))[0].data as Float32Array;
  const [a, b] = [await run(before), await run(encodeModel(model).bytes)];
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-5), "outputs unchanged");
});

Static("unknown inputs and shapes that contradict declared dims are refused", async () => {
  const model = readModel(REC.file);
  await normalize(model, { shapes: false });
  await rejects(makeShapesStatic(model, { y: [1, 3, 48, 160] }), /Unknown input "y" in --input-shape: the model's inputs are "x"/);
  await rejects(
    makeShapesStatic(model, { x: [1, 3, 32, 160] }),
    /Cannot give input "x" the shape \[1,3,32,160\]: it is declared \[p2o.DynamicDimension.0,3,48,p2o.DynamicDimension.1\]/,
  );
  await rejects(makeShapesStatic(model, { x: [3, 48, 160] }), /it is declared/);
});

Static("a shape that depends on data (after NonZero) is not folded", async () => {
  const g = new Graph("nz");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
  g.addNode(new Node({ opType: "NonZero", name: "nz", inputs: ["x"], outputs: ["idx"] }));
  g.addNode(new Node({ opType: "Shape", name: "shape", inputs: ["idx"], outputs: ["s"] }));
  g.addNode(new Node({ opType: "Reshape", name: "reshape", inputs: ["idx", "s"], outputs: ["r"] }));
  g.addNode(new Node({ opType: "Cast", name: "cast", inputs: ["r"], outputs: ["y"], attrs: { to: { type: "int", value: 1 } } }));
  g.outputs.push({ name: "y", dtype: "float32" });
  const model = new Model(g, { opsets: new Map([["", 13]]), irVersion: 8 });
  const r = await makeShapesStatic(model, { x: [2, 3] });
  assert.ok(g.nodes.some((n) => n.opType === "Shape"), "Shape of NonZero's output kept");
  assert.is(r.folded, 0);
});

Static.run();
