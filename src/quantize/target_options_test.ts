// A profile becomes quantization options in one place; requests it forbids
// are refused with the profile's name and rule.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { loadTarget } from "../targets/load.ts";
import type { TargetProfile } from "../targets/types.ts";
import { quantizeOptionsFor, type TargetRequest } from "./target_options.ts";

const Opts = suite("quantize: options for a target");
const npu = loadTarget("npu-int8-only"), cpu = loadTarget("cpu-mixed"), asic = loadTarget("asic-per-tensor");

Opts("each built-in gives the most accurate settings it allows", () => {
  const base = { reduceRange: false, exclude: [], bias: "int32", biasOverflowGuard: true };
  assert.equal(quantizeOptionsFor(cpu).options, { ...base, perChannel: true, activations: "uint8", symmetricActivations: false, powerOfTwoScales: false, floatSqrt: true });
  assert.equal(quantizeOptionsFor(npu).options, { ...base, perChannel: true, activations: "int8", symmetricActivations: false, powerOfTwoScales: false, floatSqrt: false });
  assert.equal(quantizeOptionsFor(asic).options, { ...base, perChannel: false, activations: "int8", symmetricActivations: true, powerOfTwoScales: true, floatSqrt: false });
});

Opts("the pass recipe: allowed passes on by default, switched on or off by request", () => {
  const recipe = ["fusions", "cross-layer-equalization", "layernorm-equalization", "bias-overflow-guard", "bias-correction"];
  for (const p of [asic, npu]) assert.equal(quantizeOptionsFor(p).passes, recipe);
  // ONNX Runtime's CPU kernels are cpu-mixed's runtime: its recipe ends with their rewrite.
  assert.equal(quantizeOptionsFor(cpu).passes, [...recipe, "ort-cpu-kernels"]);
  const asked = quantizeOptionsFor(cpu, { passes: { fusions: false, "cross-layer-equalization": false, smoothquant: true, "bias-correction": false, "float-fallback": true, "ort-cpu-kernels": false } });
  assert.equal(asked.passes, ["smoothquant", "layernorm-equalization", "bias-overflow-guard", "float-fallback"]);
});

Opts("requests the profile allows change the settings", () => {
  assert.is(quantizeOptionsFor(npu, { perChannel: false }).options.perChannel, false);
  assert.is(quantizeOptionsFor(npu, { symmetricActivations: true }).options.symmetricActivations, true);
  assert.is(quantizeOptionsFor(cpu, { powerOfTwoScales: true }).options.powerOfTwoScales, true);
  assert.equal(quantizeOptionsFor(cpu, { exclude: ["conv1"] }).options.exclude, ["conv1"]);
  assert.is(quantizeOptionsFor(cpu, { reduceRange: true }).options.reduceRange, true);
});

Opts("forbidden requests name the profile and the rule", () => {
  const p2 = { ...cpu, name: "p2-cpu", powerOfTwoScales: true };
  const floatBias = { ...cpu, name: "float-bias", bias: "float" as const };
  const table: [TargetProfile, TargetRequest, string][] = [
    [asic, { perChannel: true }, 'Target "asic-per-tensor" forbids per-channel weights (weights.perChannel is false)'],
    [npu, { activations: "uint8" }, 'Target "npu-int8-only" forbids uint8 activations (activations.dtype is "int8")'],
    [cpu, { activations: "int8" }, 'Target "cpu-mixed" forbids int8 activations (activations.dtype is "uint8")'],
    [asic, { symmetricActivations: false }, 'Target "asic-per-tensor" forbids asymmetric activations (activations.symmetric is true)'],
    [npu, { exclude: ["p2o.Conv.0"] }, 'Target "npu-int8-only" forbids excluding "p2o.Conv.0" from quantization (floatFallback is false)'],
    [npu, { maxDrop: 0.01 }, 'Target "npu-int8-only" forbids mixed precision with a maximum accuracy drop (floatFallback is false and activations.alsoAllowed lists no wider type)'],
    [p2, { powerOfTwoScales: false }, 'Target "p2-cpu" forbids scales that are not powers of two (powerOfTwoScales is true)'],
    [floatBias, { bias: "int32" }, 'Target "float-bias" forbids int32 bias (bias is "float")'],
    [npu, { passes: { "float-fallback": true } }, 'Target "npu-int8-only" forbids the float-fallback pass (passes.float-fallback.allowed is false)'],
  ];
  for (const [profile, request, want] of table) {
    assert.throws(() => quantizeOptionsFor(profile, request), (e: Error) => e instanceof InputError && e.message === want, want);
  }
  assert.not.throws(() => quantizeOptionsFor(cpu, { maxDrop: 0.01 }), "cpu-mixed allows float fallback");
});

Opts.run();
