// The real PaddleOCR classifier against the built-in profiles: the FP32
// model lists every float op on npu-int8-only; quantized as cpu-mixed does
// it fails npu-int8-only and asic-per-tensor with the right rules; quantized
// for npu-int8-only it passes npu-int8-only and cpu-mixed.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Model } from "../ir/model.ts";
import { cloneModel } from "../ir/clone.ts";
import { normalize } from "../normalize/mod.ts";
import { readModel } from "../onnx/file.ts";
import { minMaxRanges, randomInput } from "../quantize/_testing.ts";
import { planQuantization } from "../quantize/plan.ts";
import { quantize } from "../quantize/quantize.ts";
import { ruleFor } from "../quantize/registry.ts";
import type { QuantizeOptions } from "../quantize/types.ts";
import { loadTarget } from "../targets/mod.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import type { Report } from "./report.ts";
import { validateModel } from "./validate.ts";

const Real = suite("validate: real classifier against the built-in profiles");
const CLS = REAL_MODELS.find((m) => m.name === "classifier")!;

const failing = (r: Report) => r.rules.filter((x) => x.violations.some((v) => v.severity === "error")).map((x) => x.id);
const violations = (r: Report, id: string) => r.rules.find((x) => x.id === id)!.violations;

/** Shape arithmetic: Shape nodes and the nodes computed only from their outputs and constants. */
function shapeChain(m: Model): Set<string> {
  const g = m.graph;
  const chain = new Set<string>();
  const known = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) {
    if (n.opType === "Constant") n.outputs.forEach((o) => known.add(o));
    else if (n.opType === "Shape" || n.inputs.every((v) => !v || known.has(v))) {
      chain.add(n.label);
      n.outputs.forEach((o) => known.add(o));
    }
  }
  return chain;
}

Real("the FP32 classifier against npu-int8-only lists every op that computes on float data", () => {
  const m = readModel(CLS.file);
  const r = validateModel(m, loadTarget("npu-int8-only"));
  const listed = violations(r, "float-island").map((v) => v.node!);
  const chain = shapeChain(m);
  const expected = m.graph.nodes.filter((n) => ruleFor(n.opType).kind !== "float" && !chain.has(n.label)).map((n) => n.label);
  assert.equal([...listed].sort(), [...expected].sort());
  const convs = m.graph.nodes.filter((n) => n.opType === "Conv");
  assert.is(convs.length, 53);
  assert.ok(convs.every((c) => listed.includes(c.label)), "every Conv");
  assert.equal(failing(r).sort(), ["bias-not-int32", "dynamic-shape", "float-island", "op-not-supported", "opset-range"]);
  assert.ok(violations(r, "op-not-supported").every((v) => /BatchNormalization/.test(v.message)), "unfolded BN is the only op outside the set");
});

/** The classifier normalized, with a static input, quantized with `opts` from min/max of two random inputs. */
async function quantized(opts: Partial<QuantizeOptions>): Promise<Model> {
  const m = readModel(CLS.file);
  await normalize(m, { shapes: false });
  m.graph.inputs[0].shape = [...CLS.input];
  m.graph.outputs[0].shape = [1, 2];
  const plan = planQuantization(m, opts);
  const ranges = await minMaxRanges(m, plan.activations, [1, 2].map((s) => ({ x: randomInput(CLS.input, s) })));
  const q = cloneModel(m);
  quantize(q, ranges, opts);
  return q;
}

Real("quantized as cpu-mixed does (uint8 activations, per-channel): npu-int8-only and asic-per-tensor fail with the right rules", async () => {
  const q = await quantized({ perChannel: true, activations: "uint8" });
  assert.equal(failing(validateModel(q, loadTarget("cpu-mixed"))), []);
  const npu = validateModel(q, loadTarget("npu-int8-only"));
  assert.equal(failing(npu), ["activation-dtype"]);
  const reported = new Set(violations(npu, "activation-dtype").map((v) => v.node));
  const qs = q.graph.nodes.filter((n) => n.opType === "QuantizeLinear");
  assert.ok(qs.length > 100 && qs.every((n) => reported.has(n.label)), "every QuantizeLinear named");
  const asic = validateModel(q, loadTarget("asic-per-tensor"));
  assert.equal(failing(asic), ["per-channel-not-allowed", "activation-dtype", "non-power-of-two-scale"]);
  const weighted = q.graph.nodes.filter((n) => n.opType === "Conv" || n.opType === "MatMul").map((n) => n.label).sort();
  assert.equal(violations(asic, "per-channel-not-allowed").map((v) => v.node).sort(), weighted);
});

Real("quantized for npu-int8-only (int8 activations): passes npu-int8-only, and cpu-mixed with warnings only", async () => {
  const q = await quantized({ perChannel: true, activations: "int8" });
  const npu = validateModel(q, loadTarget("npu-int8-only"));
  assert.is(npu.summary.errors, 0, JSON.stringify(npu.rules.flatMap((r) => r.violations).slice(0, 3)));
  const cpu = validateModel(q, loadTarget("cpu-mixed"));
  assert.is(cpu.summary.errors, 0);
  assert.ok(cpu.summary.warnings > 0 && violations(cpu, "activation-dtype").every((v) => v.severity === "warning"));
});

Real.run();
