/**
 * Rewrites of a QDQ graph for ONNX Runtime's CPU provider: the same
 * function, in a form its integer kernels run fast.
 *
 * - **Channel padding.** ORT's int8 depthwise convolution (MLAS, NHWC)
 *   vectorizes over 16 channels; a channel count that is not a multiple of 16
 *   takes a path 2–4× slower (measured on ORT 1.30, AVX-512: 200 channels, 5×5,
 *   2×96 pixels: 71 µs; 208 channels: 25 µs; the float kernel: 15 µs).
 *   ORT's float kernels pad channels to their block size themselves (NCHWc);
 *   its integer kernels do not. So the channels a depthwise convolution works
 *   on are padded with zero channels up to a multiple of 16: the layers that
 *   produce them get zero output channels, the layers that read them zero
 *   input weights, so no output changes.
 * - **HardSwish on integer kernels.** ORT has no integer HardSwish or
 *   HardSigmoid: a quantized one runs as DequantizeLinear → float op →
 *   QuantizeLinear. hardswish(x) = x · hardsigmoid(x), and hardsigmoid(x) =
 *   relu6(x + 3)/6: x + 3 quantized onto a grid from 0 to 6 (255 steps, both
 *   ends exact, so the grid's saturation is relu6's clip), read back with a
 *   sixth of its scale. ORT runs the shift as a QLinearAdd and the product as
 *   a QLinearMul: two integer kernels on bytes instead of four float passes.
 *   (Measured and dropped: a requantization of x alone onto a grid with 1/2
 *   at 127 ends at 255/254, every x > 3 comes out 0.4 % large, −0.4 dB on
 *   the recognizer; one with 0 and 1 exact puts 1/2 half a step low, a bias
 *   of every gate, −3.7 dB on the classifier. A QLinearLeakyRelu of slope 1
 *   requantizes by table, twice as slow as the QLinearAdd.)
 * - **HardSigmoid by its input's grid.** Where a HardSigmoid's input is
 *   quantized for it alone (an SE block's gate), that quantization can do the
 *   HardSigmoid's work: the layer before adds β/α through its bias, and its
 *   output grid starts at 0 (where the HardSigmoid does) with the gate's
 *   step over α, read back as the gate (scale α·step, zero point 0).
 *   Nothing is left to run.
 * - **MaxPool on the float kernel where ORT would run it in NCHW.** ORT runs
 *   DequantizeLinear → MaxPool → QuantizeLinear (same grid) as a uint8
 *   MaxPool. Next to an NHWC QLinearConv (right before it, or after it with
 *   ops ORT moves its transposes through), that is MLAS's fast NHWC kernel;
 *   otherwise (the classifier's last MaxPool: HardSwish before, GlobalAveragePool
 *   → Reshape → MatMul after) a generic NCHW loop
 *   several times slower than the float kernel (2×2 over 200×3×12: about
 *   50 µs more per run, 7% of the classifier's INT8 latency). There the
 *   DequantizeLinear becomes per-axis with the same scale and zero point in
 *   every channel: the same numbers, which ORT no longer fuses, so the MaxPool
 *   runs on floats and the QuantizeLinear gives back the same bytes (the max
 *   of values on a grid is on it: no rounding added).
 *
 * @module
 */
import { channelCounts } from "../ir/channels.ts";
import type { Graph } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import type { Pass } from "./types.ts";

