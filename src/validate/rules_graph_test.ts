// Each graph-level rule on a model that breaks it and one that does not:
// op-not-supported, float-island, opset-range, dynamic-shape, op-limits.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Node } from "../ir/node.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import type { Model } from "../ir/model.ts";
import type { OpLimits, TargetProfile } from "../targets/types.ts";
import { convNet, cpuLike, dqInput, nodeNamed, NPU_SETTINGS, npuLike, opsWith, qdq } from "./_testing.ts";
import { validateModel } from "./validate.ts";
import type { RuleOutcome } from "./report.ts";

const Rules = suite("validate: graph rules");

const outcome = (m: Model, p: TargetProfile, id: string): RuleOutcome => validateModel(m, p).rules.find((r) => r.id === id)!;
const nodes = (r: RuleOutcome) => r.violations.map((v) => v.node).sort();
const without = (op: string) => Object.fromEntries(Object.entries(opsWith()).filter(([k]) => k !== op));

Rules("op-not-supported: an op outside the set is an error on an integer-only target, a warning with float fallback", () => {
  const m = qdq(convNet(), NPU_SETTINGS);
  assert.equal(outcome(m, npuLike(), "op-not-supported").violations, []);
  const strict = outcome(m, npuLike({ ops: without("Add") }), "op-not-supported");
  assert.equal(nodes(strict), ["add"]);
  assert.is(strict.violations[0].severity, "error");
  assert.match(strict.violations[0].message, /npu-test has no integer kernel for Add/);
  const report = validateModel(m, cpuLike({ ops: without("Add"), activations: { dtype: "int8", symmetric: true } }));
  const lenient = report.rules.find((r) => r.id === "op-not-supported")!;
  assert.equal(lenient.violations.map((v) => [v.node, v.severity]), [["add", "warning"]]);
  assert.is(report.summary.errors, 0, "warnings alone pass");
});

Rules("op-not-supported: custom-domain ops are looked up as domain.op; Q/DQ, Constant and shape ops are not ops", () => {
  const m = qdq(convNet(), NPU_SETTINGS);
  const g = m.graph;
  g.addNode(new Node({ opType: "Shape", name: "shape", inputs: ["y"], outputs: ["s"] }));
  g.addNode(new Node({ opType: "Cast", name: "cast", inputs: ["s"], outputs: ["s32"], attrs: { to: { type: "int", value: 6 } } }));
  g.addNode(new Node({ opType: "Gelu", name: "custom", domain: "com.example", inputs: ["y"], outputs: ["z"] }));
  g.outputs.push({ name: "s32" }, { name: "z", dtype: "float32", shape: [1, 6, 8, 8] });
  assert.equal(nodes(outcome(m, npuLike(), "op-not-supported")), ["custom"]);
  assert.equal(outcome(m, npuLike({ ops: { ...opsWith(), "com.example.Gelu": {} } }), "op-not-supported").violations, []);
});

Rules("float-island: the FP32 model lists every op; a QDQ model lists none", () => {
  const fp32 = outcome(convNet(), npuLike(), "float-island");
  assert.equal(nodes(fp32), ["add", "conv", "dw", "relu"]);
  assert.match(fp32.violations.find((v) => v.node === "conv")!.message, /input "x" is a float graph input/);
  assert.match(fp32.violations.find((v) => v.node === "add")!.message, /output "y" is a float graph output/);
  assert.equal(outcome(qdq(convNet(), NPU_SETTINGS), npuLike(), "float-island").violations, []);
});

Rules("float-island: a float op slipped between DequantizeLinear and a quantized op flags both", () => {
  const m = qdq(convNet(), NPU_SETTINGS);
  const add = nodeNamed(m, "add");
  const dq = dqInput(m, "add", 0);
  m.graph.addNode(new Node({ opType: "Tanh", name: "tanh", inputs: [dq.outputs[0]], outputs: ["t"] }), { after: dq });
  add.inputs[0] = "t";
  m.graph.invalidate();
  const r = outcome(m, npuLike(), "float-island");
  assert.equal(nodes(r), ["add", "tanh"]);
  assert.match(r.violations.find((v) => v.node === "tanh")!.message, /output "t" is read in float by Add "add"/);
});

Rules("float-island: a float weight is an island even between Q/DQ; float-fallback targets skip the rule", () => {
  const m = qdq(convNet(), NPU_SETTINGS);
  const fp32 = convNet();
  m.graph.addInitializer(fp32.graph.constant("w1")!);
  nodeNamed(m, "conv").inputs[1] = "w1";
  m.graph.invalidate();
  const r = outcome(m, npuLike(), "float-island");
  assert.equal(nodes(r), ["conv"]);
  assert.match(r.violations[0].message, /weight "w1" is float/);
  const lenient = outcome(convNet(), cpuLike(), "float-island");
  assert.is(lenient.applies, false);
  assert.equal(lenient.violations, []);
});

Rules("opset-range: inside the range passes; below or above fails", () => {
  for (const [opset, n] of [[13, 0], [21, 0], [11, 1], [22, 1]]) {
    const m = convNet();
    m.opsets.set("", opset);
    const r = outcome(m, npuLike({ opset: { min: 13, max: 21 } }), "opset-range");
    assert.is(r.violations.length, n, `opset ${opset}`);
    if (n) assert.match(r.violations[0].message, new RegExp(`opset ${opset}: npu-test reads opsets 13 to 21`));
  }
});

