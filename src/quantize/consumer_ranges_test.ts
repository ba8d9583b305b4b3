// Consumer-weighted ranges in the pipeline, on the real classifier: which
// values they apply to, on static and dynamic shapes, and that switching
// them off gives plain MSE ranges.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { Model } from "../ir/model.ts";
import { makeShapesStatic, normalize } from "../normalize/mod.ts";
import { readModel } from "../onnx/file.ts";
import { loadTarget } from "../targets/load.ts";
import type { TensorValue } from "../runtime/types.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import { randomInput } from "./_testing.ts";
import { quantizeModel } from "./pipeline.ts";
import { quantizeOptionsFor } from "./target_options.ts";

const LINEAR = new Set(["Conv", "ConvTranspose", "MatMul", "Gemm"]);
const { file, input } = REAL_MODELS[0];
const calib = memoryDataset("x", [1, 2, 3, 4].map((s) => randomInput(input, s) as TensorValue<"float32">));

/** The classifier quantized for `target`; its float graph as the quantizer read it, and the activation scales. */
async function quantized(target: string, staticShapes: boolean, consumerRanges?: boolean) {
  const m = readModel(file);
  await normalize(m, { shapes: false });
  if (staticShapes) await makeShapesStatic(m, { x: [...input] });
  const profile = loadTarget(target);
  const { options, passes } = quantizeOptionsFor(profile);
  let float!: Model;
  const report = await quantizeModel(m, calib, { ...options, profile, passes, consumerRanges, onFloatGraph: (f) => (float = f) });
  const scales = new Map<string, number>();
  for (const n of m.graph.nodes) if (n.opType === "QuantizeLinear") scales.set(n.inputs[0], m.graph.constant(n.inputs[1])!.toFloat32()[0]);
  return { report, float, scales };
}

for (const [target, staticShapes] of [["npu-int8-only", true], ["cpu-mixed", false]] as const) {
  test(`${target} (${staticShapes ? "static" : "dynamic"} shapes): every Conv input that only Convs read is weighted, nothing else; off gives other ranges`, async () => {
    const on = await quantized(target, staticShapes);
    const g = on.float.graph;
    const weighted = new Set(on.report.consumerWeighted);
    assert.ok(weighted.size >= 40, `${weighted.size} weighted values`);
    for (const v of weighted) {
      const readers = g.consumers(v);
      assert.ok(readers.length > 0 && readers.every((n) => LINEAR.has(n.opType) && n.inputs[0] === v), `"${v}" is read by ${readers.map((n) => n.opType).join(", ")}`);
    }
    // Values some other op reads keep plain MSE ranges.
    assert.ok(on.report.calibrated > weighted.size);
    const off = await quantized(target, staticShapes, false);
    assert.equal(off.report.consumerWeighted, []);
    let moved = 0;
    for (const v of weighted) {
      const a = on.scales.get(v), b = off.scales.get(v);
      if (a !== undefined && b !== undefined && Math.abs(a / b - 1) > 1e-3) moved++;
    }
    assert.ok(moved >= 5, `${moved} weighted values got another scale`);
  });
}

test.run();