/** The `ort-cpu-kernels` pass: the rewrites above, on the QDQ graph after quantization. */
export const ortCpuKernels: Pass = {
  name: "ort-cpu-kernels",
  stage: "lower",
  summary: "pads depthwise channels to ONNX Runtime's integer kernel width and runs HardSwish/HardSigmoid on integer kernels",
  apply(model, _stats, ctx) {
    const t = performance.now();
    // The gates' grids are uint8 with zero point 0 and scales such as 6/255: only where activations may be.
    const a = ctx.activations;
    const r = lowerForOrtCpu(model.graph, { gates: !a || (a.dtype === "uint8" && !a.symmetric && !a.powerOfTwo), perAxis: model.opset() >= 13 });
    const layers = [...new Set(r.padded.flatMap((p) => p.layers))];
    const parts = [
      r.padded.length ? `${r.padded.length} depthwise channel groups padded to a multiple of ${ORT_CHANNEL_BLOCK} (${r.padded.map((p) => `${p.channels}→${p.to}`).join(", ")})` : "",
      r.hardSwish ? `${r.hardSwish} HardSwish as integer Add + Mul` : "",
      r.hardSigmoid ? `${r.hardSigmoid} HardSigmoid folded into their input's quantization` : "",
      r.floatMaxPool ? `${r.floatMaxPool} MaxPool on the float kernel (its integer one would run NCHW; same bytes out)` : "",
    ].filter(Boolean);
    return {
      pass: "ort-cpu-kernels",
      params: { channelBlock: ORT_CHANNEL_BLOCK },
      nodes: layers,
      summary: parts.length ? parts.join("; ") : "nothing to rewrite",
      details: { padded: r.padded, hardSwish: r.hardSwish, hardSigmoid: r.hardSigmoid, floatMaxPool: r.floatMaxPool },
      ms: performance.now() - t,
    };
  },
};

/** The channel multiple ORT's integer depthwise kernels vectorize over. */
export const ORT_CHANNEL_BLOCK = 16;

/** One group of channels padded: from `channels` to `to`, in these layers. */
export interface PaddedChannels {
  channels: number;
  to: number;
  /** The depthwise convolutions that asked for it. */
  depthwise: string[];
  /** Every layer whose weights changed (producers, depthwise, readers). */
  layers: string[];
}

/** What {@linkcode lowerForOrtCpu} changed. */
export interface OrtCpuReport {
  padded: PaddedChannels[];
  /** HardSwish nodes now run as QLinearAdd (requantization) + QLinearMul. */
  hardSwish: number;
  /** HardSigmoid nodes now computed by the quantization of their input alone. */
  hardSigmoid: number;
  /** MaxPool nodes ORT now runs on its float kernel. */
  floatMaxPool: number;
}

/**
 * Rewrites a QDQ graph in place for ONNX Runtime's CPU provider (see the
 * module doc). The padding changes no output; the HardSwish and HardSigmoid
 * rewrites round the gate once more, onto a grid of 255 steps (measured on
 * the PaddleOCR models: output SQNR within ±0.3 dB, held-out metrics within
 * a few samples). `gates: false` leaves HardSwish and HardSigmoid alone
 * (their grids are uint8 with zero point 0 and scales like 6/255, which
 * symmetric or power-of-two activation rules forbid). `perAxis: false` (a
 * model below opset 13, where DequantizeLinear has no axis) leaves MaxPool
 * alone.
 */
export function lowerForOrtCpu(graph: Graph, opts: { channelBlock?: number; gates?: boolean; perAxis?: boolean } = {}): OrtCpuReport {
  const padded = padDepthwiseChannels(graph, opts.channelBlock ?? ORT_CHANNEL_BLOCK);
  const gates = opts.gates ?? true;
  const hardSwish = gates ? integerHardSwish(graph) : 0;
  const hardSigmoid = gates ? hardSigmoidByGrid(graph) : 0;
  const floatMaxPool = opts.perAxis ?? true ? floatMaxPools(graph) : 0;
  return { padded, hardSwish, hardSigmoid, floatMaxPool };
}

// ---------------------------------------------------------------------------
// Channel padding

/** Ops that map each channel to itself (axis 1 in, axis 1 out); their input 0 and output 0 carry the channels. */
const PER_CHANNEL_UNARY = new Set([
  "Relu", "Clip", "LeakyRelu", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Identity", "Abs", "Neg",
  "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Elu", "Softplus", "Gelu", "Erf",
]);
/** Element-wise binary ops; a constant operand must broadcast per channel. Div's padding is 1, the others' 0. */
const BINARY = new Set(["Add", "Mul", "Sub", "Div"]);

type Fill = "zero" | "first" | "one";
interface PadEdit {
  tensor: string;
  axis: number;
  fill: Fill;
}

