/**
 * Values whose statistics follow from another value's: outputs of
 * elementwise monotone ops (Relu, Clip, HardSigmoid, Sigmoid, Sqrt, and
 * Add/Sub/Mul/Div by a scalar constant). For y = f(x) with f non-decreasing,
 * min y = f(min x) and max y = f(max x) exactly, and y's elements are f of
 * x's at the same positions, so the collector reads x once and computes y's
 * extremes (and, for histograms, y's elements) in JavaScript instead of
 * reducing or fetching y in ONNX Runtime. Private to src/calibrate/.
 */
import type { Graph } from "../ir/graph.ts";
import { topologicalOrder } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";

/** y = f(x) elementwise, f monotone. */
export interface MonotoneMap {
  /** The op's one non-constant input. */
  from: string;
  /** f on one float32 value, rounded to float32 as ONNX Runtime computes it. */
  map: (x: number) => number;
  /** f is non-increasing (Mul by a negative constant, c − x): min and max swap. */
  decreasing: boolean;
  /** Writes f(src[k]) into dst[k]; dst may be src. */
  apply: (src: Float32Array, dst: Float32Array) => void;
}

/** A value computed from an observed root by a chain of monotone maps. */
export interface Derivation {
  root: string;
  /** Applied in order, root first. */
  maps: MonotoneMap[];
  /** The nearest wanted value on the chain (the root or a derived value): computing from it skips the shared prefix. */
  via: string;
  /** The maps from `via` on (the tail of `maps`). */
  rest: MonotoneMap[];
}

/**
 * Derivations for the `wanted` values that follow from another wanted value
 * (or a graph input) through monotone ops, possibly through values nobody
 * asked for (Clip(Add(x, 3)) follows from x). A wanted value that follows
 * from nothing wanted is a root and gets no entry; so does each of `roots`
 * (the graph inputs, and values that must be read for their own sake), from
 * which chains start anew.
 */
export function derivations(graph: Graph, wanted: ReadonlySet<string>, roots: ReadonlySet<string>): Map<string, Derivation> {
  const chain = new Map<string, Derivation>();
  const forced = new Set([...roots].filter((v) => wanted.has(v)));
  const start = new Set(forced);
  for (const node of topologicalOrder(graph)) {
    const y = node.outputs[0];
    if (!y || node.outputs.length !== 1) continue;
    const m = monotoneMap(graph, node);
    const from = m && (start.has(m.from) ? { root: m.from, maps: [], via: m.from, rest: [] } : chain.get(m.from));
    if (m && from && !forced.has(y)) {
      const near = wanted.has(m.from);
      chain.set(y, { root: from.root, maps: [...from.maps, m], via: near ? m.from : from.via, rest: near ? [m] : [...from.rest, m] });
    } else if (wanted.has(y)) start.add(y);
  }
  for (const v of chain.keys()) if (!wanted.has(v)) chain.delete(v);
  return chain;
}

/** f of the extremes [min, max] through a chain: the extremes of the derived value. */
export function mapExtremes(maps: readonly MonotoneMap[], min: number, max: number): [number, number] {
  for (const m of maps) {
    const a = m.map(min), b = m.map(max);
    [min, max] = m.decreasing ? [b, a] : [a, b];
  }
  return [min, max];
}

/**
 * The op as a monotone map of its one float input, or undefined. Each `apply`
 * calls a loop shared by every map of its kind (defined once below): a loop
 * per map instance would be optimized separately, and with a calibration's
 * hundred-odd calls each mostly run unoptimized.
 */
export function monotoneMap(graph: Graph, node: Node): MonotoneMap | undefined {
  if (node.domain !== "" && node.domain !== "ai.onnx") return undefined;
  const x = node.inputs[0];
  if (!x) return undefined;
  if (node.opType === "Add" || node.opType === "Sub" || node.opType === "Mul" || node.opType === "Div") return affine(graph, node);
  if (graph.constant(x)) return undefined;
  const f = Math.fround;
  switch (node.opType) {
    case "Relu":
      return mono(x, (v) => (v > 0 ? v : 0), reluInto);
    case "Sqrt":
      return mono(x, (v) => f(Math.sqrt(v)), sqrtInto);
    case "Sigmoid":
      return mono(x, (v) => f(1 / (1 + Math.exp(-v))), sigmoidInto);
    case "Clip": {
      // Bounds are inputs from opset 11 on, attributes before.
      const lo = node.inputs[1] ? scalar(graph, node.inputs[1]) : node.attrFloat("min", -Infinity);
      const hi = node.inputs[2] ? scalar(graph, node.inputs[2]) : node.attrFloat("max", Infinity);
      if (lo === undefined || hi === undefined || !(lo <= hi)) return undefined;
      return mono(x, (v) => (v < lo ? lo : v > hi ? hi : v), (s, d) => clipInto(s, d, lo, hi));
    }
    case "HardSigmoid": {
      const a = f(node.attrFloat("alpha", 0.2)), b = f(node.attrFloat("beta", 0.5));
      const map = (v: number) => Math.min(1, Math.max(0, f(f(a * v) + b)));
      return mono(x, map, (s, d) => hardSigmoidInto(s, d, a, b), a < 0);
    }
  }
  return undefined;
}

