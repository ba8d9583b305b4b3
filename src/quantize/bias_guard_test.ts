import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Graph, Model, Node, Tensor } from "../ir/mod.ts";
import { quantizeWeight } from "./quantize_tensor.ts";
import { weightQRange } from "./params.ts";
import { quantize } from "./quantize.ts";

const G = suite("bias-overflow guard");

G("minScale raises only the channels below it, and reports them", () => {
  const w = new Float32Array([1, -1, 1e-17, 0, 0, 0]);
  const q = quantizeWeight(w, [3, 2], { axis: 0, q: weightQRange(false), minScale: new Float64Array([1e-3, 1e-6, 0]) });
  assert.equal(Array.from(q.scale), [Math.fround(1 / 127), Math.fround(1e-6), 1]);
  assert.equal(q.raisedChannels, [1]);
  assert.equal(Array.from(q.values), [127, -127, 0, 0, 0, 0], "the tiny weights round to 0");
});

/** x → Conv(w, b) → y, where output channel 1 has weights ~1e-17 and a bias of 0.5. */
function tinyChannelConv(): Model {
  const g = new Graph("g");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1, 2, 4, 4] });
  g.addInitializer(Tensor.fromArray("w", [2, 2, 1, 1], new Float32Array([0.5, -0.25, 3e-17, -1e-17])));
  g.addInitializer(Tensor.fromArray("b", [2], new Float32Array([0.1, 0.5])));
  g.addNode(new Node({ opType: "Conv", name: "conv", inputs: ["x", "w", "b"], outputs: ["y"] }));
  g.outputs.push({ name: "y", dtype: "float32", shape: [1, 2, 4, 4] });
  return new Model(g, { opsets: new Map([["", 13]]) });
}

const ranges = new Map([["x", { min: -1, max: 1 }], ["y", { min: -1, max: 1 }]]);

G("without the guard the tiny channel's bias saturates int32", () => {
  const m = tinyChannelConv();
  const r = quantize(m, ranges, { biasOverflowGuard: false });
  assert.is(r.bias.saturated, 1);
});

G("with the guard (the default) the bias fits and dequantizes to its float value", () => {
  const m = tinyChannelConv();
  const r = quantize(m, ranges, {});
  assert.is(r.bias.saturated, 0);
  assert.equal(r.weights.raisedChannels, [{ node: "conv", weight: "w", channels: [1] }]);
  const g = m.graph;
  const conv = g.nodes.find((n) => n.opType === "Conv")!;
  const bdq = g.producer(conv.inputs[2])!;
  const [q, s] = [g.constant(bdq.inputs[0])!.view() as Int32Array, g.constant(bdq.inputs[1])!.toFloat32()];
  assert.ok(Math.abs(q[1] * s[1] - 0.5) < 1e-6, `bias[1] dequantizes to ${q[1] * s[1]}`);
  assert.ok(Math.abs(q[1]) < 2 ** 31 - 1);
});

G.run();
