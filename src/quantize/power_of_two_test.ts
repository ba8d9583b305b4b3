// Options target profiles ask for: power-of-two scales (every scale an exact
// power of two, biases too, zero points 0 for symmetric int8) and float biases.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { nodesOf, qdqProblems, quantizeAndCompare } from "./_testing_check.ts";
import { Builder, ints } from "./_testing_graphs.ts";
import { randomInput } from "./_testing.ts";

const P2 = suite("quantize: power-of-two scales and float bias");

function model() {
  const b = new Builder();
  b.input("x", [1, 3, 8, 8]);
  b.weight("w1", [8, 3, 3, 3], 0.7);
  b.weight("b1", [8], 0.3);
  b.weight("w2", [4, 8, 1, 1], 0.4);
  b.weight("b2", [4], 0.1);
  b.node("Conv", ["x", "w1", "b1"], "c1", { pads: ints([1, 1, 1, 1]) });
  b.node("Relu", ["c1"], "r1");
  b.node("Conv", ["r1", "w2", "b2"], "c2");
  b.node("GlobalAveragePool", ["c2"], "g");
  b.node("Flatten", ["g"], "f");
  b.node("Softmax", ["f"], "y");
  return b.model(["y"]);
}

const feeds = Array.from({ length: 4 }, (_, i) => ({ x: randomInput([1, 3, 8, 8], 40 + i) }));

P2("per-tensor symmetric int8 with power-of-two scales: every scale a power of two, every zero point 0", async () => {
  const opts = { perChannel: false, activations: "int8", symmetricActivations: true, powerOfTwoScales: true } as const;
  const r = await quantizeAndCompare(model(), opts, feeds);
  const g = r.model.graph;
  assert.equal(qdqProblems(r.model, "int8"), []);
  const qdq = [...nodesOf(g, "QuantizeLinear"), ...nodesOf(g, "DequantizeLinear")];
  assert.ok(qdq.length >= 10, `${qdq.length} Q/DQ nodes`);
  for (const n of qdq) {
    for (const s of g.constant(n.inputs[1])!.toFloat32()) assert.is(Math.log2(s) % 1, 0, `${n.name}: scale ${s}`);
    const zp = g.constant(n.inputs[2])!;
    assert.ok(zp.toFloat64().every((z) => z === 0), `${n.name}: zero point 0`);
  }
  const biasTypes = nodesOf(g, "Conv").map((c) => g.constant(g.producer(c.inputs[2])!.inputs[0])!.dtype);
  assert.equal(biasTypes, ["int32", "int32"]);
  assert.ok(r.cos.node > 0.99 && r.cos.web > 0.99, `cosine ${r.cos.node} / ${r.cos.web}`);
});

P2("bias float: Conv biases stay float32 initializers, weights and activations are still quantized", async () => {
  const r = await quantizeAndCompare(model(), { bias: "float" }, feeds);
  const g = r.model.graph;
  for (const c of nodesOf(g, "Conv")) {
    assert.is(g.constant(c.inputs[2])?.dtype, "float32", `${c.name} reads its float bias directly`);
    assert.is(g.producer(c.inputs[1])?.opType, "DequantizeLinear");
  }
  assert.is(r.report.bias.tensors, 0);
  assert.equal(r.report.bias.float, [], "a requested float bias is not reported as a problem");
  assert.ok(![...g.initializers.values()].some((t) => t.dtype === "int32"), "no int32 initializer");
  assert.ok(r.cos.node > 0.999, `cosine ${r.cos.node}`);
});

P2.run();
