// SmoothQuant: the factors follow the formula, 1/s folds into a linear
// producer (through Relu) or a LayerNormalization, the activation's channel
// maxima become m/s, and where nothing can absorb 1/s the layer is left
// alone unless the explicit-Mul form is asked for.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collect } from "../calibrate/collect.ts";
import type { ChannelObserver } from "../calibrate/channel.ts";
import type { StatRequest } from "../calibrate/types.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { Dataset } from "../data/types.ts";
import type { TensorValue } from "../runtime/types.ts";
import type { Model } from "../ir/model.ts";
import { randomInput } from "../quantize/_testing.ts";
import { Builder, float, ints } from "../quantize/_testing_graphs.ts";
import { contextFor, opCounts, outputDrift, snapshot } from "./_testing.ts";
import { smoothingScales, smoothquant } from "./smoothquant.ts";
import type { PassContext, PassReport, StatLookup } from "./types.ts";

const Smooth = suite("smoothquant");

function dataset(dims: number[], n = 4): Dataset {
  return memoryDataset("x", Array.from({ length: n }, (_, i) => randomInput(dims, 10 + i, -2, 2) as TensorValue<"float32">));
}

/** Runs the pass with statistics collected from `data`, as the pipeline does. */
async function smooth(model: Model, data: Dataset, ctx: PassContext): Promise<{ report: PassReport; drift: number; stats: StatLookup }> {
  const requests = smoothquant.needs!(model, ctx);
  const observers = await collect(model, data, requests);
  const byKey = new Map(requests.map((r, i) => [JSON.stringify(r), observers[i]]));
  const stats: StatLookup = (r: StatRequest) => byKey.get(JSON.stringify(r))!;
  const before = snapshot(model);
  const report = await smoothquant.apply(model, stats, ctx);
  const feeds = await Promise.all([0, 1].map((i) => data.get(i)));
  return { report, drift: await outputDrift(before, model, feeds), stats };
}

Smooth("s = m^α / w^(1−α), clipped, 1 where a side is zero", () => {
  const s = smoothingScales([4, 1, 0, 1e12], [1, 4, 2, 1e-12], 0.5);
  assert.equal([...s.slice(0, 3)], [2, 0.5, 1]);
  assert.is(s[3], 1e5);
  assert.equal([...smoothingScales([3, 5], [7, 9], 1)], [3, 5]);
});

/** x → Conv(4→8) → Relu → Conv(8→6): an activation channel 30× the others. */
function convPair(): Model {
  const b = new Builder();
  b.input("x", [1, 4, 5, 5]);
  const w1 = b.weight("w1", [8, 4, 1, 1]);
  const t = b.g.constant(w1)!.toFloat32();
  for (let i = 0; i < 4; i++) t[i] *= 30; // output channel 0
  b.g.constant(w1)!.bytes.set(new Uint8Array(t.buffer));
  const c = b.node("Conv", ["x", w1, b.weight("b1", [8])], "c1", { kernel_shape: ints([1, 1]) });
  const r = b.node("Relu", [c], "r");
  return b.model([b.node("Conv", [r, b.weight("w2", [6, 8, 1, 1]), b.weight("b2", [6])], "y", { kernel_shape: ints([1, 1]) })]);
}

Smooth("Conv → Relu → Conv: 1/s folds into the first Conv, the second reads m/s per channel, function kept", async () => {
  const m = convPair();
  const data = dataset([1, 4, 5, 5]);
  const ctx = contextFor("cpu-mixed", { settings: { smoothquantAlpha: 0.5 } });
  const before = (await collect(m, data, [{ kind: "channel", value: "r", axis: 1 }]))[0] as ChannelObserver;
  const { report, drift } = await smooth(m, data, ctx);
  assert.equal(report.nodes, ["Conv_y"]);
  assert.equal(opCounts(m), { Conv: 2, Relu: 1 }, "nothing inserted");
  const after = (await collect(m, data, [{ kind: "channel", value: "r", axis: 1 }]))[0] as ChannelObserver;
  const spread = (x: Float64Array) => Math.max(...x) / Math.min(...x);
  assert.ok(spread(after.maxAbs) < spread(before.maxAbs) / 3, `spread ${spread(before.maxAbs)} → ${spread(after.maxAbs)}`);
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Smooth("LayerNormalization → MatMul: 1/s goes into the norm's scale and bias", async () => {
  const b = new Builder();
  b.input("x", [1, 3, 8]);
  const gamma = b.weight("gamma", [8]);
  const g = b.g.constant(gamma)!.toFloat32();
  g[2] = 25;
  b.g.constant(gamma)!.bytes.set(new Uint8Array(g.buffer));
  const ln = b.node("LayerNormalization", ["x", gamma, b.weight("beta", [8])], "ln", { axis: { type: "int", value: -1 }, epsilon: float(1e-5) });
  const m = b.model([b.node("MatMul", [ln, b.weight("w", [8, 5])], "y")], 17);
  const { report, drift } = await smooth(m, dataset([1, 3, 8]), contextFor("cpu-mixed", { settings: { smoothquantAlpha: 0.5 } }));
  assert.equal(opCounts(m), { LayerNormalization: 1, MatMul: 1 });
  assert.is((report.details!.layers as { via: string }[])[0].via, "layernorm");
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Smooth("after HardSwish nothing absorbs 1/s: left alone by default, an exact Mul when asked", async () => {
  for (const insertMul of [false, true]) {
    const b = new Builder();
    b.input("x", [1, 4, 5, 5]);
    const h = b.node("HardSwish", ["x"], "h");
    const m = b.model([b.node("Conv", [h, b.weight("w", [6, 4, 1, 1]), b.weight("bias", [6])], "y", { kernel_shape: ints([1, 1]) })], 14);
    const { report, drift } = await smooth(m, dataset([1, 4, 5, 5]), contextFor("cpu-mixed", { settings: { smoothquantInsertMul: insertMul } }));
    assert.equal(opCounts(m), insertMul ? { HardSwish: 1, Mul: 1, Conv: 1 } : { HardSwish: 1, Conv: 1 });
    assert.is(report.nodes.length, insertMul ? 1 : 0);
    assert.ok(drift < 1e-5, `drift ${drift}`);
  }
});

Smooth("alpha auto picks one α per layer from the grid 0, 0.1, …, 1", async () => {
  const { report } = await smooth(convPair(), dataset([1, 4, 5, 5]), contextFor("cpu-mixed", { perChannel: false, settings: { smoothquantAlpha: "auto" } }));
  const [layer] = report.details!.layers as { alpha: number }[];
  assert.ok(Number.isInteger(Math.round(layer.alpha * 10)) && layer.alpha >= 0 && layer.alpha <= 1, `alpha ${layer.alpha}`);
});

Smooth.run();
