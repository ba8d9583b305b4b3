/**
 * The HTML report on the real classifier's bundle data: the charts it draws
 * and their data, the same bytes for the same input, text escaped, nothing
 * fetched or scripted.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { classifier } from "../bundle/_testing.ts";
import { decodeModel } from "../onnx/decode.ts";
import { Tensor } from "../ir/tensor.ts";
import { layerWeights, renderReport } from "./report.ts";
import { fiveNumbers, lineChart } from "./svg.ts";

const charts = (html: string) => [...html.matchAll(/<svg class="chart" id="([^"]+)"[^]*?<\/svg>/g)].map((m) => ({ id: m[1], points: (m[0].match(/data-pt="1"/g) ?? []).length }));

test("layerWeights: per-channel max |w| dequantized, weight scales and int32 biases of every quantized layer", async () => {
  const { int8 } = await classifier();
  const model = decodeModel(int8);
  const layers = layerWeights(model);
  const convs = model.graph.nodes.filter((n) => n.opType === "Conv");
  assert.is(layers.length, convs.length + model.graph.nodes.filter((n) => n.opType === "Gemm" || n.opType === "MatMul").length);
  const first = layers.find((l) => l.node === convs[0].name)!;
  // Dequantized: max |q| · scale per channel, and the largest int8 is ±127 on some channel.
  const dq = model.graph.producer(convs[0].inputs[1])!;
  const q = model.graph.constant(dq.inputs[0])!.toFloat32(), s = model.graph.constant(dq.inputs[1])!.toFloat32();
  const per = q.length / s.length;
  for (let c = 0; c < s.length; c++) {
    let m = 0;
    for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(q[c * per + k]));
    assert.ok(Math.abs(first.channelMax[c] - m * s[c]) <= 1e-6 * Math.max(1, m * s[c]), `channel ${c}`);
  }
  assert.equal(Array.from(first.scales!), Array.from(s));
  assert.instance(first.bias, Int32Array);
  assert.is(first.bias!.length, s.length);
});

test("renderReport: its charts with data, deterministic, escaped, no script and no network", async () => {
  const { int8, manifest, passes } = await classifier();
  const input = {
    title: "<cls> & \"friends\"",
    model: decodeModel(int8),
    target: "npu-int8-only",
    edgeq: "0.1.0",
    passes,
    layers: [{ node: "p2o.Conv.0", opType: "Conv", sqnrDb: 21.5, dropDb: 4 }, { node: "p2o.Conv.1", opType: "Conv", sqnrDb: 35, dropDb: 0.5 }],
    eval: { samples: 12, metrics: manifest.eval.metrics, outputs: manifest.eval.outputs },
    sizes: { fp32: 580_000, int8: int8.length },
    latency: { fp32Ms: 0.7, int8Ms: 0.5, runtime: "node" },
    validation: { errors: 0, warnings: 0, rules: [{ id: "float-island", violations: 0 }] },
    sweep: [{ label: "per-channel", points: [[0, 0.99], [0.5, 0.995], [1, 0.9]] as [number, number][] }],
  };
  const html = renderReport(input);
  assert.is(renderReport(input), html, "same input, same bytes");
  assert.equal(charts(html).map((c) => c.id), ["weight-ranges", "alpha-sweep", "int32-bias", "weight-scales", "layer-sqnr"]);
  for (const c of charts(html)) assert.ok(c.points > 0, c.id);
  assert.is(charts(html).find((c) => c.id === "layer-sqnr")!.points, 2);
  assert.is(charts(html).find((c) => c.id === "alpha-sweep")!.points, 3);
  assert.ok(html.includes("&lt;cls&gt; &amp; &quot;friends&quot;"));
  assert.not.match(html, /<script|<cls>|src=|href=|@import|url\(/);
  assert.match(html, /<span class="verdict pass">PASS<\/span>/);
  assert.match(html, /latency \(node\)<\/td><td>0\.70 ms<\/td><td>0\.50 ms<\/td><td>0\.71×/);
  // Without the optional data, its sections are left out.
  const bare = renderReport({ title: "m", model: decodeModel(int8) });
  assert.equal(charts(bare).map((c) => c.id), ["weight-ranges", "int32-bias", "weight-scales"]);
  assert.not.match(bare, /Validation|Per-layer SQNR|FP32 and INT8/);
});

test("the weight-range chart puts the layer whose channels differ most first and flags zero channels", async () => {
  const { int8 } = await classifier();
  const model = decodeModel(int8);
  // Zero one output channel of the first Conv's int8 weight.
  const conv = model.graph.nodes.find((n) => n.opType === "Conv")!;
  const dq = model.graph.producer(conv.inputs[1])!;
  const w = model.graph.constant(dq.inputs[0])!;
  const data = new Int8Array(w.view() as Int8Array);
  data.fill(0, 0, data.length / w.dims[0]);
  model.graph.initializers.set(w.name, Tensor.fromArray(w.name, [...w.dims], data));
  const ratio = (m: Float64Array) => {
    const nz = Array.from(m).filter((x) => x > 0);
    return Math.max(...nz) / Math.min(...nz);
  };
  const widest = layerWeights(model).sort((a, b) => ratio(b.channelMax) - ratio(a.channelMax))[0];
  const html = renderReport({ title: "m", model });
  const chart = /<svg class="chart" id="weight-ranges"[^]*?<\/svg>/.exec(html)![0];
  const rows = [...chart.matchAll(/<text class="label"[^>]*>([^<]*)<\/text><g data-pt="1" class="(\w+)"/g)].map((m) => [m[1], m[2]]);
  assert.is(rows[0][0], `${widest.node} (${widest.channelMax.length})`);
  assert.ok(rows.length === 24 || rows.length === 25, `${rows.length} rows`);
  assert.equal(rows.find((r) => r[0] === `${conv.name} (${w.dims[0]})`), [`${conv.name} (${w.dims[0]})`, "flag"]);
  assert.match(chart, /, 1 zero<\/text>/);
  assert.match(renderReport({ title: "m", model: decodeModel(int8) }), /class="box"/);
});

test("lineChart: a flat line (every α as good) gets an axis with two distinct ticks around it", () => {
  const svg = lineChart("alpha", "flat", [{ label: "per-channel", points: [[0, 1], [1, 1]] }], "α", "metric");
  const ticks = [...svg.matchAll(/<text class="tick"[^>]*text-anchor="end">([^<]+)</g)].map((m) => m[1]);
  assert.equal(ticks, ["1.01", "0.99"]);
  const ys = [...svg.matchAll(/<circle[^>]* cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.ok(ys.every((y) => y > 30 && y < 240), `points mid-chart: ${ys}`);
});

test("fiveNumbers: quartiles by linear interpolation", () => {
  assert.equal(fiveNumbers([4, 1, 3, 2, 5]), { min: 1, q1: 2, median: 3, q3: 4, max: 5 });
  assert.equal(fiveNumbers([7]), { min: 7, q1: 7, median: 7, q3: 7, max: 7 });
});

test.run();
