/**
 * Text rendering of an {@linkcode InspectReport}.
 *
 * @module
 */
import type { Dim } from "../ir/graph.ts";
import type { InspectReport } from "./inspect.ts";
import { NEAR_ZERO } from "./weights.ts";

const num = (x: number) => (x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));
const shape = (s: Dim[] | null) => (s ? `[${s.map((d) => d ?? "?").join(", ")}]` : "[?]");
const bytes = (n: number) =>
  n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

/** Channel indices, shortened: `0, 3, 7 … (+12 more)`. */
function channels(list: number[], max = 12): string {
  return list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")} … (+${list.length - max} more)`;
}

/**
 * Renders the report for a terminal.
 *
 * @example
 * ```ts
 * console.log(formatInspect(inspectModel(model), "model.onnx"));
 * ```
 */
export function formatInspect(r: InspectReport, source: string, note = ""): string {
  const lines: string[] = [];
  const opsets = Object.entries(r.opsets).map(([d, v]) => `${d} ${v}`).join(", ");
  lines.push(`${source}: IR ${r.irVersion}, opset ${opsets}${r.producer ? `, from ${r.producer}` : ""}`);
  lines.push(`${r.nodes} nodes, ${r.parameters.toLocaleString("en-US")} parameters (${bytes(r.parameterBytes)})`);
  lines.push("", "inputs:");
  for (const v of r.inputs) lines.push(`  ${v.name}  ${v.dtype}${shape(v.shape)}`);
  lines.push("outputs:");
  for (const v of r.outputs) lines.push(`  ${v.name}  ${v.dtype}${shape(v.shape)}`);
  lines.push("", "ops:");
  const ops = Object.entries(r.ops);
  const w = Math.max(...ops.map(([k]) => k.length));
  for (const [op, n] of ops) lines.push(`  ${op.padEnd(w)}  ${n}`);
  lines.push("", `weights, per output channel max|w|${note ? ` (${note})` : ""}:`);
  const rows = r.weights.map((x) => [
    x.node,
    x.opType,
    `${x.channels}`,
    num(x.min),
    num(x.median),
    num(x.max),
    Number.isFinite(x.ratio) ? num(x.ratio) : "inf",
    x.zero.length || x.nearZero.length ? `${x.zero.length}/${x.nearZero.length}` : "",
  ]);
  const head = ["node", "op", "ch", "min", "median", "max", "max/min", "zero/tiny"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) => "  " + row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  lines.push(fmt(head));
  for (const row of rows) lines.push(fmt(row));
  const bad = r.weights.filter((x) => x.zero.length || x.nearZero.length);
  lines.push("");
  if (bad.length === 0) {
    lines.push(`no output channel has max|w| = 0 or < ${NEAR_ZERO}`);
  } else {
    lines.push(`output channels with max|w| = 0 or < ${NEAR_ZERO} (int32 bias overflow risk):`);
    for (const x of bad) {
      if (x.zero.length) lines.push(`  ${x.node}: zero channels ${channels(x.zero)}`);
      if (x.nearZero.length) lines.push(`  ${x.node}: near-zero channels ${channels(x.nearZero)}`);
    }
  }
  const spread = r.weights.filter((x) => !Number.isFinite(x.ratio) || x.ratio > 100);
  if (spread.length) {
    lines.push(`layers whose channel ranges differ over 100× (per-tensor weights will lose them): ${spread.length}`);
  }
  return lines.join("\n");
}
