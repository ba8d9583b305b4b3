// The three PaddleOCR models, normalized, quantized per channel (uint8
// activations) and per tensor (int8 activations), run in onnxruntime-node and
// onnxruntime-web. Bounds sit just below what was measured on these inputs.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { normalize } from "../normalize/mod.ts";
import { encodeModel } from "../onnx/encode.ts";
import { readModel } from "../onnx/file.ts";
import type { TensorValue } from "../runtime/types.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import { qdqProblems } from "./_testing_check.ts";
import { cosine, type Feeds, minMaxRanges, randomInput, runModel, textPage } from "./_testing.ts";
import { planQuantization } from "./plan.ts";
import { quantize } from "./quantize.ts";
import type { QuantizeOptions } from "./types.ts";

const Real = suite("quantize real models");

interface Case {
  /** Worst cosine to the float output over the eval inputs, per config, in both runtimes. */
  cos: { perChannel: number; perTensor: number };
  /** Float file bytes / quantized file bytes (per channel), and the same for initializers. */
  fileRatio: number;
  weightRatio: number;
  input: (seed: number) => TensorValue;
}

const CASES: Record<string, Case> = {
  // Measured: cosine 0.9951 node / 0.9935 web per channel, 0.9998 per tensor; file 1.80x, initializers 2.85x
  // (a small model: Q/DQ nodes and per-channel scales weigh a lot next to 0.5 MB of weights).
  classifier: { cos: { perChannel: 0.99, perTensor: 0.995 }, fileRatio: 1.7, weightRatio: 2.8, input: (s) => randomInput([1, 3, 48, 192], s) },
  // Measured: 0.7841 per channel, 0.7825 per tensor; file 3.14x, initializers 3.63x. Min/max ranges lose
  // most in the depthwise conv after the stem (per-tensor activations over channels of very different range).
  detector: { cos: { perChannel: 0.77, perTensor: 0.77 }, fileRatio: 3, weightRatio: 3.6, input: (s) => textPage(64, 64, s) },
  // Measured: 0.9914 per channel, 0.9878 per tensor; file 3.46x, initializers 3.75x.
  recognizer: { cos: { perChannel: 0.985, perTensor: 0.98 }, fileRatio: 3.4, weightRatio: 3.7, input: (s) => randomInput([1, 3, 48, 96], s) },
};

const CONFIGS: [keyof Case["cos"], Partial<QuantizeOptions>][] = [
  ["perChannel", { perChannel: true, activations: "uint8" }],
  ["perTensor", { perChannel: false, activations: "int8" }],
];

async function load(file: string): Promise<Model> {
  const m = readModel(file);
  // Shapes are not needed: the planner infers dtypes from the graph.
  await normalize(m, { shapes: false });
  return m;
}

for (const { name, file } of REAL_MODELS) {
  const c = CASES[name];
  Real(`${name}: loads and runs in node and web, close to float, weights ~4x smaller`, async () => {
    const model = await load(file);
    const calib: Feeds[] = [1, 2, 3].map((s) => ({ x: c.input(100 + s) }));
    const evalFeeds: Feeds[] = [{ x: c.input(901) }];
    const plan = planQuantization(model);
    const ranges = await minMaxRanges(model, plan.activations, calib);
    const ref = await runModel(model, evalFeeds);
    const out = model.graph.outputs[0].name;
    const floatBytes = encodeModel(model).bytes.length;
    for (const [label, opts] of CONFIGS) {
      const q = cloneModel(model);
      const report = quantize(q, ranges, opts);
      assert.equal(qdqProblems(q, opts.activations!), [], `${name} ${label}: well-formed QDQ`);
      const bytes = encodeModel(q).bytes;
      if (label === "perChannel") {
        assert.ok(floatBytes / bytes.length >= c.fileRatio, `file ${floatBytes} → ${bytes.length}`);
        assert.ok(report.bytes.before / report.bytes.after >= c.weightRatio, `weights ${report.bytes.before} → ${report.bytes.after}`);
      }
      for (const rt of ["node", "web"] as const) {
        const got = await runModel(bytes, evalFeeds, rt);
        got.forEach((res, i) => {
          const a = ref[i][out].data as Float32Array, b = res[out].data as Float32Array;
          assert.not.ok(b.some(Number.isNaN), `${name} ${label} ${rt}: no NaN`);
          const cos = cosine(a, b);
          assert.ok(cos >= c.cos[label], `${name} ${label} ${rt} sample ${i}: cosine ${cos} ≥ ${c.cos[label]}`);
        });
      }
      if (name === "recognizer" && label === "perChannel") {
        assert.ok(report.weights.zeroChannels.length > 0, "recognizer has exact zero channels");
        assert.ok(report.weights.tinyChannels.length > 0, "recognizer has denormal channels");
        // Near-zero channels under a real bias: the guard raises their scales instead of clamping.
        assert.is(report.bias.saturated, 0, `saturated bias values: ${report.bias.saturated}`);
        assert.ok(report.weights.raisedChannels.length > 0, "the guard raised some channel scales");
      }
    }
  });
}

Real.run();
