// Rewrites for ONNX Runtime's CPU kernels: channel padding changes no output,
// HardSwish and HardSigmoid leave the float ops and stay as close to the float
// model as the QDQ model was, and each applies only where it may.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { memoryDataset } from "../calibrate/_testing.ts";
import { layerErrors } from "../eval/layer_errors.ts";
import { sqnrDb } from "../eval/metrics.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { floatMaxPools, hardSigmoidByGrid, integerHardSwish, lowerForOrtCpu, padDepthwiseChannels } from "./ort_cpu_kernels.ts";
import { type Feeds, randomInput, runModel } from "../quantize/_testing.ts";
import { quantizeAndCompare } from "../quantize/_testing_check.ts";
import { Builder, float, int, ints } from "../quantize/_testing_graphs.ts";

const S = suite("ort cpu lowering");

/**
 * A MobileNetV3 block: x[1,8,6,6] → Conv 8→12 → HardSwish → depthwise 3×3 (12)
 * → Relu → SE (GlobalAveragePool → Conv 12→4 → Relu → Conv 4→12 →
 * HardSigmoid(0.2, 0.5)) → Mul → Conv 12→8 → y; `tail` replaces the last Conv.
 */
function block(tail?: (b: Builder, v: string) => string): Model {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const e = b.node("Conv", ["x", b.weight("we", [12, 8, 1, 1]), b.weight("be", [12], 0.5)], "e");
  const h = b.node("HardSwish", [b.node("Mul", [e, b.scalar("four", 4)], "e4")], "h");
  const d = b.node("Conv", [h, b.weight("wd", [12, 1, 3, 3]), b.weight("bd", [12], 0.2)], "d", { group: int(12), pads: ints([1, 1, 1, 1]) });
  const r = b.node("Relu", [d], "r");
  const p = b.node("GlobalAveragePool", [r], "p");
  const s1 = b.node("Relu", [b.node("Conv", [p, b.weight("ws1", [4, 12, 1, 1]), b.weight("bs1", [4], 0.1)], "s1c")], "s1");
  const s2 = b.node("Conv", [s1, b.weight("ws2", [12, 4, 1, 1], 2), b.weight("bs2", [12], 0.5)], "s2");
  const g = b.node("HardSigmoid", [s2], "g", { alpha: float(0.2), beta: float(0.5) });
  const m = b.node("Mul", [r, g], "m");
  const y = tail ? tail(b, m) : b.node("Conv", [m, b.weight("wp", [8, 12, 1, 1]), b.weight("bp", [8], 0.1)], "y");
  return b.model([y], 17);
}

const feeds = (n: number, seed: number): Feeds[] => Array.from({ length: n }, (_, i) => ({ x: randomInput([1, 8, 6, 6], seed + i) }));

async function quantized(model: Model): Promise<Model> {
  const c = await quantizeAndCompare(model, { perChannel: true }, feeds(16, 1));
  return c.model;
}

/** SQNR (dB) of `test`'s first output against `ref`'s over the same feeds. */
async function sqnr(ref: Model, test: Model, f: Feeds[]): Promise<number> {
  const a = await runModel(ref, f), b = await runModel(test, f);
  const out = ref.graph.outputs[0].name;
  const cat = (r: typeof a) => Float32Array.from(r.flatMap((o) => Array.from(o[out].data as Float32Array)));
  return sqnrDb(cat(a), cat(b));
}

/** The block and its QDQ model, quantized once for the tests that do not change it; each lowers a copy. */
const BLOCK = block();
let blockQdq: Promise<Model> | undefined;
const quantizedBlock = async () => cloneModel(await (blockQdq ??= quantized(BLOCK)));