/**
 * Pads the channels each depthwise Conv (with a QDQ or float weight) works
 * on to a multiple of `block`, where every layer that writes or reads them
 * can take zero channels: producers are Conv (group 1), readers Conv (group
 * 1), and in between only per-channel ops, element-wise ops and per-tensor
 * Q/DQ. A group that reaches anything else (a graph output, a Concat, a
 * Reshape, a per-channel activation quantization, a shared weight) is left as
 * it is.
 */
export function padDepthwiseChannels(graph: Graph, block = ORT_CHANNEL_BLOCK): PaddedChannels[] {
  const done = new Set<Node>();
  const out: PaddedChannels[] = [];
  for (const node of [...graph.nodes]) {
    if (node.opType !== "Conv" || node.domain !== "" || done.has(node)) continue;
    const w = weightOf(graph, node, 1);
    const group = node.attrInt("group", 1);
    if (!w || w.dims.length < 3 || group === 1 || group !== w.dims[0] || w.dims[1] !== 1) continue;
    const c = group;
    if (c % block === 0) continue;
    const to = Math.ceil(c / block) * block;
    const region = regionOf(graph, node, c);
    if (!region) {
      done.add(node);
      continue;
    }
    for (const n of region.nodes) done.add(n);
    if (region.edits.some((e) => !padInitializer(graph, e, c, to, true))) continue;
    for (const e of region.edits) padInitializer(graph, e, c, to, false);
    for (const d of region.depthwise) d.attrs.set("group", { type: "int", value: to });
    // Declared shapes of the padded values no longer hold; ORT infers them again.
    for (const v of region.values) graph.valueInfo.delete(v);
    out.push({
      channels: c,
      to,
      depthwise: region.depthwise.map((n) => n.name),
      layers: [...new Set(region.layers.map((n) => n.name))],
    });
  }
  if (out.length) graph.invalidate();
  return out;
}

interface Region {
  values: Set<string>;
  nodes: Set<Node>;
  depthwise: Node[];
  layers: Node[];
  edits: PadEdit[];
}

/** The weight of slot `slot` of `node` as stored: the initializer itself, or the quantized one behind its DequantizeLinear. */
function weightOf(graph: Graph, node: Node, slot: number): Tensor | undefined {
  const name = node.inputs[slot];
  if (!name) return undefined;
  const t = graph.constant(name);
  if (t) return t;
  const dq = graph.producer(name);
  if (dq?.opType !== "DequantizeLinear") return undefined;
  return graph.constant(dq.inputs[0]);
}

/**
 * The edits that pad slot `slot` of `node` along `axis`: the initializer, or
 * the DequantizeLinear's data (and its scale and zero point where they are
 * per channel on that axis). `undefined` when the slot is not a constant.
 */
function slotEdits(graph: Graph, node: Node, slot: number, axis: number, values: Fill): PadEdit[] | undefined {
  const name = node.inputs[slot];
  // A weight another layer reads too cannot grow.
  if (graph.consumers(name).length !== 1) return undefined;
  if (graph.constant(name)) return [{ tensor: name, axis, fill: values }];
  const dq = graph.producer(name);
  if (dq?.opType !== "DequantizeLinear" || !graph.constant(dq.inputs[0])) return undefined;
  const data = graph.constant(dq.inputs[0])!;
  const edits: PadEdit[] = [{ tensor: dq.inputs[0], axis, fill: values }];
  const scale = graph.constant(dq.inputs[1]);
  if (!scale) return undefined;
  const qAxis = dq.attrInt("axis", 1);
  // Scales per channel of another axis (a reader's weights: per output channel) stay as they are.
  if (scale.size > 1 && (qAxis < 0 ? qAxis + data.dims.length : qAxis) === axis) {
    // A padded channel's scale: a copy of the first, so that every scale stays positive.
    edits.push({ tensor: dq.inputs[1], axis: 0, fill: "first" });
    if (dq.inputs[2]) edits.push({ tensor: dq.inputs[2], axis: 0, fill: "zero" });
  }
  return edits;
}

