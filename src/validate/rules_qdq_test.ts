// Each quantization rule on a QDQ model that breaks it and one that does
// not: per-channel-not-allowed, asymmetric-weights, weight-dtype,
// activation-dtype, non-power-of-two-scale, bias-not-int32, bias-saturated,
// bad-scale, zero-point-range.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Model } from "../ir/model.ts";
import { Builder } from "../quantize/_testing_graphs.ts";
import type { TargetProfile } from "../targets/types.ts";
import { asicLike, convNet, cpuLike, dqInput, NPU_SETTINGS, npuLike, qdq, setInit } from "./_testing.ts";
import type { RuleOutcome } from "./report.ts";
import { validateModel } from "./validate.ts";

const Rules = suite("validate: quantization rules");

const outcome = (m: Model, p: TargetProfile, id: string): RuleOutcome => validateModel(m, p).rules.find((r) => r.id === id)!;
const nodes = (r: RuleOutcome) => r.violations.map((v) => v.node).sort();
const npuModel = () => qdq(convNet(), NPU_SETTINGS);
const qNodes = (m: Model) => m.graph.nodes.filter((n) => n.opType === "QuantizeLinear");

Rules("every rule passes the npu-quantized model on an npu-like target", () => {
  const r = validateModel(npuModel(), npuLike());
  assert.equal(r.rules.flatMap((x) => x.violations), []);
  assert.is(r.summary.errors, 0);
});

Rules("per-channel-not-allowed: per-channel weights fail a per-tensor target (biases not repeated); per-tensor passes", () => {
  const p = asicLike({ powerOfTwoScales: false });
  const r = outcome(npuModel(), p, "per-channel-not-allowed");
  assert.equal(nodes(r), ["conv", "dw"]);
  assert.match(r.violations.find((v) => v.node === "conv")!.message, /Weight "w1_quantized" of Conv "conv" has 6 scales along axis 0/);
  assert.equal(outcome(qdq(convNet(), { ...NPU_SETTINGS, perChannel: false }), p, "per-channel-not-allowed").violations, []);
  assert.is(outcome(npuModel(), npuLike(), "per-channel-not-allowed").applies, false);
});

Rules("asymmetric-weights: a non-zero weight zero point fails, naming the channel", () => {
  const m = npuModel();
  setInit(m, dqInput(m, "conv", 1).inputs[2], new Int8Array([0, 3, 0, 0, 0, 0]));
  const r = outcome(m, npuLike(), "asymmetric-weights");
  assert.equal(nodes(r), ["conv"]);
  assert.match(r.violations[0].message, /zero point in 1 of 6 channels \(1: 3\)/);
  assert.equal(outcome(npuModel(), npuLike(), "asymmetric-weights").violations, []);
});

Rules("weight-dtype: uint8 weights and -128 on a narrow-range target fail", () => {
  const narrow = npuModel();
  const dq = dqInput(narrow, "dw", 1);
  const w = Int8Array.from(narrow.graph.constant(dq.inputs[0])!.view() as Int8Array);
  w[5] = -128;
  setInit(narrow, dq.inputs[0], w);
  assert.match(outcome(narrow, npuLike(), "weight-dtype").violations[0].message, /has 1 values at -128/);
  assert.equal(outcome(narrow, npuLike({ weights: { ...npuLike().weights, narrowRange: false } }), "weight-dtype").violations, []);

  const u8 = npuModel();
  const wq = dqInput(u8, "conv", 1);
  const t = u8.graph.constant(wq.inputs[0])!;
  setInit(u8, wq.inputs[0], Uint8Array.from(t.view() as Int8Array, (x) => x + 128));
  setInit(u8, wq.inputs[2], new Uint8Array(6).fill(128));
  const r = outcome(u8, npuLike(), "weight-dtype");
  assert.equal(nodes(r), ["conv"]);
  assert.match(r.violations[0].message, /is uint8: npu-test takes int8 weights/);
  assert.equal(outcome(u8, npuLike(), "asymmetric-weights").violations, [], "uint8 at 128 is symmetric");
});

Rules("activation-dtype: uint8 activations fail an int8 target at every QuantizeLinear", () => {
  const m = qdq(convNet(), { activations: "uint8" });
  const r = outcome(m, npuLike(), "activation-dtype");
  for (const q of qNodes(m)) assert.ok(r.violations.some((v) => v.node === q.label), `QuantizeLinear "${q.label}" reported`);
  assert.ok(r.violations.some((v) => v.value === "k_quantized"), "the Add's uint8 constant too");
  assert.ok(r.violations.every((v) => v.severity === "error" && / is uint8, not int8/.test(v.message)));
  assert.equal(outcome(m, cpuLike(), "activation-dtype").violations, []);
});

