/**
 * Text tables for {@linkcode EvalReport} and {@linkcode LayerErrorReport}.
 *
 * @module
 */
import type { EvalReport } from "./compare.ts";
import type { LayerErrorReport } from "./layer_errors.ts";
import { dimsText } from "./_session.ts";

const db = (x: number) => (x === Infinity ? "inf" : x === -Infinity ? "-inf" : Number.isNaN(x) ? "nan" : x.toFixed(1));
const cos = (x: number) => (Number.isNaN(x) ? "nan" : x.toFixed(6));
const sci = (x: number) => (x === 0 ? "0" : Number.isNaN(x) ? "nan" : x.toExponential(2));
const val = (x: number) =>
  Number.isNaN(x) ? "nan" : x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toFixed(4);
const pct = (x: number | undefined) => (x === undefined ? "-" : `${(x * 100).toFixed(2)}%`);

/** Columns padded to their widest cell; the first `left` columns align left. */
function table(head: string[], rows: string[][], left: number): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => "  " + r.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), ...rows.map(line)].map((l) => l.trimEnd());
}

/**
 * Per-output error and task metrics of FP32 vs quantized, for a terminal.
 *
 * @example
 * ```ts
 * console.log(formatEvalReport(await compareModels(a, b, data)));
 * // 100 samples
 * //   output           dims       SQNR dB  cosine    max |Δ|   top-1
 * //   softmax_0.tmp_0  [1, 2]        31.4  0.999636  4.12e-2  99.00%
 * ```
 */
export function formatEvalReport(r: EvalReport): string {
  const lines = [`${r.samples} sample${r.samples === 1 ? "" : "s"}`];
  if (r.outputs.length) {
    const masks = r.outputs.some((o) => o.maskAgreement !== undefined);
    lines.push(...table(
      ["output", "dims", "SQNR dB", "cosine", "max |Δ|", "top-1", ...(masks ? ["mask"] : [])],
      r.outputs.map((o) => [
        o.name,
        dimsText(o.dims),
        db(o.sqnrDb),
        cos(o.cosine),
        sci(o.maxAbsDiff),
        pct(o.top1Agreement),
        ...(masks ? [pct(o.maskAgreement)] : []),
      ]),
      2,
    ));
  } else lines.push("  no float outputs to compare");
  if (r.metrics.length) {
    lines.push("", ...table(
      ["metric", "fp32", "quantized", "drop"],
      r.metrics.map((m) => [`${m.metric}.${m.name}`, val(m.fp32), val(m.quantized), val(m.drop)]),
      1,
    ));
  }
  const ms = (x: number) => (x / r.samples).toFixed(2);
  lines.push("", `run time per sample: fp32 ${ms(r.timing.fp32Ms)} ms, quantized ${ms(r.timing.quantizedMs)} ms`);
  return lines.join("\n");
}

/**
 * The `top` first layers of a report (worst first), for a terminal. The
 * `q` column marks nodes that read a DequantizeLinear output; `drop dB`
 * is the SQNR a node loses against its worst input.
 *
 * @example
 * ```ts
 * console.log(formatLayerErrors(await layerErrors(fp32, int8, data), 10));
 * ```
 */
export function formatLayerErrors(r: LayerErrorReport, top = 10): string {
  const shown = r.layers.slice(0, top);
  const lines = [`${shown.length} of ${r.layers.length} layers, worst first (${r.samples} sample${r.samples === 1 ? "" : "s"})`];
  lines.push(...table(
    ["node", "op", "value", "q", "SQNR dB", "input dB", "drop dB", "cosine"],
    shown.map((l) => [
      l.node,
      l.opType,
      l.value,
      l.quantizedInputs ? "q" : "",
      db(l.sqnrDb),
      db(l.inputSqnrDb),
      db(l.dropDb),
      cos(l.cosine),
    ]),
    4,
  ));
  return lines.join("\n");
}
