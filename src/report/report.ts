/**
 * The HTML report: one self-contained page (inline SVG and CSS, no script,
 * no network, readable on a phone) with the pictures that explain a
 * quantized model — per-channel weight ranges (the seed write-up's Fig. 1),
 * accuracy against the SmoothQuant α when a sweep ran, int32 biases and
 * weight scales per channel, per-layer SQNR worst first with the passes that
 * changed each layer, the FP32 vs INT8 table and the validation result.
 * Pure functions of their input: the same input gives the same bytes.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { Tensor } from "../ir/tensor.ts";
import { channelMaxAbs } from "../inspect/weights.ts";
import type { EvalReport } from "../eval/compare.ts";
import type { Report } from "../validate/report.ts";
import { barChart, type Box, boxPlots, esc, fiveNumbers, lineChart, type Series, type Strip, stripChart } from "./svg.ts";

/** What the page shows; every field but `title` and `model` is optional and its section is left out without it. */
export interface ReportInput {
  /** The model's name, e.g. its file. */
  title: string;
  /** The quantized model (its weights, scales and biases are read from it). */
  model: Model;
  target?: string;
  edgeq?: string;
  /** The passes that ran, with the nodes each changed. */
  passes?: readonly { pass: string; summary: string; nodes: readonly string[] }[];
  /** Per-layer SQNR of the quantized model against the float one. */
  layers?: readonly { node: string; opType: string; sqnrDb: number; dropDb: number }[];
  /** FP32 vs INT8 on held-out samples. */
  eval?: {
    samples: number;
    metrics: readonly { metric: string; name: string; fp32: number; int8: number }[];
    outputs: readonly { name: string; sqnrDb: number; cosine: number; top1Agreement?: number }[];
  };
  /** File sizes in bytes. */
  sizes?: { fp32?: number; int8: number };
  /** Median latency (ms); left out of bundles, whose bytes must not depend on the machine. */
  latency?: { fp32Ms: number; int8Ms: number; runtime: string };
  validation?: { errors: number; warnings: number; rules: readonly { id: string; violations: number }[] };
  /** Metric against the SmoothQuant α, one series per weight granularity. */
  sweep?: readonly Series[];
}

/**
 * {@linkcode ReportInput.eval} from an FP32-vs-INT8 comparison.
 *
 * @example
 * ```ts
 * renderReport({ title: "cls.int8.onnx", model, eval: reportEval(await compareModels(fp32, int8, data)) });
 * ```
 */
export function reportEval(e: EvalReport): NonNullable<ReportInput["eval"]> {
  return { samples: e.samples, metrics: e.metrics.map((m) => ({ metric: m.metric, name: m.name, fp32: m.fp32, int8: m.quantized })), outputs: e.outputs };
}

/**
 * {@linkcode ReportInput.validation} from a validation report: the rules that apply, with their violation counts.
 *
 * @example
 * ```ts
 * reportValidation(validateModel(model, loadTarget("npu-int8-only"))).errors; // 0 when it meets the target
 * ```
 */
export function reportValidation(r: Report): NonNullable<ReportInput["validation"]> {
  return {
    errors: r.summary.errors,
    warnings: r.summary.warnings,
    rules: r.rules.filter((x) => x.applies).map((x) => ({ id: x.id, violations: x.violations.length })),
  };
}

/** One layer's weights and biases as the quantized model holds them. */
export interface LayerWeights {
  node: string;
  opType: string;
  /** max |w| per output channel (dequantized). */
  channelMax: Float64Array;
  /** Weight scale per output channel (one repeated for per-tensor), when quantized. */
  scales?: Float32Array;
  /** int32 bias values, when the bias is quantized. */
  bias?: Int32Array;
}