function regionOf(graph: Graph, start: Node, c: number): Region | undefined {
  const r: Region = { values: new Set(), nodes: new Set(), depthwise: [], layers: [], edits: [] };
  const queue: string[] = [];
  const addValue = (v: string) => {
    if (!r.values.has(v)) {
      r.values.add(v);
      queue.push(v);
    }
  };
  // How `node` touches the channels through `value`; false when it cannot be padded.
  const visit = (node: Node, value: string): boolean => {
    const first = !r.nodes.has(node);
    r.nodes.add(node);
    if (node.domain !== "") return false;
    const op = node.opType;
    const writes = node.outputs.includes(value);
    if (op === "Conv") {
      const w = weightOf(graph, node, 1);
      if (!w || w.dims.length < 3) return false;
      const group = node.attrInt("group", 1);
      const depthwise = group > 1 && group === w.dims[0] && w.dims[1] === 1 && w.dims[0] === c;
      if (!writes && node.inputs[0] !== value) return false; // a weight or bias in the channels' path
      if (!first) return true;
      // A layer's output channels: its weight's axis 0 and its bias.
      const outputEdits = () => {
        const e1 = slotEdits(graph, node, 1, 0, "zero");
        const e2 = node.inputs[2] ? slotEdits(graph, node, 2, 0, "zero") : [];
        return e1 && e2 ? [...e1, ...e2] : undefined;
      };
      if (depthwise) {
        const e = outputEdits();
        if (!e) return false;
        r.edits.push(...e);
        r.depthwise.push(node);
        r.layers.push(node);
        addValue(node.inputs[0]);
        addValue(node.outputs[0]);
        return true;
      }
      if (group !== 1) return false;
      if (writes) {
        const e = w.dims[0] === c && !r.values.has(node.inputs[0]) ? outputEdits() : undefined;
        if (!e) return false;
        r.edits.push(...e);
      } else {
        if (w.dims[1] !== c) return false;
        const e1 = slotEdits(graph, node, 1, 1, "zero");
        if (!e1) return false;
        r.edits.push(...e1);
      }
      r.layers.push(node);
      return true;
    }
    if (op === "QuantizeLinear" || op === "DequantizeLinear") {
      const s = graph.constant(node.inputs[1]);
      if (!s || s.size !== 1 || node.inputs[0] !== value && !writes) return false;
      addValue(node.inputs[0]);
      addValue(node.outputs[0]);
      return true;
    }
    if (PER_CHANNEL_UNARY.has(op)) {
      if (node.inputs[0] !== value && !writes) return false;
      // Clip's bounds are scalars; any other extra input would not be.
      if (op !== "Clip" && node.inputs.filter(Boolean).length > 1) return false;
      if (node.outputs.length !== 1) return false;
      addValue(node.inputs[0]);
      addValue(node.outputs[0]);
      return true;
    }
    if (BINARY.has(op)) {
      if (!first) return true;
      addValue(node.outputs[0]);
      for (const [slot, input] of node.inputs.entries()) {
        const t = graph.constant(input);
        if (!t) {
          // A quantized scalar constant (DequantizeLinear of a one-element initializer) broadcasts to every channel.
          const dq = graph.producer(input);
          if (dq?.opType === "DequantizeLinear" && graph.constant(dq.inputs[0])?.size === 1) continue;
          addValue(input);
          continue;
        }
        if (t.size === 1) continue;
        // A per-channel constant: [C, 1, …] or [1, C, 1, …] against NC… values.
        const d = t.dims;
        const axis = d.length >= 2 && d[d.length - 3] === c ? d.length - 3 : -1;
        if (axis < 0 || d.some((x, i) => i !== axis && x !== 1) || !["float32", "float64"].includes(t.dtype)) return false;
        if (graph.consumers(input).length > 1) return false;
        r.edits.push({ tensor: node.inputs[slot], axis, fill: op === "Div" && slot === 1 ? "one" : "zero" });
      }
      return true;
    }
    return false;
  };

  addValue(start.inputs[0]);
  addValue(start.outputs[0]);
  if (!visit(start, start.outputs[0])) return undefined;
  while (queue.length) {
    const v = queue.pop()!;
    if (graph.isOutput(v) || graph.inputs.some((i) => i.name === v) || graph.constant(v)) return undefined;
    const p = graph.producer(v);
    if (!p || !visit(p, v)) return undefined;
    for (const c2 of graph.consumers(v)) if (!visit(c2, v)) return undefined;
  }
  // A tensor read twice (a DequantizeLinear's data or scale shared with another weight) cannot grow.
  if (r.edits.some((e) => graph.consumers(e.tensor).length !== 1)) return undefined;
  return r;
}

