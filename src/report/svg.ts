/**
 * Small static SVG charts for the HTML report: horizontal box plots, bar
 * charts, per-channel strips and line charts, as strings with no DOM and no
 * script. Every data mark carries `data-pt`, so a test can count what a
 * chart shows. Own helpers rather than a charting library: the few chart
 * kinds the report needs are ~200 lines, and the libraries that render SVG
 * without a DOM (vega, plotly's server side) weigh megabytes.
 *
 * @module
 */

/** Text for SVG/HTML: `&`, `<`, `>` and quotes escaped. */
export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const short = (x: number) => (x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-2 ? x.toExponential(0) : String(+x.toPrecision(3)));

/** Five numbers of a box plot. */
export interface Box {
  label: string;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  /** Drawn in the warning colour (e.g. zero or near-zero channels). */
  flagged?: boolean;
  /** Shown at the right end. */
  note?: string;
}

/** The five numbers of `values` (not empty). *
 * @example
 * ```ts
 * fiveNumbers([4, 1, 3, 2, 5]); // { min: 1, q1: 2, median: 3, q3: 4, max: 5 }
 * ```
 */
export function fiveNumbers(values: ArrayLike<number>): Omit<Box, "label"> {
  const v = Array.from(values).sort((a, b) => a - b);
  const at = (p: number) => {
    const i = p * (v.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
    return v[lo] + (v[hi] - v[lo]) * (i - lo);
  };
  return { min: v[0], q1: at(0.25), median: at(0.5), q3: at(0.75), max: v[v.length - 1] };
}

const LEFT = 170, RIGHT = 120, ROW = 18, TOP = 24, WIDTH = 760;

/** Log-10 axis ticks between `lo` and `hi` (positive). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function frame(id: string, height: number, title: string, body: string): string {
  return `<div class="scroll"><svg class="chart" id="${esc(id)}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${esc(title)}</title>${body}</svg></div>`;
}

/** Horizontal box plots on a log axis (values must be > 0; zeros are clamped to the axis start). *
 * @example
 * ```ts
 * const svg = boxPlots("w", "Weights", [{ label: "conv", ...fiveNumbers([0.1, 0.5, 2]) }], "max |w|");
 * ```
 */
export function boxPlots(id: string, title: string, boxes: readonly Box[], axisLabel: string): string {
  const positive = boxes.flatMap((b) => [b.min, b.max]).filter((x) => x > 0);
  const lo = Math.min(...positive), hi = Math.max(...positive);
  const ticks = logTicks(lo, hi);
  const a = Math.log10(ticks[0]), b = Math.log10(ticks[ticks.length - 1]);
  const x = (v: number) => LEFT + ((Math.log10(Math.max(v, ticks[0])) - a) / (b - a || 1)) * (WIDTH - LEFT - RIGHT);
  const height = TOP + boxes.length * ROW + 30;
  let body = ticks.map((t) => `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${TOP - 6}" y2="${height - 28}"/><text class="tick" x="${num(x(t))}" y="${height - 14}" text-anchor="middle">${short(t)}</text>`).join("");
  boxes.forEach((bx, i) => {
    const y = TOP + i * ROW + ROW / 2;
    body += `<text class="label" x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${esc(bx.label)}</text>` +
      `<g data-pt="1" class="${bx.flagged ? "flag" : "box"}"><line x1="${num(x(bx.min))}" x2="${num(x(bx.max))}" y1="${y}" y2="${y}"/>` +
      `<rect x="${num(x(bx.q1))}" y="${y - 6}" width="${num(Math.max(1, x(bx.q3) - x(bx.q1)))}" height="12"/>` +
      `<line class="median" x1="${num(x(bx.median))}" x2="${num(x(bx.median))}" y1="${y - 6}" y2="${y + 6}"/></g>` +
      (bx.note ? `<text class="note" x="${WIDTH - RIGHT + 6}" y="${y + 4}">${esc(bx.note)}</text>` : "");
  });
  body += `<text class="axis" x="${LEFT}" y="14">${esc(axisLabel)}</text>`;
  return frame(id, height, title, body);
}

/** One bar. */
export interface Bar {
  label: string;
  value: number;
  flagged?: boolean;
  note?: string;
}

/** Horizontal bars from 0 on a linear axis (negative values extend left of 0). *
 * @example
 * ```ts
 * const svg = barChart("sqnr", "SQNR", [{ label: "conv1", value: 31.5 }], "dB");
 * ```
 */
export function barChart(id: string, title: string, bars: readonly Bar[], axisLabel: string): string {
  const lo = Math.min(0, ...bars.map((b) => b.value)), hi = Math.max(1, ...bars.map((b) => b.value));
  const x = (v: number) => LEFT + ((v - lo) / (hi - lo)) * (WIDTH - LEFT - RIGHT);
  const height = TOP + bars.length * ROW + 30;
  const step = niceStep((hi - lo) / 6);
  let body = "";
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    body += `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${TOP - 6}" y2="${height - 28}"/><text class="tick" x="${num(x(t))}" y="${height - 14}" text-anchor="middle">${short(t)}</text>`;
  }
  bars.forEach((b, i) => {
    const y = TOP + i * ROW + 3;
    const x0 = x(Math.min(0, b.value)), x1 = x(Math.max(0, b.value));
    body += `<text class="label" x="${LEFT - 6}" y="${y + 11}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect data-pt="1" class="${b.flagged ? "flag" : "bar"}" x="${num(x0)}" y="${y}" width="${num(Math.max(1, x1 - x0))}" height="${ROW - 6}"/>` +
      `<text class="note" x="${num(x1 + 4)}" y="${y + 11}">${esc(b.note ?? b.value.toFixed(1))}</text>`;
  });
  body += `<text class="axis" x="${LEFT}" y="14">${esc(axisLabel)}</text>`;
  return frame(id, height, title, body);
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** A row of per-channel values (e.g. |int32 bias|) on a log axis, flagged channels marked. */
export interface Strip {
  label: string;
  values: ArrayLike<number>;
  flagged?: ReadonlySet<number>;
  note?: string;
}

/**
 * One row per layer, one dot per channel, on a shared log axis, with an
 * optional limit line (e.g. the int32 bound 2³¹).
 *
 * @example
 * ```ts
 * const svg = stripChart("bias", "int32 bias", [{ label: "conv1", values: [12, 4000, 9e8] }], "|bias|", { value: 2 ** 31, label: "2³¹" });
 * ```
 */
export function stripChart(id: string, title: string, strips: readonly Strip[], axisLabel: string, limit?: { value: number; label: string }): string {
  const all = strips.flatMap((s) => Array.from(s.values)).filter((v) => v > 0);
  const lo = Math.min(...all, limit?.value ?? Infinity), hi = Math.max(...all, limit?.value ?? 0);
  const ticks = logTicks(lo, hi);
  const a = Math.log10(ticks[0]), b = Math.log10(ticks[ticks.length - 1]);
  const x = (v: number) => LEFT + ((Math.log10(Math.max(v, ticks[0])) - a) / (b - a || 1)) * (WIDTH - LEFT - RIGHT);
  const height = TOP + strips.length * ROW + 30;
  let body = ticks.filter((_, i) => i % Math.ceil(ticks.length / 10) === 0)
    .map((t) => `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${TOP - 6}" y2="${height - 28}"/><text class="tick" x="${num(x(t))}" y="${height - 14}" text-anchor="middle">${short(t)}</text>`).join("");
  if (limit) body += `<line class="limit" x1="${num(x(limit.value))}" x2="${num(x(limit.value))}" y1="${TOP - 6}" y2="${height - 28}"/><text class="limit" x="${num(x(limit.value))}" y="${TOP - 10}" text-anchor="middle">${esc(limit.label)}</text>`;
  strips.forEach((s, i) => {
    const y = TOP + i * ROW + ROW / 2;
    body += `<text class="label" x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${esc(s.label)}</text>`;
    Array.from(s.values).forEach((v, k) => {
      body += `<circle data-pt="1" class="${s.flagged?.has(k) ? "flag" : "dot"}" cx="${num(x(v))}" cy="${y}" r="${s.flagged?.has(k) ? 3 : 1.6}"/>`;
    });
    if (s.note) body += `<text class="note" x="${WIDTH - RIGHT + 6}" y="${y + 4}">${esc(s.note)}</text>`;
  });
  body += `<text class="axis" x="${LEFT}" y="14">${esc(axisLabel)}</text>`;
  return frame(id, height, title, body);
}

/** A line of (x, y) points. */
export interface Series {
  label: string;
  points: readonly [number, number][];
}

/** Lines on linear axes (e.g. accuracy against the SmoothQuant α). *
 * @example
 * ```ts
 * const svg = lineChart("alpha", "Accuracy", [{ label: "per-channel", points: [[0, 0.9], [0.5, 0.95]] }], "α", "accuracy");
 * ```
 */
export function lineChart(id: string, title: string, series: readonly Series[], xLabel: string, yLabel: string): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0])), ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  // A flat line (every α as good) sits mid-chart between labelled ticks, not on a collapsed axis.
  if (y1 - y0 < 1e-9 * Math.max(1, Math.abs(y1))) [y0, y1] = [y0 - Math.max(0.01, 0.01 * Math.abs(y0)), y1 + Math.max(0.01, 0.01 * Math.abs(y1))];
  const L = 60, W = WIDTH - L - 120, H = 220, T = 24;
  const px = (v: number) => L + ((v - x0) / (x1 - x0 || 1)) * W, py = (v: number) => T + H - ((v - y0) / (y1 - y0 || 1)) * H;
  let body = `<line class="grid" x1="${L}" x2="${L + W}" y1="${T + H}" y2="${T + H}"/><line class="grid" x1="${L}" x2="${L}" y1="${T}" y2="${T + H}"/>` +
    `<text class="tick" x="${L - 4}" y="${T + 4}" text-anchor="end">${short(y1)}</text><text class="tick" x="${L - 4}" y="${T + H}" text-anchor="end">${short(y0)}</text>` +
    `<text class="tick" x="${L}" y="${T + H + 14}" text-anchor="middle">${short(x0)}</text><text class="tick" x="${L + W}" y="${T + H + 14}" text-anchor="middle">${short(x1)}</text>` +
    `<text class="axis" x="${L + W / 2}" y="${T + H + 30}" text-anchor="middle">${esc(xLabel)}</text><text class="axis" x="${L}" y="14">${esc(yLabel)}</text>`;
  series.forEach((s, i) => {
    const d = s.points.map((p, k) => `${k ? "L" : "M"}${num(px(p[0]))},${num(py(p[1]))}`).join("");
    body += `<path class="line s${i}" d="${d}"/>` + s.points.map((p) => `<circle data-pt="1" class="pt s${i}" cx="${num(px(p[0]))}" cy="${num(py(p[1]))}" r="3"/>`).join("") +
      `<text class="legend s${i}" x="${L + W + 10}" y="${T + 14 + 16 * i}">${esc(s.label)}</text>`;
  });
  return frame(id, T + H + 40, title, body);
}
