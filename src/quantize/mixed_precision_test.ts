// Sensitivity analysis and mixed precision on a conv chain with one damaged
// layer (an outlier output channel under per-tensor weights): the analysis
// ranks it first in both views, its switchable model reproduces the float
// and the quantized model, and mixed precision keeps that layer float.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { memoryDataset } from "../calibrate/_testing.ts";
import { compareModels } from "../eval/compare.ts";
import { analyzeSensitivity } from "../eval/sensitivity.ts";
import { switchableModel } from "../eval/_switchable.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "../onnx/encode.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { loadTarget } from "../targets/load.ts";
import { mixedPrecision } from "./mixed_precision.ts";
import { quantizeModel } from "./pipeline.ts";
import { randomInput } from "./_testing.ts";
import { Builder, ints } from "./_testing_graphs.ts";

const M = suite("sensitivity and mixed precision");
const C = 8;

/** x[1,4,8,8] → conv1 → relu → conv2 → relu → conv3 → relu → conv4 = y; conv2's output channel 0 is `outlier`× the rest, and conv3 does not read it. */
function chain(outlier: number): Model {
  const b = new Builder();
  let x = b.input("x", [1, 4, 8, 8]);
  let cin = 4;
  for (let k = 1; k <= 4; k++) {
    const cout = k === 4 ? 4 : C;
    const w = b.weight(`w${k}`, [cout, cin, 3, 3], 0.3);
    const t = b.g.constant(w)!.toFloat32();
    // conv2's channel 0 is an outlier its readers ignore: under per-tensor scales it costs the other channels their resolution.
    if (k === 2) for (let i = 0; i < cin * 9; i++) t[i] *= outlier;
    if (k === 3) for (let o = 0; o < cout; o++) t.fill(0, o * cin * 9, o * cin * 9 + 9);
    b.init(w, [cout, cin, 3, 3], t);
    const bias = b.weight(`b${k}`, [cout], 0.1);
    const y = b.node("Conv", [x, w, bias], k === 4 ? "y" : `c${k}`, { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
    b.g.nodes[b.g.nodes.length - 1].name = `conv${k}`;
    x = k === 4 ? y : b.node("Relu", [y], `r${k}`);
    cin = cout;
  }
  return b.model(["y"]);
}

const samples = (n: number, seed: number) => Array.from({ length: n }, (_, i) => randomInput([1, 4, 8, 8], seed + i) as TensorValue<"float32">);
const calib = memoryDataset("x", samples(16, 100));
const held = memoryDataset("x", samples(12, 900));
const perTensor = { profile: loadTarget("cpu-mixed"), perChannel: false, passes: ["bias-overflow-guard" as const] };

async function quantized(model: Model, float: readonly string[] = []): Promise<{ model: Model; floatGraph: Model }> {
  const m = cloneModel(model);
  let floatGraph!: Model;
  await quantizeModel(m, calib, { ...perTensor, exclude: float, floatOutputs: float, onFloatGraph: (f) => (floatGraph = f) });
  return { model: m, floatGraph };
}

M("the switchable model runs as the float graph with every switch off and as the QDQ model with every switch on", async () => {
  const { model, floatGraph } = await quantized(chain(40));
  const { model: sw, units } = switchableModel(floatGraph, model);
  assert.equal(units.map((u) => u.name), ["input \"x\"", "conv1", "conv2", "conv3", "conv4"]);
  assert.equal(units.find((u) => u.name === "conv2")!.nodes, ["conv2", "Relu_r2"], "the Relu the quantizer folded into conv2 goes with it");
  assert.equal(units.find((u) => u.name === "conv2")!.constants, ["w2", "b2"]);
  const runtime = await getRuntime("node");
  const [s, f, q] = await Promise.all([sw, floatGraph, model].map((m) => runtime.createSession(encodeModel(m).bytes, { graphOptimizationLevel: "disabled" })));
  try {
    const x = (await held.get(0)).x;
    const masks = (v: number) => Object.fromEntries(units.map((u) => [u.mask, { dtype: "bool", dims: [], data: Uint8Array.of(v) } as TensorValue]));
    const [off, on, fy, qy] = await Promise.all([s.run({ x, ...masks(0) }), s.run({ x, ...masks(1) }), f.run({ x }), q.run({ x })]);
    assert.equal(off.y.data, fy.y.data, "all off: the float graph, bit for bit");
    const a = on.y.data as Float32Array, b = qy.y.data as Float32Array;
    let worst = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    assert.ok(worst <= 1e-5 * scale, `all on: the QDQ model (max |Δ| ${worst} of ${scale})`);
  } finally {
    await Promise.all([s.release(), f.release(), q.release()]);
  }
});

M("the damaged layer comes first in both views, and the analysis measures the quantized model's own SQNR", async () => {
  const { model, floatGraph } = await quantized(chain(40));
  const r = await analyzeSensitivity(floatGraph, model, held, { samples: 12, runtime: "node" });
  assert.is(r.samples, 12);
  assert.is(r.nodes[0].node, "conv2", r.nodes.map((n) => `${n.node} ${n.gainDb}`).join(", "));
  const alone = [...r.nodes].sort((a, b) => a.aloneDb! - b.aloneDb!);
  assert.is(alone[0].node, "conv2", "quantized alone, it does the most damage");
  assert.ok(r.nodes[0].gainDb! > 3, `keeping it float gains ${r.nodes[0].gainDb} dB`);
  assert.ok(r.nodes.slice(1).every((n) => n.gainDb! < r.nodes[0].gainDb!));
  assert.is(r.runs, 12 * (1 + 1 + 2 * 5), "reference, all on, then two views of five units per sample");
  const whole = await compareModels(floatGraph, model, held, { samples: 12, session: { graphOptimizationLevel: "disabled" } });
  assert.ok(Math.abs(whole.outputs[0].sqnrDb - r.quantizedDb) < 0.01, `${whole.outputs[0].sqnrDb} vs ${r.quantizedDb}`);

  const healthy = await quantized(chain(1));
  const h = await analyzeSensitivity(healthy.floatGraph, healthy.model, held, { samples: 12, runtime: "node" });
  assert.ok(h.nodes[0].gainDb! < r.nodes[0].gainDb!, "the same layer without its outlier channel matters less");
  const only = await analyzeSensitivity(floatGraph, model, held, { samples: 4, views: "alone", runtime: "node" });
  assert.ok(only.nodes.every((n) => n.gainDb === undefined && n.aloneDb !== undefined));
  assert.is(only.nodes[0].node, "conv2");
});

M("mixed precision keeps the damaged layer float to hold the drop, and keeps nothing float when the whole model holds it", async () => {
  const model = chain(40);
  const fp32 = encodeModel(model).bytes;
  const trials: number[] = [];
  const { model: chosen, report } = await mixedPrecision({
    maxDrop: 0.02,
    fp32,
    data: held,
    rankData: calib,
    metric: { name: "top-1 agreement with FP32" },
    quantize: ({ float }) => quantized(model, float),
    onTrial: (k) => trials.push(k),
  });
  assert.ok(report.trials[0].drop > 0.02, `quantized whole, the drop is ${report.trials[0].drop}`);
  assert.is(report.met, true);
  assert.ok(report.drop <= 0.02);
  assert.equal(report.float.slice(0, 2), ["conv2", "Relu_r2"], `float: ${report.float.join(", ")}`);
  assert.equal(trials, report.trials.map((t) => t.ranked));
  const plan = chosen.graph.nodes.find((n) => n.name === "conv2")!;
  assert.ok(chosen.graph.constant(plan.inputs[1])?.dtype === "float32", "conv2 keeps float weights");
  assert.ok(chosen.graph.nodes.some((n) => n.name === "conv1" && chosen.graph.producer(n.inputs[1])?.opType === "DequantizeLinear"), "conv1 stays integer");

  const easy = await mixedPrecision({ maxDrop: 0.5, fp32, data: held, metric: { name: "top-1 agreement with FP32" }, quantize: ({ float }) => quantized(model, float) });
  assert.equal([easy.report.met, easy.report.float, easy.report.trials.length, easy.report.ranking.length], [true, [], 1, 0], "no analysis when the whole model holds");
});

M("on an integer-only target with a 16-bit type, mixed precision widens the damaged activation instead, at opset 21", async () => {
  // Per-channel weights take conv2's outlier channel in their stride; its output, rounded per tensor, does not.
  const model = chain(40);
  const fp32 = encodeModel(model).bytes;
  const wideQuantized = async (wide: readonly string[]) => {
    const m = cloneModel(model);
    let floatGraph!: Model;
    await quantizeModel(m, calib, { ...perTensor, perChannel: true, activations: "int8", wideActivations: wide, onFloatGraph: (f) => (floatGraph = f) });
    return { model: m, floatGraph };
  };
  const { model: chosen, report } = await mixedPrecision({
    maxDrop: 0.02,
    mode: "wide",
    fp32,
    data: held,
    rankData: calib,
    metric: { name: "top-1 agreement with FP32" },
    quantize: ({ float, wide }) => {
      assert.equal(float, [], "nothing is kept float");
      return wideQuantized(wide);
    },
  });
  assert.ok(report.trials[0].drop > 0.02, `all in 8 bits, the drop is ${report.trials[0].drop}`);
  assert.is(report.met, true);
  assert.equal([report.mode, report.float, report.wide[0]], ["wide", [], "r2"], `wide: ${report.wide.join(", ")}`);
  assert.is(chosen.opset(), 21);
  const g = chosen.graph;
  const types = new Map(g.nodes.filter((n) => n.opType === "QuantizeLinear").map((n) => [n.inputs[0], g.constant(n.inputs[2])!.dtype]));
  assert.is(types.get("r2"), "int16");
  assert.ok([...types].filter(([v]) => !report.wide.includes(v)).every(([, t]) => t === "int8"), "the rest stays int8");
  assert.ok(g.nodes.every((n) => !["Conv"].includes(n.opType) || g.producer(n.inputs[1])?.opType === "DequantizeLinear"), "every Conv integer");
});

M.run();