/** `lowered` stays within 1 dB of the QDQ model's output SQNR against the float block; returns its SQNR. */
async function assertNoWorse(qdq: Model, lowered: Model, seed: number): Promise<number> {
  const f = feeds(16, seed);
  const before = await sqnr(BLOCK, qdq, f), after = await sqnr(BLOCK, lowered, f);
  assert.ok(after > before - 1, `SQNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
  return after;
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const initDims = (m: Model, name: string) => m.graph.initializers.get(name)?.dims;

S("padding: the depthwise channels grow to 16, every writer and reader with them, and no output changes", async () => {
  const q = await quantizedBlock();
  const p = cloneModel(q);
  const done = padDepthwiseChannels(p.graph);
  assert.is(done.length, 1);
  assert.is(done[0].channels, 12);
  assert.is(done[0].to, 16);
  // Writers: the expand conv and the SE's second conv; readers: the SE's first conv and the projection.
  assert.equal(done[0].layers.sort(), ["Conv_d", "Conv_e", "Conv_s1c", "Conv_s2", "Conv_y"]);
  const dw = p.graph.nodes.find((n) => n.name === "Conv_d")!;
  assert.is(dw.attrInt("group"), 16);
  const weightOf = (node: string, slot: number) => {
    const n = p.graph.nodes.find((x) => x.name === node)!;
    return p.graph.producer(n.inputs[slot])!.inputs; // [quantized, scale, zero point]
  };
  const [wq, ws, wz] = weightOf("Conv_e", 1);
  assert.equal(initDims(p, wq), [16, 8, 1, 1]);
  assert.equal(initDims(p, ws), [16]);
  assert.equal(initDims(p, wz), [16]);
  assert.ok(Array.from(p.graph.initializers.get(ws)!.toFloat32()).every((s) => s > 0), "padded channels keep a positive scale");
  assert.equal(initDims(p, weightOf("Conv_y", 1)[0]), [8, 16, 1, 1]);
  assert.equal(initDims(p, weightOf("Conv_y", 1)[1]), [8], "a reader's per-output-channel scales are untouched");
  assert.equal(initDims(p, weightOf("Conv_d", 2)[0]), [16], "the depthwise bias");
  const f = feeds(8, 100);
  const a = await runModel(q, f), b = await runModel(p, f);
  for (let i = 0; i < f.length; i++) {
    const x = a[i].y.data as Float32Array, y = b[i].y.data as Float32Array;
    for (let k = 0; k < x.length; k++) assert.ok(Math.abs(x[k] - y[k]) < 1e-5, `sample ${i} element ${k}: ${x[k]} vs ${y[k]}`);
  }
});

S("padding: a group that reaches a graph output, a Concat or a weight another layer reads stays as it is", async () => {
  // The depthwise output is the graph output.
  const toOutput = block((_, m) => m);
  const q1 = await quantized(toOutput);
  assert.equal(padDepthwiseChannels(q1.graph), []);
  // A Concat reads the channels.
  const concat = block((b, m) => b.node("Concat", [m, m], "y", { axis: int(1) }));
  const q2 = await quantized(concat);
  const before = JSON.stringify(q2.graph.nodes.map((n) => [n.opType, n.inputs]));
  assert.equal(padDepthwiseChannels(q2.graph), []);
  assert.is(JSON.stringify(q2.graph.nodes.map((n) => [n.opType, n.inputs])), before);
  // The expand conv's weight is read again after the projection, by a layer outside the group.
  const shared = block((b, m) => {
    const y1 = b.node("Conv", [m, b.weight("wp", [8, 12, 1, 1]), b.weight("bp", [8], 0.1)], "y1");
    const y2 = b.node("Conv", [y1, "we"], "y2");
    return b.node("Conv", [y2, b.weight("wq", [8, 12, 1, 1])], "y");
  });
  const q4 = await quantized(shared);
  const weightDims = () => [...q4.graph.initializers.values()].map((t) => `${t.name}:${t.dims}`).join(" ");
  const dims = weightDims();
  assert.equal(padDepthwiseChannels(q4.graph), []);
  assert.is(weightDims(), dims);
  // Already a multiple of the block: nothing to do.
  assert.equal(padDepthwiseChannels((await quantizedBlock()).graph, 4), []);
});

S("HardSwish runs as Add + Mul on uint8 grids and stays as close to the float model", async () => {
  const q = await quantizedBlock();
  const h = cloneModel(q);
  assert.is(integerHardSwish(h.graph), 1);
  assert.not.ok(ops(h).includes("HardSwish"));
  // The gate: x + 3 on a grid from 0 to 6, read back as (x + 3)/6 on [0, 1].
  const gateQ = h.graph.nodes.find((n) => n.opType === "QuantizeLinear" && n.name.includes("gate"))!;
  assert.is(h.graph.initializers.get(gateQ.inputs[1])!.toFloat32()[0], Math.fround(6 / 255));
  assert.is(Number(h.graph.initializers.get(gateQ.inputs[2])!.view()[0]), 0);
  await assertNoWorse(q, h, 200);
});

S("an SE gate's HardSigmoid becomes its input's grid: the layer before shifts by β/α, nothing is left to run", async () => {
  const q = await quantizedBlock();
  const s = cloneModel(q);
  const biasOf = (m: Model) => {
    const conv = m.graph.nodes.find((n) => n.name === "Conv_s2")!;
    const dq = m.graph.producer(conv.inputs[2])!;
    const scale = m.graph.initializers.get(dq.inputs[1])!.toFloat64();
    return { scale, values: Array.from(m.graph.initializers.get(dq.inputs[0])!.view() as Int32Array, (v, i) => v * scale[i]) };
  };
  const b0 = biasOf(q);
  assert.is(hardSigmoidByGrid(s.graph), 1);
  assert.not.ok(ops(s).includes("HardSigmoid"));
  const b1 = biasOf(s);
  // β/α = 2.5, to within half a step of the int32 bias.
  b1.values.forEach((v, i) => assert.ok(Math.abs(v - b0.values[i] - 2.5) <= b0.scale[i] / 2 + 1e-9, `channel ${i}: ${b0.values[i]} → ${v}`));
  // The conv's output is quantized on [0, G/α] (zero point 0) and read back as the gate on [0, G].
  const conv = s.graph.nodes.find((n) => n.name === "Conv_s2")!;
  const qx = s.graph.consumers(conv.outputs[0])[0];
  assert.is(qx.opType, "QuantizeLinear");
  assert.is(Number(s.graph.initializers.get(qx.inputs[2])!.view()[0]), 0);
  const reader = s.graph.consumers(qx.outputs[0])[0];
  const xs = s.graph.initializers.get(qx.inputs[1])!.toFloat64()[0], gs = s.graph.initializers.get(reader.inputs[1])!.toFloat64()[0];
  assert.ok(Math.abs(gs / xs - 0.2) < 1e-6, "the gate's step is α times the input's");
  await assertNoWorse(q, s, 300);
});

S("lowerForOrtCpu: all three on one block, reported", async () => {
  const q = await quantizedBlock();
  const l = cloneModel(q);
  const r = lowerForOrtCpu(l.graph);
  assert.is(r.padded.length, 1);
  assert.is(r.hardSwish, 1);
  assert.is(r.hardSigmoid, 1);
  const after = await assertNoWorse(q, l, 400);
  assert.ok(after > 25, `SQNR ${after.toFixed(2)} dB`);
  // Per-layer errors compare a padded value's first channels with the float one.
  const data = memoryDataset("x", feeds(4, 400).map((x) => x.x as never));
  const layers = await layerErrors(BLOCK, l, data);
  const relu = layers.layers.find((e) => e.value === "r");
  assert.ok(relu && relu.sqnrDb > 20, `padded Relu output SQNR ${relu?.sqnrDb}`);
});

/**
 * x[1,8,6,6] → Conv 8→12 → (Mul by 4) → `act` → MaxPool 2×2 → a classifier's
 * head (GlobalAveragePool → Flatten → MatMul 12→4) or Conv 12→8 → y.
 */
function pooled(act: string, opts: { mul?: boolean; head?: boolean } = {}): Model {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const e = b.node("Conv", ["x", b.weight("we", [12, 8, 1, 1]), b.weight("be", [12], 0.5)], "e");
  const a = b.node(act, [opts.mul ?? true ? b.node("Mul", [e, b.scalar("four", 4)], "e4") : e], "a");
  const p = b.node("MaxPool", [a], "p", { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  const y = opts.head ?? true
    ? b.node("MatMul", [b.node("Flatten", [b.node("GlobalAveragePool", [p], "g")], "f"), b.weight("wm", [12, 4])], "y")
    : b.node("Conv", [p, b.weight("wp", [8, 12, 1, 1]), b.weight("bp", [8], 0.1)], "y");
  return b.model([y], 17);
}

S("MaxPool: after a HardSwish, before a classifier's head, its DequantizeLinear goes per channel with one grid, and not one output byte changes", async () => {
  const q = await quantized(pooled("HardSwish"));
  const l = cloneModel(q);
  assert.is(floatMaxPools(l.graph), 1);
  const mp = l.graph.nodes.find((n) => n.opType === "MaxPool")!;
  const dq = l.graph.producer(mp.inputs[0])!;
  assert.is(dq.attrInt("axis"), 1);
  const scale = l.graph.initializers.get(dq.inputs[1])!, zero = l.graph.initializers.get(dq.inputs[2])!;
  assert.equal([scale.dims, zero.dims, zero.dtype], [[12], [12], "uint8"]);
  const before = q.graph.producer(q.graph.nodes.find((n) => n.opType === "MaxPool")!.inputs[0])!;
  const s0 = q.graph.initializers.get(before.inputs[1])!.toFloat32()[0], z0 = Number(q.graph.initializers.get(before.inputs[2])!.view()[0]);
  assert.ok(Array.from(scale.toFloat32()).every((s) => s === s0) && Array.from(zero.view() as Uint8Array).every((z) => z === z0));
  const f = feeds(8, 500);
  const a = await runModel(q, f), b = await runModel(l, f);
  for (let i = 0; i < f.length; i++) assert.equal(Array.from(b[i].y.data as Float32Array), Array.from(a[i].y.data as Float32Array), `sample ${i}`);
  // lowerForOrtCpu reports it; below opset 13 (no per-axis DequantizeLinear) it stays.
  assert.is(lowerForOrtCpu(cloneModel(q).graph, { gates: false }).floatMaxPool, 1);
  assert.is(lowerForOrtCpu(cloneModel(q).graph, { gates: false, perAxis: false }).floatMaxPool, 0);
});

S("MaxPool: right after a Conv and its Relu, or before a Conv (ORT runs it NHWC), it stays as it is", async () => {
  for (const model of [pooled("Relu", { mul: false }), pooled("HardSwish", { head: false }), pooled("Relu", { head: false })]) {
    const q = await quantized(model);
    const before = JSON.stringify(q.graph.nodes.map((n) => [n.opType, n.inputs]));
    assert.is(floatMaxPools(q.graph), 0);
    assert.is(JSON.stringify(q.graph.nodes.map((n) => [n.opType, n.inputs])), before);
  }
});

S.run();