/** Pads an initializer along `axis` from `c` to `to`; with `dryRun`, only whether it can. */
function padInitializer(graph: Graph, e: PadEdit, c: number, to: number, dryRun: boolean): boolean {
  const t = graph.constant(e.tensor);
  if (!t || e.axis >= t.dims.length || t.dims[e.axis] !== c) return false;
  if (e.fill === "one" && t.dtype !== "float32" && t.dtype !== "float64") return false;
  if (dryRun) return true;
  const size = t.byteLength / Math.max(1, t.size);
  const inner = t.dims.slice(e.axis + 1).reduce((a, b) => a * b, 1) * size;
  const outer = t.dims.slice(0, e.axis).reduce((a, b) => a * b, 1);
  const dims = [...t.dims];
  dims[e.axis] = to;
  const bytes = new Uint8Array(outer * to * inner);
  const one = e.fill === "one"
    ? new Uint8Array(t.dtype === "float32" ? new Float32Array([1]).buffer : new Float64Array([1]).buffer)
    : undefined;
  for (let o = 0; o < outer; o++) {
    const src = o * c * inner, dst = o * to * inner;
    bytes.set(t.bytes.subarray(src, src + c * inner), dst);
    for (let k = c; k < to; k++) {
      const at = dst + k * inner;
      if (e.fill === "first") bytes.set(t.bytes.subarray(src, src + inner), at);
      else if (one) for (let j = 0; j < inner; j += size) bytes.set(one, at + j);
    }
  }
  graph.addInitializer(new Tensor({ name: t.name, dtype: t.dtype, dims, bytes, docString: t.docString }));
  return true;
}

// ---------------------------------------------------------------------------
// HardSwish

/** Adds a one-element initializer (a scale or zero point); returns its name. */
function scalar(graph: Graph, name: string, value: number, dtype: "float32" | "uint8"): string {
  graph.addInitializer(Tensor.fromArray(name, [], dtype === "uint8" ? new Uint8Array([value]) : new Float32Array([value])));
  return name;
}

/**
 * DequantizeLinear → HardSwish → QuantizeLinear (uint8, per-tensor) becomes
 * DequantizeLinear → Add(x, 3) → QuantizeLinear(6/255, 0) →
 * DequantizeLinear(1/255, 0) → Mul(x, gate) → QuantizeLinear: ORT fuses the
 * first three into a QLinearAdd (its saturation is relu6's clip) and the
 * product into QLinearMul.
 * Returns how many it rewrote.
 */