function affine(graph: Graph, node: Node): MonotoneMap | undefined {
  if (node.inputs.length !== 2) return undefined;
  const [a, b] = node.inputs;
  const ca = scalar(graph, a), cb = scalar(graph, b);
  if ((ca === undefined) === (cb === undefined)) return undefined;
  const x = ca === undefined ? a : b, c = (ca ?? cb)!, f = Math.fround;
  // Float32 +, −, ×, ÷ computed in float64 and rounded once (the Float32Array
  // store, or fround) are exact, as ONNX Runtime's are.
  switch (node.opType) {
    case "Add":
      return mono(x, (v) => f(v + c), (s, d) => addInto(s, d, c));
    case "Mul":
      return c === 0 ? undefined : mono(x, (v) => f(v * c), (s, d) => mulInto(s, d, c), c < 0);
    case "Sub":
      return cb !== undefined
        ? mono(x, (v) => f(v - c), (s, d) => addInto(s, d, -c))
        : mono(x, (v) => f(c - v), (s, d) => subFromInto(s, d, c), true);
    default: // Div: only x / c is monotone
      return cb !== undefined && c !== 0 ? mono(x, (v) => f(v / c), (s, d) => divInto(s, d, c), c < 0) : undefined;
  }
}

function mono(from: string, map: (x: number) => number, apply: MonotoneMap["apply"], decreasing = false): MonotoneMap {
  return { from, map, decreasing, apply };
}

// The loops, one per kind of map (dst may be src).

function addInto(s: Float32Array, d: Float32Array, c: number): void {
  for (let k = 0; k < s.length; k++) d[k] = s[k] + c;
}

function mulInto(s: Float32Array, d: Float32Array, c: number): void {
  for (let k = 0; k < s.length; k++) d[k] = s[k] * c;
}

function divInto(s: Float32Array, d: Float32Array, c: number): void {
  for (let k = 0; k < s.length; k++) d[k] = s[k] / c;
}

function subFromInto(s: Float32Array, d: Float32Array, c: number): void {
  for (let k = 0; k < s.length; k++) d[k] = c - s[k];
}

function clipInto(s: Float32Array, d: Float32Array, lo: number, hi: number): void {
  for (let k = 0; k < s.length; k++) {
    const v = s[k];
    d[k] = v < lo ? lo : v > hi ? hi : v;
  }
}

function reluInto(s: Float32Array, d: Float32Array): void {
  for (let k = 0; k < s.length; k++) d[k] = s[k] > 0 ? s[k] : 0;
}

function sqrtInto(s: Float32Array, d: Float32Array): void {
  for (let k = 0; k < s.length; k++) d[k] = Math.sqrt(s[k]);
}

function sigmoidInto(s: Float32Array, d: Float32Array): void {
  for (let k = 0; k < s.length; k++) d[k] = 1 / (1 + Math.exp(-s[k]));
}

function hardSigmoidInto(s: Float32Array, d: Float32Array, a: number, b: number): void {
  const f = Math.fround;
  for (let k = 0; k < s.length; k++) d[k] = Math.min(1, Math.max(0, f(f(a * s[k]) + b)));
}

/**
 * The value of a one-element float32 constant, else undefined. One element
 * (of any rank) keeps the other operand's elements in place, which the
 * histogram path relies on.
 */
function scalar(graph: Graph, name: string): number | undefined {
  const t = graph.constant(name);
  if (!t || t.dtype !== "float32" || t.size !== 1) return undefined;
  const v = t.toFloat32()[0];
  return Number.isFinite(v) ? v : undefined;
}
