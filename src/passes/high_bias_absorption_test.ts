// High-bias absorption: where a Relu never clips a channel on the data, its
// minimum moves from one layer's bias into the next one's, the function is
// kept on that data and the Relu's output range shrinks; padded Convs,
// bounded Clips and leaky activations are left alone.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collect } from "../calibrate/collect.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { StatRequest } from "../calibrate/types.ts";
import type { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { randomInput } from "../quantize/_testing.ts";
import { Builder, float, ints } from "../quantize/_testing_graphs.ts";
import type { TensorValue } from "../runtime/types.ts";
import { biasOf, linearOf } from "./_linear.ts";
import { contextFor, outputDrift, snapshot } from "./_testing.ts";
import { absorbablePairs, highBiasAbsorption } from "./high_bias_absorption.ts";
import type { PassReport, StatLookup } from "./types.ts";

const Hba = suite("high-bias absorption");

const samples = [1, 2, 3].map((s) => randomInput([1, 4, 5, 5], s, 0, 1) as TensorValue<"float32">);

/**
 * x[1,4,5,5] in [0, 1) → Conv 1×1 (4→6, weights in ±0.1, biases 0, 0, 2, 3, 5, −1) → act → Conv k×k (6→3):
 * channels 2–4 never fall below ~1.6, channel 0 and 5 do reach 0 and below.
 */
function pair(act: string, k = 1, pad = 0): Model {
  const b = new Builder();
  b.input("x", [1, 4, 5, 5]);
  b.init("b1", [6], new Float32Array([0, 0, 2, 3, 5, -1]));
  let v = b.node("Conv", ["x", b.weight("w1", [6, 4, 1, 1], 0.1), "b1"], "c1", { kernel_shape: ints([1, 1]) });
  if (act === "Clip6") v = b.node("Clip", [v, b.scalar("lo", 0), b.scalar("hi", 6)], "a");
  else if (act === "Clip") v = b.node("Clip", [v, b.scalar("lo", 0)], "a");
  else if (act === "LeakyRelu") v = b.node("LeakyRelu", [v], "a", { alpha: float(0.1) });
  else v = b.node(act, [v], "a");
  v = b.node("Conv", [v, b.weight("w2", [3, 6, k, k]), b.weight("b2", [3])], "c2", {
    kernel_shape: ints([k, k]),
    pads: ints([pad, pad, pad, pad]),
  });
  return b.model([v]);
}

async function absorb(m: Model): Promise<PassReport> {
  const ctx = contextFor("npu-int8-only");
  const requests = highBiasAbsorption.needs!(m, ctx);
  const observers = requests.length ? await collect(m, memoryDataset("x", samples), requests) : [];
  const stats: StatLookup = (r: StatRequest) => observers[requests.findIndex((q) => JSON.stringify(q) === JSON.stringify(r))] as ReturnType<StatLookup>;
  return await highBiasAbsorption.apply(m, stats, ctx);
}

const layer = (m: Model, name: string) => linearOf(m.graph, m.graph.nodes.find((n) => n.outputs[0] === name)!)!;

for (const act of ["Relu", "Clip"]) {
  Hba(`Conv → ${act === "Clip" ? "Clip(0, ∞)" : "Relu"} → Conv 1×1: the never-clipped minimum moves to the next bias, function kept`, async () => {
    const m = pair(act);
    const before = snapshot(m);
    const b1 = biasOf(m.graph, layer(m, "c1"))!;
    const report = await absorb(m);
    const pairs = report.details!.pairs as { channels: number; rangeBefore: number; rangeAfter: number }[];
    assert.is(pairs.length, 1, report.summary);
    assert.is(pairs[0].channels, 3, "channels 2–4 only");
    assert.ok(pairs[0].rangeAfter < pairs[0].rangeBefore - 1, `${pairs[0].rangeBefore} → ${pairs[0].rangeAfter}`);
    const after = biasOf(m.graph, layer(m, "c1"))!;
    for (const c of [0, 1, 5]) assert.is(after[c], b1[c], `channel ${c} reaches 0: bias kept`);
    // c = b1 + min(w·x) with |w·x| ≤ 0.4: what is left is −min(w·x).
    for (const c of [2, 3, 4]) assert.ok(Math.abs(after[c]) < 0.5, `channel ${c}: ${b1[c]} → ${after[c]}`);
    const drift = await outputDrift(before, m, samples.map((x) => ({ x })));
    assert.ok(drift < 1e-5, `drift ${drift}`);
  });
}

Hba("a Gemm after the Relu takes the shift too", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 5, 5]);
  b.init("b1", [6], new Float32Array([4, 4, 4, 4, 4, 4]));
  let v = b.node("Conv", ["x", b.weight("w1", [6, 4, 1, 1], 0.1), "b1"], "c1", { kernel_shape: ints([1, 1]) });
  v = b.node("Relu", [v], "a");
  v = b.node("GlobalAveragePool", [v], "p");
  v = b.node("Flatten", [v], "f");
  const m0 = b.model([v]);
  // GlobalAveragePool between them: not a pair.
  assert.is(absorbablePairs(m0.graph).length, 0);
  const g = new Builder();
  g.input("x", [2, 4]);
  g.init("b1", [6], new Float32Array([4, 4, 4, 4, 4, 4]));
  let y = g.node("Gemm", ["x", g.weight("w1", [4, 6], 0.1), "b1"], "g1");
  y = g.node("Relu", [y], "a");
  y = g.node("Gemm", [y, g.weight("w2", [6, 3]), g.weight("b2", [3])], "g2");
  const m = g.model([y]);
  const before = snapshot(m);
  const feeds = [1, 2].map((s) => randomInput([2, 4], s, 0, 1) as TensorValue<"float32">);
  const ctx = contextFor("npu-int8-only");
  const requests = highBiasAbsorption.needs!(m, ctx);
  const observers = await collect(m, memoryDataset("x", feeds), requests);
  const report = await highBiasAbsorption.apply(m, (r) => observers[requests.findIndex((q) => JSON.stringify(q) === JSON.stringify(r))] as ReturnType<StatLookup>, ctx);
  assert.is(report.nodes.length, 2, report.summary);
  assert.ok(await outputDrift(before, m, feeds.map((x) => ({ x }))) < 1e-5);
});