export function integerHardSwish(graph: Graph): number {
  let count = 0;
  const scope = graph.nameScope();
  for (const hs of [...graph.nodes]) {
    if (hs.opType !== "HardSwish" || hs.domain !== "") continue;
    const dq = graph.producer(hs.inputs[0]);
    const readers = graph.consumers(hs.outputs[0]);
    if (dq?.opType !== "DequantizeLinear" || graph.isOutput(hs.outputs[0])) continue;
    if (!readers.length || readers.some((n) => n.opType !== "QuantizeLinear")) continue;
    const zp = graph.constant(dq.inputs[2] ?? "");
    const scale = graph.constant(dq.inputs[1]);
    if (!zp || zp.dtype !== "uint8" || zp.size !== 1 || !scale || scale.size !== 1) continue;
    const name = (s: string) => scope.unique(`${hs.name || hs.outputs[0]}_${s}`);
    // relu6(x + 3) on a grid of 255 steps from 0 to 6 (both ends exact), read back divided by 6.
    const gScale = scalar(graph, name("gate_grid_scale"), 6 / 255, "float32"), gZero = scalar(graph, name("gate_grid_zero_point"), 0, "uint8");
    const rScale = scalar(graph, name("gate_scale"), 1 / 255, "float32");
    const three = scalar(graph, name("three_quantized"), 255, "uint8"), threeScale = scalar(graph, name("three_scale"), 3 / 255, "float32");
    const td = name("three"), shifted = name("shifted"), gq = name("gate_quantized"), gd = name("gate");
    graph.replaceNode(hs, [
      new Node({ opType: "DequantizeLinear", name: name("three_DequantizeLinear"), inputs: [three, threeScale, gZero], outputs: [td] }),
      new Node({ opType: "Add", name: name("shift"), inputs: [hs.inputs[0], td], outputs: [shifted] }),
      new Node({ opType: "QuantizeLinear", name: name("gate_QuantizeLinear"), inputs: [shifted, gScale, gZero], outputs: [gq] }),
      new Node({ opType: "DequantizeLinear", name: name("gate_DequantizeLinear"), inputs: [gq, rScale, gZero], outputs: [gd] }),
      new Node({ opType: "Mul", name: hs.name, inputs: [hs.inputs[0], gd], outputs: [hs.outputs[0]] }),
    ]);
    count++;
  }
  return count;
}

// ---------------------------------------------------------------------------
// HardSigmoid

/**
 * Q(x) → DQ → HardSigmoid(α, β) → Q(gate) → DQ(gate), where Q(x) is read
 * by that DQ alone and every quantization is uint8 per tensor with the gate's
 * zero point 0, and x is the output of a Conv or Gemm with a bias, becomes
 * Conv(bias + β/α) → Q'(x + β/α) → DQ'(gate): the gate's grid runs from 0 to
 * G in 255 steps (G its old top, raised to β, at most 1), Q' = (step/α, 0).
 * Below −β/α it saturates at 0 as HardSigmoid does, above (G − β)/α at G.
 * Returns how many it rewrote.
 */
export function hardSigmoidByGrid(graph: Graph): number {
  let count = 0;
  const scope = graph.nameScope();
  for (const hs of [...graph.nodes]) {
    if (hs.opType !== "HardSigmoid" || hs.domain !== "") continue;
    const alpha = hs.attrFloat("alpha", 0.2), beta = hs.attrFloat("beta", 0.5);
    if (!(alpha > 0 && beta > 0 && beta < 1)) continue;
    const dqIn = graph.producer(hs.inputs[0]);
    if (dqIn?.opType !== "DequantizeLinear" || graph.consumers(hs.inputs[0]).length !== 1) continue;
    const qIn = graph.producer(dqIn.inputs[0]);
    if (qIn?.opType !== "QuantizeLinear" || graph.consumers(dqIn.inputs[0]).length !== 1 || graph.isOutput(dqIn.inputs[0])) continue;
    const qOut = graph.consumers(hs.outputs[0]);
    if (qOut.length !== 1 || qOut[0].opType !== "QuantizeLinear" || graph.isOutput(hs.outputs[0])) continue;
    const q = qOut[0];
    const readers = graph.consumers(q.outputs[0]);
    if (graph.isOutput(q.outputs[0]) || !readers.length || readers.some((n) => n.opType !== "DequantizeLinear")) continue;
    const uint8 = (n: Node) => {
      const g = gridOf(graph, n);
      return g?.dtype === "uint8" ? g : undefined;
    };
    const gate = uint8(q), input = uint8(qIn);
    if (!gate || !input || gate.zero !== 0 || readers.some((n) => !uint8(n))) continue;
    // The layer before moves its output by β/α, so the gate's 0 is the grid's 0, exactly.
    const layer = graph.producer(qIn.inputs[0]);
    const shift = shiftBias(graph, layer, qIn.inputs[0], beta / alpha);
    if (!layer || !shift) continue;
    // The gate's grid: 0 to its top G in 255 steps, both ends exact (they are where HardSigmoid saturates).
    const top = Math.min(1, Math.max(beta, 255 * gate.scale));
    const step = top / 255;
    shift();
    const base = hs.outputs[0];
    const zero = scalar(graph, scope.unique(`${base}_grid_zero_point`), 0, "uint8");
    qIn.inputs[1] = scalar(graph, scope.unique(`${base}_input_scale`), step / alpha, "float32");
    qIn.inputs[2] = zero;
    const gScale = scalar(graph, scope.unique(`${base}_grid_scale`), step, "float32");
    // The layer's output is now x + β/α: a new name, so nothing compares it with the float x.
    const shifted = scope.unique(`${qIn.inputs[0]}_plus_${+(beta / alpha).toPrecision(4)}`);
    graph.valueInfo.delete(qIn.inputs[0]);
    layer.outputs[0] = shifted;
    qIn.inputs[0] = shifted;
    for (const r of readers) {
      r.inputs[0] = qIn.outputs[0];
      r.inputs[1] = gScale;
      r.inputs[2] = zero;
    }
    graph.removeNodes([dqIn, hs, q]);
    count++;
  }
  if (count) graph.prune();
  return count;
}

