// Up-front checks: what quantization cannot fix is found before calibration.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadTarget } from "../targets/load.ts";
import { Builder, ints } from "./_testing_graphs.ts";
import { targetPreflight } from "./preflight.ts";
import { quantizeOptionsFor } from "./target_options.ts";

const Pre = suite("quantize: preflight against a target");
const npu = loadTarget("npu-int8-only"), cpu = loadTarget("cpu-mixed");
const check = (m: ReturnType<Builder["model"]>, p = npu) => targetPreflight(m, p, quantizeOptionsFor(p).options);

function convNet(dynamic: boolean) {
  const b = new Builder();
  b.input("x", [1, 3, 8, 8]);
  if (dynamic) b.g.inputs[0].shape = ["N", 3, 8, 8];
  b.weight("w", [4, 3, 3, 3]);
  b.weight("bias", [4]);
  b.node("Conv", ["x", "w", "bias"], "c", { pads: ints([1, 1, 1, 1]) });
  b.node("Relu", ["c"], "y");
  return b.model(["y"]);
}

Pre("a static conv net meets npu-int8-only: nothing to report", () => {
  assert.equal(check(convNet(false)), []);
});

Pre("a dynamic input on a static-shape target: dynamic-shape, named", () => {
  const problems = check(convNet(true));
  assert.equal(problems.map((p) => p.rule), ["dynamic-shape"]);
  assert.match(problems[0].message, /Graph input "x" has shape \[N, 3, 8, 8\]/);
  assert.equal(check(convNet(true), cpu), [], "cpu-mixed takes dynamic shapes");
});

Pre("an op outside the set and the float island it leaves behind; cpu-mixed only warns", () => {
  const b = new Builder();
  b.input("x", [1, 8]);
  b.ints("shape", [2, 4]);
  b.node("Celu", ["x"], "e");
  b.node("Reshape", ["e", "shape"], "y");
  const m = b.model(["y"]);
  const problems = check(m);
  assert.equal(problems.map((p) => [p.rule, p.node]), [["op-not-supported", "Celu_e"], ["float-island", "Reshape_y"]]);
  assert.match(problems[1].message, /Reshape "Reshape_y" would stay float: data input not quantized/);
  assert.equal(check(m, cpu), []);
});

Pre.run();
