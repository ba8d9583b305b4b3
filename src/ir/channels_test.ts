// channelCounts: only values proven 4-D with a known channel count.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Graph, Node, Tensor } from "./mod.ts";
import { channelCounts } from "./channels.ts";

const node = (opType: string, inputs: string[], out: string, attrs = {}) => new Node({ opType, name: out, inputs, outputs: [out], attrs });
const int = (value: number) => ({ type: "int" as const, value });

test("weights, pools, elementwise ops, broadcasting, Concat and Resize carry channels; reshapes and unknown inputs do not", () => {
  const g = new Graph("g");
  g.inputs = [{ name: "x", dtype: "float32", shape: ["n", 3, "h", "w"] }, { name: "u", dtype: "float32", shape: ["n", "c", 8, 8] }];
  g.addInitializer(Tensor.fromArray("w8", [8, 3, 3, 3], new Float32Array(216)));
  g.addInitializer(Tensor.fromArray("w4", [4, 8, 1, 1], new Float32Array(32)));
  g.addInitializer(Tensor.fromArray("bias", [1, 8, 1, 1], new Float32Array(8)));
  g.addInitializer(Tensor.fromArray("row", [8], new Float32Array(8)));
  g.addInitializer(Tensor.fromArray("scales", [4], new Float32Array([1, 1, 2, 2])));
  g.addInitializer(Tensor.fromArray("shape", [2], new BigInt64Array([1n, -1n])));
  g.nodes = [
    node("Conv", ["x", "w8"], "c8"),
    node("Relu", ["c8"], "r"),
    node("Add", ["r", "bias"], "b"),
    node("Mul", ["b", "r"], "m"),
    node("GlobalAveragePool", ["m"], "gap"),
    node("Conv", ["m", "w4"], "c4"),
    node("Concat", ["m", "c4"], "cat", { axis: int(1) }),
    node("Resize", ["cat", "", "scales"], "up"),
    node("Add", ["c4", "row"], "wide"), // [8] broadcasts on W: channels stay 4
    node("Reshape", ["m", "shape"], "flat"),
    node("Relu", ["u"], "ru"),
  ];
  const counts = channelCounts(g);
  assert.equal(Object.fromEntries([...counts].sort()), { b: 8, c4: 4, c8: 8, cat: 12, gap: 8, m: 8, r: 8, up: 12, wide: 4, x: 3 });
});

test("through QuantizeLinear and DequantizeLinear, and from a Conv weight behind its DequantizeLinear", () => {
  const g = new Graph("g");
  g.inputs = [{ name: "x", dtype: "float32", shape: [1, 3, 8, 8] }];
  g.addInitializer(Tensor.fromArray("wq", [6, 3, 1, 1], new Int8Array(18)));
  g.addInitializer(Tensor.fromArray("ws", [6], new Float32Array(6).fill(0.1)));
  g.addInitializer(Tensor.fromArray("s", [], new Float32Array([0.1])));
  g.addInitializer(Tensor.fromArray("z", [], new Uint8Array([0])));
  g.nodes = [
    node("QuantizeLinear", ["x", "s", "z"], "xq"),
    node("DequantizeLinear", ["xq", "s", "z"], "xd"),
    node("DequantizeLinear", ["wq", "ws"], "w", { axis: int(0) }),
    node("Conv", ["xd", "w"], "y"),
    node("QuantizeLinear", ["y", "s", "z"], "yq"),
    node("DequantizeLinear", ["yq", "s", "z"], "yd"),
    node("MaxPool", ["yd"], "p", { kernel_shape: { type: "ints", value: [2, 2] } }),
  ];
  const counts = channelCounts(g);
  assert.equal([counts.get("xd"), counts.get("y"), counts.get("yq"), counts.get("yd"), counts.get("p")], [3, 6, 6, 6, 6]);
});

test.run();
