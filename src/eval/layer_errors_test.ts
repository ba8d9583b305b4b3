import { test } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { cloneModel } from "../ir/clone.ts";
import { compareModels } from "./compare.ts";
import { formatLayerErrors } from "./format.ts";
import { type LayerError, layerErrors } from "./layer_errors.ts";
import { convChain, foldRelu, insertQdq, memoryDataset, quantizeWeight } from "./_testing.ts";

const DIMS = [1, 2, 6, 6];
const byValue = (layers: LayerError[], v: string) => layers.find((l) => l.value === v)!;

test("a coarse fake QDQ on the Relu output makes that Relu the layer that adds error", async () => {
  const fp32 = convChain(2);
  const quantized = cloneModel(fp32);
  insertQdq(quantized, "r1", 0.25);
  const before = [fp32, quantized].map((m) => [m.graph.nodes.length, m.graph.outputs.length]);
  const data = memoryDataset(4, DIMS);

  const report = await layerErrors(fp32, quantized, data, { sortBy: "drop" });

  assert.is(report.samples, 4);
  assert.equal(report.layers.map((l) => l.value).sort(), ["c1", "r1", "y"], "one entry per float node output of the FP32 model");
  assert.ok(report.layers.every((l) => !/_quantized|_dequantized/.test(l.value)), "helper values are not reported");
  assert.ok(report.layers.every((l) => !/QuantizeLinear|DequantizeLinear/.test(l.opType)), "Q/DQ nodes are not reported");
  const [worst] = report.layers;
  assert.equal([worst.node, worst.opType, worst.value], ["relu1", "Relu", "r1"]);
  assert.ok(worst.sqnrDb > 5 && worst.sqnrDb < 60, `a step of 0.25 costs SQNR: ${worst.sqnrDb}`);
  assert.ok(worst.cosine < 1 && worst.cosine > 0.9, `cosine ${worst.cosine}`);
  assert.is(worst.inputSqnrDb, Infinity, "its input c1 is exact");
  assert.is(worst.dropDb, Infinity);
  const conv2 = byValue(report.layers, "y");
  assert.is(conv2.quantizedInputs, true, "conv2 reads r1_dequantized");
  assert.is(conv2.inputSqnrDb, worst.sqnrDb, "conv2 inherits r1's error");
  assert.ok(Number.isFinite(conv2.dropDb));
  assert.equal(byValue(report.layers, "c1"), { ...byValue(report.layers, "c1"), sqnrDb: Infinity, dropDb: 0, quantizedInputs: false });

  // The same number through the other path: compareModels on the final output.
  const whole = await compareModels(fp32, quantized, data, { session: { graphOptimizationLevel: "disabled" } });
  assert.ok(Math.abs(whole.outputs[0].sqnrDb - conv2.sqnrDb) < 1e-9, `${whole.outputs[0].sqnrDb} vs ${conv2.sqnrDb}`);

  const after = [fp32, quantized].map((m) => [m.graph.nodes.length, m.graph.outputs.length]);
  assert.equal(after, before, "callers' models keep their nodes and outputs");

  const text = formatLayerErrors(report, 2).split("\n");
  assert.is(text[0], "2 of 3 layers, worst first (4 samples)");
  assert.match(text[2], /^\s+relu1\s+Relu\s+r1\s+\d+\.\d\s+inf\s+inf\s+0\.9\d+$/);
});

test("sorted by SQNR, error accumulates downstream; sorted by drop, the source comes first", async () => {
  const fp32 = convChain(3);
  const quantized = cloneModel(fp32);
  insertQdq(quantized, "r2", 0.25);
  const data = memoryDataset(3, DIMS);

  const bySqnr = await layerErrors(fp32, quantized, data);
  const byDrop = await layerErrors(fp32, quantized, data, { sortBy: "drop" });

  assert.is(byDrop.layers[0].node, "relu2");
  assert.ok(byDrop.layers.slice(1).every((l) => l.dropDb < Infinity));
  assert.is(byValue(byDrop.layers, "y").inputSqnrDb, byValue(byDrop.layers, "r2").sqnrDb);
  const sqnrs = bySqnr.layers.map((l) => l.sqnrDb);
  assert.ok(sqnrs.every((x, i) => i === 0 || sqnrs[i - 1] <= x), `ascending: ${sqnrs}`);
  assert.equal(bySqnr.layers.slice(2).map((l) => l.sqnrDb), [Infinity, Infinity, Infinity], "c1, r1, c2 precede the QDQ");
});

test("the quantizer's layout: a folded Relu, int8 weights, QDQ on the input and the graph output", async () => {
  const fp32 = convChain(2);
  const q = cloneModel(fp32);
  foldRelu(q, "relu1"); // conv1 now writes r1, unclamped; the uint8 QDQ clamps it
  for (const w of ["w1", "w2"]) quantizeWeight(q, w);
  insertQdq(q, "x", 1 / 64, 128);
  insertQdq(q, "r1", 1 / 32);
  insertQdq(q, "y", 1 / 32, 128);

  const report = await layerErrors(fp32, q, memoryDataset(3, DIMS));

  // c1 has no counterpart; r1 is compared through its DequantizeLinear (clamped), y is the DQ output itself.
  assert.equal(report.layers.map((l) => [l.value, l.node, l.opType, l.quantizedInputs]).sort(), [
    ["r1", "conv1", "Conv", true],
    ["y", "conv2", "Conv", true],
  ]);
  const r1 = byValue(report.layers, "r1");
  const y = byValue(report.layers, "y");
  assert.ok(r1.sqnrDb > 20, `r1 compared after the clamp: ${r1.sqnrDb} dB`);
  assert.is(r1.inputSqnrDb, Infinity, "x is a graph input: its rounding is conv1's own error");
  assert.is(y.inputSqnrDb, r1.sqnrDb);
});

test("a value the quantized model lacks is skipped; samples caps the run; a bad sort is an InputError", async () => {
  const fp32 = convChain(2);
  const quantized = cloneModel(fp32);
  quantized.graph.nodes[1].outputs = ["r1_renamed"];
  quantized.graph.nodes[2].inputs[0] = "r1_renamed";
  quantized.graph.invalidate();
  let calls = 0;
  const report = await layerErrors(fp32, quantized, memoryDataset(5, DIMS), { samples: 2, onProgress: () => calls++ });
  assert.is(report.samples, 2);
  assert.is(calls, 2);
  assert.equal(report.layers.map((l) => l.value).sort(), ["c1", "y"]);
  assert.is(byValue(report.layers, "y").sqnrDb, Infinity);
  const err = await layerErrors(fp32, fp32, memoryDataset(1, DIMS), { sortBy: "worst" as unknown as "drop" }).catch((e: unknown) => e);
  assert.instance(err, InputError);
});

test.run();