Rules("activation-dtype: int16 activations pass a target that also runs int16 (symmetric at 0) and fail one that does not; constants stay int8", () => {
  const wide = qdq(convNet(), { ...NPU_SETTINGS, wideActivations: ["r1", "y"] });
  const types = new Map(qNodes(wide).map((q) => [q.inputs[0], wide.graph.constant(q.inputs[2])!.dtype]));
  assert.equal([types.get("r1"), types.get("x"), wide.opset()], ["int16", "int8", 21]);
  const a16 = npuLike({ activations: { dtype: "int8", symmetric: true, alsoAllowed: ["int16"] } });
  assert.equal(outcome(wide, a16, "activation-dtype").violations, []);
  assert.equal(validateModel(wide, a16).summary.errors, 0, "every rule passes");
  const r = outcome(wide, npuLike(), "activation-dtype");
  assert.equal(r.violations.map((v) => v.value).sort(), ["r1", "y_QuantizeLinear_Input"].sort(), r.violations.map((v) => v.message).join("; "));
  assert.ok(r.violations.every((v) => / is int16, not int8/.test(v.message)));
  const constant = qdq(convNet(), { ...NPU_SETTINGS, activations: "int8" });
  const kdq = constant.graph.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "k_quantized")!;
  setInit(constant, "k_quantized", Int16Array.from(constant.graph.constant("k_quantized")!.view() as Int8Array));
  setInit(constant, kdq.inputs[2], new Int16Array([0]));
  assert.ok(outcome(constant, a16, "activation-dtype").violations.some((v) => v.value === "k_quantized" && /not int8$/.test(v.message)), "a 16-bit constant is not an activation");
});

Rules("activation-dtype: asymmetric int8 fails a symmetric target; another type on a float-fallback target warns", () => {
  const asym = qdq(convNet(), { activations: "int8", symmetricActivations: false });
  const r = outcome(asym, npuLike(), "activation-dtype");
  assert.ok(r.violations.length > 0);
  assert.ok(r.violations.every((v) => /has zero point -?\d+, not 0 \(symmetric\)/.test(v.message)), r.violations[0]?.message);
  const lenient = outcome(npuModel(), cpuLike(), "activation-dtype");
  assert.is(lenient.violations.length, qNodes(npuModel()).length + 1);
  assert.ok(lenient.violations.every((v) => v.severity === "warning"));
  assert.match(lenient.violations[0].message, /runs it, but its kernels are fastest with uint8/);
});

Rules("non-power-of-two-scale: calibrated scales fail; scales rounded to 2^k pass", () => {
  const p = asicLike();
  const m = qdq(convNet(), { ...NPU_SETTINGS, perChannel: false });
  const r = outcome(m, p, "non-power-of-two-scale");
  assert.ok(r.violations.length >= 4, `${r.violations.length} violations`);
  assert.ok(!r.violations.some((v) => /^The bias/.test(v.message)), "bias scales are not reported");
  for (const n of m.graph.nodes) {
    if (n.opType !== "QuantizeLinear" && n.opType !== "DequantizeLinear") continue;
    const s = m.graph.constant(n.inputs[1])!.toFloat32();
    setInit(m, n.inputs[1], s.map((x) => 2 ** Math.round(Math.log2(x))));
  }
  assert.equal(outcome(m, p, "non-power-of-two-scale").violations, []);
  assert.is(outcome(m, npuLike(), "non-power-of-two-scale").applies, false);
});

Rules("bias-not-int32: float and int8 biases fail where int32 is required", () => {
  const fp32 = outcome(convNet(), npuLike(), "bias-not-int32");
  assert.equal(nodes(fp32), ["conv", "dw"]);
  assert.match(fp32.violations[0].message, /bias "b1" is float, not int32/);
  const m = npuModel();
  const dq = dqInput(m, "dw", 2);
  setInit(m, dq.inputs[0], new Int8Array(6));
  setInit(m, dq.inputs[2], new Int8Array(6));
  const r = outcome(m, npuLike(), "bias-not-int32");
  assert.equal(nodes(r), ["dw"]);
  assert.match(r.violations[0].message, /is int8 \(dequantized\), not int32/);
  assert.is(outcome(convNet(), npuLike({ bias: "float" }), "bias-not-int32").applies, false);
});