const WEIGHTED = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** The weight, as float32, and its DequantizeLinear scale when it is quantized. */
function weightOf(g: Graph, value: string): { w: Tensor | Float32Array; dims: number[]; scales?: Float32Array; axis: number } | undefined {
  const c = g.constant(value);
  if (c && (c.dtype === "float32" || c.dtype === "float16")) return { w: c, dims: [...c.dims], axis: 0 };
  const dq = g.producer(value);
  if (dq?.opType !== "DequantizeLinear") return undefined;
  const q = g.constant(dq.inputs[0]), s = g.constant(dq.inputs[1]);
  if (!q || !s || (q.dtype !== "int8" && q.dtype !== "uint8")) return undefined;
  const zp = dq.inputs[2] ? g.constant(dq.inputs[2])?.toFloat32() : undefined;
  const scales = s.toFloat32();
  const axis = dq.attrInt("axis", 1);
  const x = q.toFloat32();
  const inner = q.dims.slice(axis + 1).reduce((a, b) => a * b, 1), n = q.dims[axis] ?? 1;
  const w = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = scales.length > 1 ? Math.floor(i / inner) % n : 0;
    w[i] = (x[i] - (zp ? zp[zp.length > 1 ? c : 0] : 0)) * scales[c];
  }
  return { w, dims: [...q.dims], scales, axis };
}

/** Per-channel weight ranges, scales and int32 biases of every Conv/ConvTranspose/Gemm/MatMul with a constant weight. *
 * @example
 * ```ts
 * const [first] = layerWeights(readModel("cls.int8.onnx"));
 * first.channelMax.length; // output channels of the first Conv
 * ```
 */
export function layerWeights(model: Model): LayerWeights[] {
  const g = model.graph;
  const out: LayerWeights[] = [];
  for (const n of g.nodes) {
    if (!WEIGHTED.has(n.opType) || n.domain !== "") continue;
    const wt = weightOf(g, n.inputs[1] ?? "");
    if (!wt || wt.dims.length < 2) continue;
    const axis = n.opType === "Conv" ? 0 : n.opType === "ConvTranspose" ? 1 : n.opType === "Gemm" ? (n.attrInt("transB", 0) ? 0 : 1) : wt.dims.length - 1;
    const tensor = wt.w instanceof Float32Array ? Tensor.fromArray(n.inputs[1], wt.dims, wt.w) : wt.w;
    const channelMax = channelMaxAbs(tensor, axis, n.opType === "ConvTranspose" ? n.attrInt("group", 1) : 1);
    const layer: LayerWeights = { node: n.name || `${n.opType}(${n.outputs[0]})`, opType: n.opType, channelMax };
    if (wt.scales) layer.scales = wt.scales;
    const bdq = n.inputs[2] ? g.producer(n.inputs[2]) : undefined;
    const b = bdq?.opType === "DequantizeLinear" ? g.constant(bdq.inputs[0]) : undefined;
    if (b?.dtype === "int32") layer.bias = b.view() as Int32Array;
    out.push(layer);
  }
  return out;
}