Rules("dynamic-shape: symbolic or unknown dims of inputs, outputs and recorded values fail on static targets", () => {
  assert.equal(outcome(convNet(), npuLike(), "dynamic-shape").violations, []);
  const m = convNet();
  m.graph.inputs[0].shape = ["N", 4, 8, 8];
  m.graph.valueInfo.set("c1", { name: "c1", dtype: "float32", shape: [1, 6, null, 8] });
  const r = outcome(m, npuLike(), "dynamic-shape");
  assert.equal(r.violations.map((v) => v.value), ["x", "c1"]);
  assert.match(r.violations[0].message, /Graph input "x" has shape \[N, 4, 8, 8\]/);
  assert.match(r.violations[1].message, /Value "c1" \(from Conv "conv"\) has shape \[1, 6, \?, 8\]/);
  const norank = convNet();
  norank.graph.inputs[0].shape = undefined;
  assert.match(outcome(norank, npuLike(), "dynamic-shape").violations[0].message, /has no recorded shape/);
  assert.is(outcome(m, cpuLike(), "dynamic-shape").applies, false);
});

/** convNet with the shape of c2 recorded, so broadcasting and rank can be checked. */
function shaped(): Model {
  const m = convNet();
  m.graph.valueInfo.set("c2", { name: "c2", dtype: "float32", shape: [1, 6, 8, 8] });
  return m;
}

const LIMIT_CASES: [string, Record<string, OpLimits>, string[], RegExp][] = [
  ["kernel", { Conv: { maxKernel: [1, 1] } }, ["conv", "dw"], /kernel 3×3 exceeds 1×1/],
  ["strides", { Conv: { strides: [2] } }, ["conv", "dw"], /strides 1,1 not in \{2\}/],
  ["dilations", { Conv: { dilations: [2] } }, ["conv", "dw"], /dilations 1,1 not in \{2\}/],
  ["depthwise", { Conv: { depthwise: false } }, ["dw"], /depthwise \(group 6\) not supported/],
  ["channels", { Conv: { maxChannels: 5 } }, ["conv", "dw"], /4 input \/ 6 output channels exceed 5/],
  ["broadcast", { Add: { broadcast: "scalar" } }, ["add"], /\[1,6,8,8\] and \[1,6,1,1\] need per-channel broadcasting, allowed: scalar/],
  ["rank", { Add: { maxRank: 3 } }, ["add"], /rank 4 exceeds 3/],
  ["constant inputs", { Add: { constantInputs: [0] } }, ["add"], /input 0 \("c2(_dequantized)?"\) is not a constant/],
];

for (const [what, limits, expected, message] of LIMIT_CASES) {
  Rules(`op-limits: ${what} over the limit fails, on the float and the QDQ model alike`, () => {
    const p = npuLike({ ops: opsWith(limits) });
    for (const m of [shaped(), qdq(shaped(), NPU_SETTINGS)]) {
      const r = outcome(m, p, "op-limits");
      assert.equal(nodes(r), expected);
      assert.match(r.violations[0].message, message);
    }
  });
}

Rules("op-limits: a mode outside the allowed ones fails; the default mode counts when the attribute is absent", () => {
  const b = new Builder();
  b.input("x", [1, 2, 4, 4]);
  b.init("scales", [4], new Float32Array([1, 1, 2, 2]));
  b.node("Resize", ["x", "", "scales"], "up", { mode: { type: "string", value: "cubic" } });
  b.node("Resize", ["up", "", "scales"], "y");
  const m = b.model(["y"]);
  const r = outcome(m, npuLike({ ops: opsWith({ Resize: { modes: ["linear"] } }) }), "op-limits");
  assert.equal(nodes(r), ["Resize_up", "Resize_y"]);
  assert.match(r.violations[0].message, /mode "cubic" not in \{linear\}/);
  assert.match(r.violations[1].message, /mode "nearest" not in \{linear\}/);
  assert.equal(outcome(m, npuLike({ ops: opsWith({ Resize: { modes: ["nearest", "cubic"] } }) }), "op-limits").violations, []);
});

Rules("op-limits: grouped convolutions are told apart from depthwise ones", () => {
  const b = new Builder();
  b.input("x", [1, 4, 8, 8]);
  b.weight("w", [4, 2, 3, 3]);
  b.node("Conv", ["x", "w"], "y", { group: int(2), pads: ints([1, 1, 1, 1]) });
  const m = b.model(["y"]);
  const grouped = outcome(m, npuLike({ ops: opsWith({ Conv: { grouped: false, depthwise: true } }) }), "op-limits");
  assert.match(grouped.violations[0].message, /grouped convolution \(group 2\) not supported/);
  assert.equal(outcome(m, npuLike({ ops: opsWith({ Conv: { grouped: true, depthwise: false } }) }), "op-limits").violations, []);
});

Rules("op-limits: a model inside every limit passes", () => {
  const limits = {
    Conv: { maxKernel: [3, 3], strides: [1, 2], dilations: [1], depthwise: true, grouped: false, maxChannels: 64, maxRank: 4 },
    Add: { broadcast: "per-channel" as const, maxRank: 4, constantInputs: [1] },
  };
  for (const m of [shaped(), qdq(shaped(), NPU_SETTINGS)]) {
    assert.equal(outcome(m, npuLike({ ops: opsWith(limits) }), "op-limits").violations, []);
  }
});

Rules.run();