Rules("bias-not-int32: a MatMul followed by an Add of a float vector is a float bias", () => {
  const b = new Builder();
  b.input("x", [1, 8]);
  b.weight("W", [8, 4]);
  b.weight("bias", [4]);
  b.node("MatMul", ["x", "W"], "mm");
  b.node("Add", ["mm", "bias"], "y");
  const m = b.model(["y"]);
  const r = outcome(m, npuLike(), "bias-not-int32");
  assert.equal(nodes(r), ["Add_y"]);
  assert.match(r.violations[0].message, /Add "Add_y" adds float bias "bias" to MatMul "MatMul_mm"/);
  assert.equal(outcome(qdq(m, NPU_SETTINGS), npuLike(), "bias-not-int32").violations, []);
});

Rules("bias-saturated: a bias too large for int32 at its scale is reported with its elements", () => {
  const big = convNet();
  const b1 = big.graph.constant("b1")!.toFloat32();
  b1[2] = 1e6;
  setInit(big, "b1", b1);
  const r = outcome(qdq(big, { ...NPU_SETTINGS, biasOverflowGuard: false }), npuLike(), "bias-saturated");
  assert.equal(nodes(r), ["conv"]);
  assert.match(r.violations[0].message, /bias "b1_quantized" of Conv "conv" has 1 of 6 values clamped to the int32 limits \(elements 2\)/);
  assert.equal(outcome(npuModel(), npuLike(), "bias-saturated").violations, []);
});

const BAD_SCALES: [number, RegExp][] = [[0, /is zero/], [NaN, /is NaN/], [Infinity, /is infinite/], [1e-40, /is denormal/], [-0.5, /is negative/]];

for (const [value, message] of BAD_SCALES) {
  Rules(`bad-scale: an activation scale of ${value} is reported once for its Q/DQ pair`, () => {
    const m = npuModel();
    const q = qNodes(m).find((n) => n.inputs[0] === "x")!;
    setInit(m, q.inputs[1], new Float32Array([value]));
    const r = outcome(m, npuLike(), "bad-scale");
    assert.equal(r.violations.map((v) => v.node), [q.label]);
    assert.match(r.violations[0].message, message);
  });
}

Rules("bad-scale: one bad channel of a per-channel weight scale is named; good scales pass", () => {
  const m = npuModel();
  const dq = dqInput(m, "conv", 1);
  const s = m.graph.constant(dq.inputs[1])!.toFloat32();
  s[4] = 0;
  setInit(m, dq.inputs[1], s);
  assert.match(outcome(m, npuLike(), "bad-scale").violations[0].message, /is channel 4 zero/);
  assert.equal(outcome(npuModel(), npuLike(), "bad-scale").violations, []);
});

Rules("zero-point-range: a zero point of another type, a non-zero int32 one, or the wrong count fails", () => {
  const cases: [string, (m: Model) => void, RegExp][] = [
    ["type", (m) => setInit(m, dqInput(m, "conv", 1).inputs[2], new Uint8Array(6)), /is uint8 but the data is int8/],
    ["range", (m) => setInit(m, dqInput(m, "conv", 1).inputs[2], new Int32Array(6).fill(300)), /holds 300, outside int8 \[-128, 127\]/],
    ["int32", (m) => setInit(m, dqInput(m, "conv", 2).inputs[2], new Int32Array(6).fill(5)), /is not 0 for int32 data/],
    ["count", (m) => setInit(m, dqInput(m, "conv", 1).inputs[2], new Int8Array(3)), /has 3 values for 6 scales/],
  ];
  for (const [what, breakIt, message] of cases) {
    const m = npuModel();
    breakIt(m);
    const r = outcome(m, npuLike(), "zero-point-range");
    assert.equal(nodes(r), ["conv"], what);
    assert.match(r.violations[0].message, message, what);
  }
  assert.equal(outcome(npuModel(), npuLike(), "zero-point-range").violations, []);
});

Rules("quantized tensors are found through unnamed nodes too", () => {
  const m = npuModel();
  for (const n of m.graph.nodes) n.name = "";
  assert.equal(validateModel(m, npuLike()).summary.errors, 0);
  const asic = validateModel(m, asicLike({ powerOfTwoScales: false })).rules.find((r) => r.id === "per-channel-not-allowed")!;
  assert.equal(asic.violations.map((v) => v.node), ["Conv(c1)", "Conv(c2)"]);
  assert.match(asic.violations[0].message, /of Conv writing "c1"/);
});

Rules.run();