// ---------------------------------------------------------------------------
// MaxPool

/** Ops ORT folds into the QLinearConv before them (their output grid does the clipping). */
const FUSED_ACTIVATION = new Set(["Relu", "Clip"]);
/** Ops through which ORT pulls a QLinearConv's NHWC input transpose back to a MaxPool before them. */
const LAYOUT_FREE = new Set([
  "QuantizeLinear", "DequantizeLinear", "Relu", "Clip", "Add", "Mul", "HardSwish", "HardSigmoid", "Sigmoid",
  "MaxPool", "AveragePool", "GlobalAveragePool",
]);

/**
 * Whether ORT runs this MaxPool NHWC (measured on ORT 1.30 fixtures): when
 * its quantized input comes straight from a Conv (or a Relu/Clip after one),
 * or a Conv reads its output through Q/DQ and layout-free ops. Elsewhere
 * (after a Mul, an Add or a HardSwish, with a GlobalAveragePool → Flatten →
 * MatMul after it) it stays NCHW.
 */
function nhwcMaxPool(graph: Graph, mp: Node, dq: Node): boolean {
  const q = graph.producer(dq.inputs[0]);
  let from = q?.opType === "QuantizeLinear" ? graph.producer(q.inputs[0]) : undefined;
  if (from && FUSED_ACTIVATION.has(from.opType)) from = graph.producer(from.inputs[0]);
  if (from?.opType === "Conv") return true;
  const seen = new Set<Node>();
  const queue = [...graph.consumers(mp.outputs[0])];
  while (queue.length && seen.size < 32) {
    const n = queue.shift()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.opType === "Conv") return true;
    if (LAYOUT_FREE.has(n.opType) && n.domain === "") queue.push(...graph.consumers(n.outputs[0]));
  }
  return false;
}

/**
 * DequantizeLinear → MaxPool → QuantizeLinear, with one per-tensor grid
 * (int8 or uint8) on both sides, the DequantizeLinear read by the MaxPool
 * alone and a known channel count, where ORT would run the MaxPool NCHW
 * (see `nhwcMaxPool`): the DequantizeLinear's scale and zero point become
 * vectors, one equal entry per channel (axis 1). Needs opset 13. Returns how
 * many it rewrote.
 */