const INT32_MAX = 2 ** 31 - 1;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const db = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : x > 0 ? "∞" : "−∞");
const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:960px;padding:12px;color:#1d2330;background:#fff}
h1{font-size:1.35em;margin:.4em 0}h2{font-size:1.1em;margin:1.6em 0 .3em;border-bottom:1px solid #dde}
p.lead{color:#556;margin:.2em 0 .8em}.muted{color:#667}
table{border-collapse:collapse;margin:.4em 0;font-variant-numeric:tabular-nums;width:100%;max-width:640px}
td,th{padding:3px 8px;border-bottom:1px solid #eef;text-align:right}td:first-child,th:first-child{text-align:left}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}.pass{background:#1a7f37}.fail{background:#c62828}
.scroll{overflow-x:auto}svg.chart{width:100%;min-width:600px;height:auto;display:block;margin:.3em 0 1em}th{text-align:left}
svg .grid{stroke:#e4e6ee;stroke-width:1}svg .tick,svg .note,svg .axis{font-size:10px;fill:#667}svg .label{font-size:10px;fill:#1d2330}
svg .box line,svg .flag line{stroke:#3d5a98;stroke-width:1.2}svg .box rect{fill:#b9c9ef;stroke:#3d5a98}svg .flag rect{fill:#f4b6b0;stroke:#c62828}
svg .median{stroke:#1d2330!important;stroke-width:2!important}svg rect.bar{fill:#6d8fd6}svg rect.flag{fill:#e57368}
svg circle.dot{fill:#3d5a98;fill-opacity:.55}svg circle.flag{fill:#c62828}svg line.limit{stroke:#c62828;stroke-dasharray:4 3}svg text.limit{font-size:10px;fill:#c62828}
svg path.line{fill:none;stroke-width:2}svg .s0{stroke:#3d5a98;fill:#3d5a98}svg .s1{stroke:#d9822b;fill:#d9822b}svg path.s0,svg path.s1{fill:none}svg text.legend{font-size:11px;stroke:none}
`;

/**
 * The report page for `r`, as one HTML string.
 *
 * @example
 * ```ts
 * fs.writeFileSync("report.html", renderReport({ title: "cls.int8.onnx", model: readModel("cls.int8.onnx"), target: "npu-int8-only" }));
 * ```
 */
export function renderReport(r: ReportInput): string {
  const parts: string[] = [];
  const head = `${esc(r.title)}${r.target ? ` for ${esc(r.target)}` : ""}`;
  parts.push(`<h1>${head}</h1><p class="lead">edgeq${r.edgeq ? ` ${esc(r.edgeq)}` : ""} quantization report</p>`);

  // Summary table and validation.
  const rows: string[] = [];
  for (const m of r.eval?.metrics ?? []) rows.push(`<tr><td>${esc(`${m.metric} ${m.name}`)}</td><td>${pct(m.fp32)}</td><td>${pct(m.int8)}</td><td>${((m.int8 - m.fp32) * 100).toFixed(2)}</td></tr>`);
  for (const o of r.eval?.outputs ?? []) {
    if (o.top1Agreement !== undefined) rows.push(`<tr><td>top-1 agreement, ${esc(o.name)}</td><td></td><td>${pct(o.top1Agreement)}</td><td></td></tr>`);
    rows.push(`<tr><td>SQNR, ${esc(o.name)}</td><td></td><td>${db(o.sqnrDb)} dB</td><td></td></tr>`);
  }
  if (r.sizes) rows.push(`<tr><td>size</td><td>${r.sizes.fp32 ? mib(r.sizes.fp32) : ""}</td><td>${mib(r.sizes.int8)}</td><td>${r.sizes.fp32 ? `${(r.sizes.int8 / r.sizes.fp32).toFixed(2)}×` : ""}</td></tr>`);
  if (r.latency) rows.push(`<tr><td>latency (${esc(r.latency.runtime)})</td><td>${r.latency.fp32Ms.toFixed(2)} ms</td><td>${r.latency.int8Ms.toFixed(2)} ms</td><td>${(r.latency.int8Ms / r.latency.fp32Ms).toFixed(2)}×</td></tr>`);
  if (rows.length) {
    parts.push(`<h2>FP32 and INT8</h2>${r.eval ? `<p class="muted">${r.eval.samples} held-out samples</p>` : ""}<table><tr><th></th><th>FP32</th><th>INT8</th><th>change</th></tr>${rows.join("")}</table>`);
  }
  if (r.validation) {
    const v = r.validation, ok = v.errors === 0;
    const bad = v.rules.filter((x) => x.violations).map((x) => `${esc(x.id)} (${x.violations})`).join(", ");
    parts.push(`<h2>Validation${r.target ? ` against ${esc(r.target)}` : ""}</h2><p><span class="verdict ${ok ? "pass" : "fail"}">${ok ? "PASS" : "FAIL"}</span> ` +
      `${v.errors} errors, ${v.warnings} warnings; ${v.rules.length} rules checked${bad ? `; violated: ${bad}` : ", none violated"}</p>`);
  }

  // Fig. 1: per-channel weight ranges, the layers whose channels differ most first.
  const weights = layerWeights(r.model);
  const ranked = weights.map((w) => {
    const nonzero = Array.from(w.channelMax).filter((x) => x > 0);
    return { w, ratio: nonzero.length ? Math.max(...nonzero) / Math.min(...nonzero) : 1, zeros: w.channelMax.length - nonzero.length };
  }).sort((a, b) => b.ratio - a.ratio || (a.w.node < b.w.node ? -1 : 1));
  if (ranked.length) {
    // The widest 24, and every layer with all-zero channels (the int32-bias pathology) after them.
    const shown = [...ranked.slice(0, 24), ...ranked.slice(24).filter((r) => r.zeros > 0)];
    const boxes: Box[] = shown.map(({ w, ratio, zeros }) => ({
      label: `${w.node} (${w.channelMax.length})`,
      ...fiveNumbers(Array.from(w.channelMax).map((x) => Math.max(x, 1e-12))),
      flagged: zeros > 0 || ratio > 1e3,
      note: `×${ratio >= 1e4 ? ratio.toExponential(1) : ratio.toFixed(0)}${zeros ? `, ${zeros} zero` : ""}`,
    }));
    parts.push(`<h2>Weight ranges per output channel</h2><p class="muted">max |w| of each output channel (box: quartiles, whiskers: extremes), the layers whose channel ranges differ most (${boxes.length} of ${ranked.length}; layers with all-zero channels always); ` +
      `right: largest/smallest ratio. One scale per tensor serves such a layer's small channels badly: per-channel scales or equalization.</p>` +
      boxPlots("weight-ranges", "Per-channel weight ranges", boxes, "max |w| per output channel (log)"));
  }

  // Accuracy against the SmoothQuant α.
  if (r.sweep?.length && r.sweep.some((s) => s.points.length)) {
    parts.push(`<h2>Accuracy against the SmoothQuant α</h2>` + lineChart("alpha-sweep", "Metric against α", r.sweep, "α", "metric"));
  }

  // int32 biases and weight scales per channel.
  const withBias = weights.filter((w) => w.bias && w.bias.length > 0);
  if (withBias.length) {
    const guarded = new Set(r.passes?.find((p) => p.pass === "bias-overflow-guard")?.nodes ?? []);
    const byRisk = withBias.map((w) => ({ w, peak: Math.max(...Array.from(w.bias!, (b) => Math.abs(b))) }))
      .sort((a, b) => b.peak - a.peak || (a.w.node < b.w.node ? -1 : 1)).slice(0, 16);
    const strips: Strip[] = byRisk.map(({ w, peak }) => {
      const sat = new Set<number>();
      w.bias!.forEach((b, k) => (b >= INT32_MAX || b <= -INT32_MAX) && sat.add(k));
      return {
        label: w.node,
        values: Array.from(w.bias!, (b) => Math.max(1, Math.abs(b))),
        flagged: sat,
        note: `${sat.size ? `${sat.size} saturated` : `max ${peak.toExponential(1)}`}${guarded.has(w.node) ? ", guarded" : ""}`,
      };
    });
    parts.push(`<h2>int32 biases per channel</h2><p class="muted">|bias| in int32 steps (bias / (input scale × weight scale)) for the ${strips.length} layers with the largest; red: saturated at the int32 limit. ` +
      `Near-zero weight channels make tiny scales and huge int32 biases: the bias-overflow guard raises those scales.</p>` +
      stripChart("int32-bias", "int32 bias per channel", strips, "|int32 bias| (log)", { value: INT32_MAX, label: "2³¹" }));
    const scaled = byRisk.filter(({ w }) => w.scales).map(({ w }) => ({ label: w.node, values: Array.from(w.scales!) }));
    if (scaled.length) {
      parts.push(`<p class="muted">Weight scale per channel of the same layers.</p>` + stripChart("weight-scales", "Weight scale per channel", scaled, "weight scale (log)"));
    }
  }

  // Per-layer SQNR, worst first, and which passes changed which layers.
  if (r.layers?.length) {
    const changed = new Map<string, string[]>();
    for (const p of r.passes ?? []) for (const n of p.nodes) changed.set(n, [...(changed.get(n) ?? []), p.pass]);
    const worst = [...r.layers].sort((a, b) => a.sqnrDb - b.sqnrDb || (a.node < b.node ? -1 : 1)).slice(0, 30);
    parts.push(`<h2>Per-layer SQNR</h2><p class="muted">SQNR of each layer's output against the float model, worst ${worst.length} of ${r.layers.length}; orange: the layer itself adds more than 3 dB of error; right: the passes that changed it.</p>` +
      barChart("layer-sqnr", "Per-layer SQNR", worst.map((l) => ({
        label: `${l.node} (${l.opType})`,
        value: Number.isFinite(l.sqnrDb) ? l.sqnrDb : 100,
        flagged: l.dropDb > 3,
        note: `${db(l.sqnrDb)} dB${changed.has(l.node) ? ` · ${changed.get(l.node)!.join(", ")}` : ""}`,
      })), "SQNR dB"));
  }
  if (r.passes?.length) {
    parts.push(`<h2>Passes</h2><table><tr><th>pass</th><th>what it did</th></tr>${r.passes.map((p) => `<tr><td>${esc(p.pass)}</td><td style="text-align:left">${esc(p.summary)}</td></tr>`).join("")}</table>`);
  }
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${head} — edgeq report</title><style>${CSS}</style></head><body>${parts.join("\n")}</body></html>\n`;
}