for (
  const [label, model] of [
    ["a padded 3×3 Conv after the Relu (its border would see 0, not −c)", () => pair("Relu", 3, 1)],
    ["Clip(0, 6): its bound would have to move", () => pair("Clip6")],
    ["LeakyRelu: not shift-invariant below 0", () => pair("LeakyRelu")],
  ] as [string, () => Model][]
) {
  Hba(`left alone: ${label}`, async () => {
    const m = model();
    const b1 = [...biasOf(m.graph, layer(m, "c1"))!];
    const report = await absorb(m);
    assert.is(report.nodes.length, 0, report.summary);
    assert.equal([...biasOf(m.graph, layer(m, "c1"))!], b1);
  });
}

Hba("an unpadded 3×3 Conv after the Relu is absorbed (every output sees the whole shift)", async () => {
  const m = pair("Relu", 3, 0);
  const before = snapshot(m);
  const report = await absorb(m);
  assert.is(report.nodes.length, 2, report.summary);
  assert.ok(await outputDrift(before, m, samples.map((x) => ({ x }))) < 1e-5);
});

Hba("a bias shared with another node is copied, not changed under it", async () => {
  const m = pair("Relu");
  const g = m.graph;
  // A second reader of c1's bias.
  g.addInitializer(Tensor.fromArray("extra", [6], new Float32Array(6)));
  const c1 = g.nodes.find((n) => n.outputs[0] === "c1")!;
  const shared = c1.inputs[2];
  const add = new Node({ opType: "Add", name: "extra_add", inputs: ["extra", shared], outputs: ["extra_out"] });
  g.addNode(add);
  g.outputs.push({ name: "extra_out", dtype: "float32" });
  const before = [...g.constant(shared)!.toFloat32()];
  await absorb(m);
  assert.equal([...g.constant(shared)!.toFloat32()], before);
  assert.is.not(c1.inputs[2], shared);
});

Hba.run();