export function floatMaxPools(graph: Graph): number {
  let count = 0;
  let channels: Map<string, number> | undefined;
  const scope = graph.nameScope();
  // A float32 scale: the per-channel one written below is float32 too.
  const grid = (n: Node) => {
    const g = gridOf(graph, n);
    return g && g.scaleType === "float32" && (g.dtype === "uint8" || g.dtype === "int8") ? g : undefined;
  };
  for (const mp of [...graph.nodes]) {
    if (mp.opType !== "MaxPool" || mp.domain !== "" || (mp.outputs.length > 1 && mp.outputs[1])) continue;
    const dq = graph.producer(mp.inputs[0]);
    if (dq?.opType !== "DequantizeLinear" || graph.consumers(dq.outputs[0]).length !== 1) continue;
    const g = grid(dq);
    const readers = graph.consumers(mp.outputs[0]);
    if (!g || graph.isOutput(mp.outputs[0]) || !readers.length) continue;
    const same = (n: Node) => {
      const h = n.opType === "QuantizeLinear" ? grid(n) : undefined;
      return h !== undefined && h.scale === g.scale && h.zero === g.zero && h.dtype === g.dtype;
    };
    if (!readers.every(same)) continue;
    if (nhwcMaxPool(graph, mp, dq)) continue;
    channels ??= channelCounts(graph);
    const c = channels.get(dq.outputs[0]);
    if (!c) continue;
    const base = dq.name || dq.outputs[0];
    const scale = scope.unique(`${base}_scale_per_channel`), zero = scope.unique(`${base}_zero_point_per_channel`);
    graph.addInitializer(Tensor.fromArray(scale, [c], new Float32Array(c).fill(g.scale)));
    graph.addInitializer(Tensor.fromArray(zero, [c], g.dtype === "uint8" ? new Uint8Array(c).fill(g.zero) : new Int8Array(c).fill(g.zero)));
    dq.inputs[1] = scale;
    dq.inputs[2] = zero;
    dq.attrs.set("axis", { type: "int", value: 1 });
    count++;
  }
  if (count) graph.prune();
  return count;
}

/** The per-tensor grid of a QuantizeLinear or DequantizeLinear: its scalar scale and zero point. */
function gridOf(graph: Graph, n: Node): { scale: number; zero: number; dtype: string; scaleType: string } | undefined {
  const sc = graph.constant(n.inputs[1]), z = graph.constant(n.inputs[2] ?? "");
  if (!sc || sc.size !== 1 || !z || z.size !== 1) return undefined;
  return { scale: sc.toFloat64()[0], zero: Number(z.view()[0]), dtype: z.dtype, scaleType: sc.dtype };
}

/**
 * A function that adds `by` to every output of `layer` (a Conv or Gemm whose
 * output `value` nothing else reads) through its bias — int32 behind a
 * DequantizeLinear, or float — or `undefined` when it has no bias of its own
 * to change or an int32 bias would overflow.
 */
function shiftBias(graph: Graph, layer: Node | undefined, value: string, by: number): (() => void) | undefined {
  if (!layer || (layer.opType !== "Conv" && layer.opType !== "Gemm") || layer.domain !== "" || layer.outputs[0] !== value) return undefined;
  if (graph.consumers(value).length !== 1 || graph.isOutput(value)) return undefined;
  const name = layer.inputs[2];
  if (!name || graph.consumers(name).length !== 1) return undefined;
  const float = graph.constant(name);
  if (float) {
    if (float.dtype !== "float32") return undefined;
    return () => {
      const b = Float32Array.from(float.toFloat32(), (v) => v + by);
      graph.addInitializer(Tensor.fromArray(name, float.dims, b));
    };
  }
  const dq = graph.producer(name);
  const data = dq?.opType === "DequantizeLinear" ? graph.constant(dq.inputs[0]) : undefined;
  const scale = dq ? graph.constant(dq.inputs[1]) : undefined;
  const zero = dq?.inputs[2] ? graph.constant(dq.inputs[2]) : undefined;
  if (!dq || !data || data.dtype !== "int32" || !scale || graph.consumers(dq.inputs[0]).length !== 1) return undefined;
  if (zero && zero.toFloat64().some((z) => z !== 0)) return undefined;
  const s = scale.toFloat64(), q = data.view() as Int32Array;
  const next = new Int32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const v = q[i] + Math.round(by / s[s.length === 1 ? 0 : i]);
    if (!(Math.abs(v) <= 2147483647)) return undefined;
    next[i] = v;
  }
  return () => graph.addInitializer(Tensor.fromArray(dq.inputs[0], data.dims, next, "int32"));
}
