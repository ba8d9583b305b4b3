// Channel weights from a value's linear consumers: which ops count, the
// layouts they imply, and where there are none.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Graph } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { consumerWeights } from "./consumer_weights.ts";

const close = (got: readonly number[] | undefined, want: number[]) =>
  assert.ok(got && got.length === want.length && got.every((x, i) => Math.abs(x - want[i]) < 1e-6), `${JSON.stringify(got)} vs ${JSON.stringify(want)}`);

/** x [1, 2, 4, 4] → (extra nodes) with the value info of x only. */
function graph(nodes: Node[], inits: Tensor[]): Graph {
  const g = new Graph("g");
  for (const t of inits) g.addInitializer(t);
  g.inputs = [{ name: "x", dtype: "float32", shape: [1, 2, 4, 4] }];
  g.nodes = nodes;
  g.outputs = nodes.flatMap((n) => n.outputs.filter((o) => o.startsWith("y"))).map((name) => ({ name, dtype: "float32" }));
  return g;
}

test("Conv: ‖W_c‖² per input channel, scaled to a mean of 1, runs of H·W", () => {
  // 1×1 Conv, two outputs: channel 0 has weights 3 and 0, channel 1 has 1 and 0.
  const w = Tensor.fromArray("w", [2, 2, 1, 1], new Float32Array([3, 1, 0, 0]));
  const g = graph([new Node({ opType: "Conv", inputs: ["x", "w"], outputs: ["y"] })], [w]);
  const cw = consumerWeights(g, "x")!;
  assert.is(cw.inner, 16);
  close(cw.weights, [1.8, 0.2]);
});

test("grouped and depthwise Conv, ConvTranspose, MatMul and Gemm (transB) each weigh their own input channels", () => {
  // Depthwise 3×3: channel c's energy is its own kernel's.
  const dw = Tensor.fromArray("dw", [2, 1, 3, 3], new Float32Array(18).fill(1, 0, 9).fill(2, 9));
  close(consumerWeights(graph([new Node({ opType: "Conv", inputs: ["x", "dw"], outputs: ["y"], attrs: { group: { type: "int", value: 2 } } })], [dw]), "x")?.weights, [0.4, 1.6]);
  // ConvTranspose W [C, M, k, k]: channel c's slab.
  const ct = Tensor.fromArray("ct", [2, 1, 2, 2], new Float32Array([1, 1, 1, 1, 0, 0, 0, 1]));
  close(consumerWeights(graph([new Node({ opType: "ConvTranspose", inputs: ["x", "ct"], outputs: ["y"] })], [ct]), "x")?.weights, [1.6, 0.4]);
  // MatMul on the last axis (4): row k of W [4, 2].
  const m = Tensor.fromArray("m", [4, 2], new Float32Array([1, 1, 0, 0, 2, 0, 0, 0]));
  const mm = consumerWeights(graph([new Node({ opType: "MatMul", inputs: ["x", "m"], outputs: ["y"] })], [m]), "x")!;
  assert.is(mm.inner, 1);
  close(mm.weights, [4 / 3, 0, 8 / 3, 0]);
  // Gemm with transB: W [N, K], column k.
  const b = Tensor.fromArray("b", [2, 4], new Float32Array([1, 0, 2, 0, 1, 0, 0, 0]));
  close(consumerWeights(graph([new Node({ opType: "Gemm", inputs: ["x", "b"], outputs: ["y"], attrs: { transB: { type: "int", value: 1 } } })], [b]), "x")?.weights, [4 / 3, 0, 8 / 3, 0]);
});

test("a Conv input of unknown shape gets its channels from the weight and no run length (read as calibration runs)", () => {
  const w = Tensor.fromArray("w", [1, 2, 1, 1], new Float32Array([3, 1]));
  // t = Relu(MaxPool(x)): MaxPool changes the shape, so t's runs are not known before it runs.
  const pooled = graph([new Node({ opType: "MaxPool", inputs: ["x"], outputs: ["p"] }), new Node({ opType: "Relu", inputs: ["p"], outputs: ["t"] }), new Node({ opType: "Conv", inputs: ["t", "w"], outputs: ["y"] })], [w]);
  assert.equal(consumerWeights(pooled, "t"), { weights: [1.8, 0.2] });
});

test("two consumers add up; a shift Add before the Conv borrows its input's shape", () => {
  const w = Tensor.fromArray("w", [1, 2, 1, 1], new Float32Array([1, 1]));
  const v = Tensor.fromArray("v", [1, 2, 1, 1], new Float32Array([2, 0]));
  const shift = Tensor.fromArray("s", [1, 2, 1, 1], new Float32Array([0.5, -0.5]));
  const g = graph([
    new Node({ opType: "Add", inputs: ["x", "s"], outputs: ["t"] }),
    new Node({ opType: "Conv", inputs: ["t", "w"], outputs: ["y1"] }),
    new Node({ opType: "Conv", inputs: ["t", "v"], outputs: ["y2"] }),
  ], [w, v, shift]);
  const cw = consumerWeights(g, "t")!;
  assert.is(cw.inner, 16);
  close(cw.weights, [5 / 3, 1 / 3]);
});

test("no weights: a non-linear or weightless reader, a graph output, all-zero weights; no static runs past a constant that grows the shape", () => {
  const w = Tensor.fromArray("w", [1, 2, 1, 1], new Float32Array([1, 1]));
  const zero = Tensor.fromArray("z", [1, 2, 1, 1], new Float32Array(2));
  const conv = (x: string, k: string, y: string) => new Node({ opType: "Conv", inputs: [x, k], outputs: [y] });
  assert.is(consumerWeights(graph([conv("x", "w", "y1"), new Node({ opType: "Relu", inputs: ["x"], outputs: ["y2"] })], [w]), "x"), undefined);
  assert.is(consumerWeights(graph([new Node({ opType: "MatMul", inputs: ["x", "x"], outputs: ["y"] })], []), "x"), undefined);
  const out = graph([new Node({ opType: "Relu", inputs: ["x"], outputs: ["t"] }), conv("t", "w", "y")], [w]);
  out.outputs.push({ name: "t", dtype: "float32" });
  assert.is(consumerWeights(out, "t"), undefined);
  assert.is(consumerWeights(graph([conv("x", "z", "y")], [zero]), "x"), undefined);
  // A constant that broadcasts the value to a larger shape: the shape is not taken from x.
  const wide = Tensor.fromArray("s", [3, 1, 2, 4, 4], new Float32Array(96));
  assert.is(consumerWeights(graph([new Node({ opType: "Add", inputs: ["x", "s"], outputs: ["t"] }), conv("t", "w", "y")], [w, wide]), "t")?.inner, undefined);
});

test.run();
