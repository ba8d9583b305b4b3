/**
 * Just enough shape and type inference for the opset converters: the rank
 * of a Softmax input, the rank of a legacy-broadcast operand, the dtype of a
 * Clip bound. Exports often ship without value_info, so shapes are
 * propagated from the graph inputs through the common ops; a dim that cannot
 * be known statically is `null`, a value whose rank cannot be known is absent.
 *
 * @module
 */
import { type DType, dtypeFromOnnx } from "../../ir/dtype.ts";
import type { Dim, Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { Tensor } from "../../ir/tensor.ts";
import { constantNodeValue } from "./_tensors.ts";

/** A static dim, or `null` when unknown. */
export type SDim = number | null;

/** Inferred shapes and dtypes by value name. */
export interface ValueTypes {
  shapes: Map<string, SDim[]>;
  dtypes: Map<string, DType>;
}

type Shape = SDim[] | undefined;

const words = (list: string) => new Set(list.split(" "));

const SAME_SHAPE = words(
  "Abs Ceil Celu Clip Cos CumSum Elu Erf Exp Floor Gelu HardSigmoid HardSwish Hardmax Identity " +
    "InstanceNormalization IsInf IsNaN LRN LayerNormalization LeakyRelu Log LogSoftmax " +
    "MeanVarianceNormalization Mish Neg Not PRelu Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin " +
    "Softmax Softplus Softsign Sqrt Tanh ThresholdedRelu Trilu BatchNormalization Dropout Cast",
);
const BROADCAST = words(
  "Add Sub Mul Div Pow Mod Max Min Sum Mean And Or Xor Equal Less Greater LessOrEqual GreaterOrEqual " +
    "Where",
);
const BOOL_OUT = words(
  "Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor Not IsNaN IsInf",
);
const INT64_OUT = words(
  "Shape Size ArgMax ArgMin NonZero",
);
const CAST_NAMES: Record<string, DType> = {
  FLOAT: "float32",
  DOUBLE: "float64",
  FLOAT16: "float16",
  BFLOAT16: "bfloat16",
  INT8: "int8",
  UINT8: "uint8",
  INT16: "int16",
  UINT16: "uint16",
  INT32: "int32",
  UINT32: "uint32",
  INT64: "int64",
  UINT64: "uint64",
  BOOL: "bool",
  STRING: "string",
};

/** The dtype a Cast `to` attribute names, whether an ONNX code or (Cast-1) a type name. */
export function castTarget(n: Node): DType | undefined {
  const a = n.attrs.get("to");
  if (a?.type === "int") return dtypeFromOnnx(a.value);
  if (a?.type === "string") return CAST_NAMES[a.value.toUpperCase()];
  return undefined;
}

/**
 * Infers shapes and dtypes of the values of `graph` (read against default-
 * domain opset `opset`), seeded from declared inputs, outputs, value info and
 * initializers. Declared shapes win over inferred ones.
 */
export function inferValueTypes(graph: Graph, opset: number, constant: (v: string) => Tensor | undefined): ValueTypes {
  const shapes = new Map<string, SDim[]>();
  const dtypes = new Map<string, DType>();
  const declare = (name: string, dtype?: DType, shape?: readonly Dim[]) => {
    if (dtype) dtypes.set(name, dtype);
    if (shape) shapes.set(name, shape.map((d) => (typeof d === "number" ? d : null)));
  };
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo.values()]) declare(v.name, v.dtype, v.shape);
  for (const [name, t] of graph.initializers) declare(name, t.dtype, t.dims);
  const ints = (v: string | undefined): number[] | undefined => {
    const t = v ? constant(v) : undefined;
    return t && t.dtype !== "string" ? t.toNumbers() : undefined;
  };
  for (const n of graph.nodes) {
    if (n.domain !== "" && n.domain !== "ai.onnx") continue;
    const ins = n.inputs.map((i) => (i ? shapes.get(i) : undefined));
    let outs: Shape[] = [];
    try {
      outs = inferNode(n, ins, opset, ints);
    } catch {
      // Malformed attributes leave shapes unknown; converters report what they need.
    }
    n.outputs.forEach((o, k) => {
      if (o && outs[k] && !shapes.has(o)) shapes.set(o, outs[k]!);
    });
    const dts = inferDTypes(n, n.inputs.map((i) => dtypes.get(i)));
    n.outputs.forEach((o, k) => {
      if (o && dts[k] && !dtypes.has(o)) dtypes.set(o, dts[k]!);
    });
  }
  return { shapes, dtypes };
}

function inferDTypes(n: Node, ins: (DType | undefined)[]): (DType | undefined)[] {
  const op = n.opType;
  if (op === "Constant") return [constantNodeValue(n)?.dtype];
  if (op === "Cast") return [castTarget(n)];
  if (op === "ConstantOfShape") return [n.attrTensor("value")?.dtype ?? "float32"];
  if (BOOL_OUT.has(op)) return ["bool"];
  if (INT64_OUT.has(op)) return ["int64"];
  if (op === "Where") return [ins[1]];
  if (op === "TopK" || op === "MaxPool") return [ins[0], "int64"];
  if (op === "Dropout") return [ins[0], "bool"];
  return n.outputs.map(() => ins[0]);
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function broadcast(shapes: Shape[]): Shape {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: SDim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s![s!.length - rank + i]).filter((d) => d !== undefined);
    const big = dims.filter((d) => d !== 1);
    if (big.some((d) => d === null)) out.push(big.every((d) => d === null) ? null : big.find((d) => d !== null)!);
    else out.push(big.length ? big[0] : 1);
  }
  return out;
}

/** Axes of a node from its `axes` attribute or (newer opsets) its axes input. */
function axesOf(
  n: Node,
  ints: (v: string | undefined) => number[] | undefined,
  inputIndex: number,
): number[] | undefined {
  return n.attrInts("axes") ?? ints(n.inputs[inputIndex]);
}

function inferNode(
  n: Node,
  ins: Shape[],
  opset: number,
  ints: (v: string | undefined) => number[] | undefined,
): Shape[] {
  const op = n.opType;
  const x = ins[0];
  const r = x?.length;
  if (SAME_SHAPE.has(op)) return n.outputs.map(() => x && [...x]);
  if (BROADCAST.has(op)) {
    // Legacy (opset < 7) broadcasting keeps A's shape.
    return [n.attrInt("broadcast", 0) === 1 ? x && [...x] : broadcast(ins.filter((_, i) => n.inputs[i]))];
  }
  switch (op) {
    case "Constant":
      return [constantNodeValue(n)?.dims.slice()];
    case "Shape": {
      if (r === undefined) return [[null]];
      const start = norm(n.attrInt("start", 0), r), end = norm(n.attrInt("end", r), r);
      return [[Math.max(0, Math.min(r, end) - Math.max(0, start))]];
    }
    case "Size":
      return [[]];
    case "Conv":
    case "ConvTranspose": {
      if (!x) return [undefined];
      const w = ins[1];
      const c = !w ? null : op === "Conv" ? w[0] : w[1] === null ? null : w[1] * n.attrInt("group", 1);
      return [[x[0], c, ...x.slice(2).map(() => null)]];
    }
    case "MaxPool":
    case "AveragePool":
    case "LpPool": {
      const s = x && [x[0], x[1], ...x.slice(2).map(() => null)];
      return [s, s && [...s]];
    }
    case "Resize":
    case "Upsample":
    case "Pad":
    case "Tile":
      return [x && x.map(() => null)];
    case "GlobalAveragePool":
    case "GlobalMaxPool":
      return [x && [x[0], x[1], ...x.slice(2).map(() => 1)]];
    case "Transpose": {
      if (!x) return [undefined];
      const perm = n.attrInts("perm") ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p] ?? null)];
    }
    case "Slice":
      return [sliceShape(n, x, opset, ints)];
    case "Concat": {
      if (ins.some((s, i) => n.inputs[i] && !s)) return [undefined];
      const parts = ins.filter((s, i) => n.inputs[i]) as SDim[][];
      const ax = norm(n.attrInt("axis", 1), parts[0].length);
      const out = [...parts[0]];
      out[ax] = parts.every((p) => p[ax] !== null) ? parts.reduce((a, p) => a + p[ax]!, 0) : null;
      return [out];
    }
    case "Reshape": {
      const target = n.attrInts("shape") ?? ints(n.inputs[1]);
      if (target) {
        const allowZero = n.attrInt("allowzero", 0) === 1;
        const out: SDim[] = target.map((d, i) => (d === 0 && !allowZero ? x?.[i] ?? null : d < 0 ? null : d));
        const known = x && x.every((d) => d !== null) ? x.reduce((a, d) => a * d!, 1) : undefined;
        const inferred = out.indexOf(null), rest = out.reduce<number>((a, d) => a * (d ?? 1), 1);
        if (target.includes(-1) && known !== undefined && out.filter((d) => d === null).length === 1) {
          out[inferred] = known / rest;
        }
        return [out];
      }
      const len = ins[1]?.[0];
      return [typeof len === "number" ? Array<SDim>(len).fill(null) : undefined];
    }
    case "Flatten": {
      if (!x) return [[null, null]];
      const ax = norm(n.attrInt("axis", 1), x.length);
      const prod = (ds: SDim[]) => (ds.every((d) => d !== null) ? ds.reduce<number>((a, d) => a * d!, 1) : null);
      return [[prod(x.slice(0, ax)), prod(x.slice(ax))]];
    }
    case "MatMul": {
      const a = ins[0], b = ins[1];
      if (!a || !b) return [undefined];
      const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
      const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
      if (a.length === 1) out.splice(out.length - 2, 1);
      if (b.length === 1) out.pop();
      return [out];
    }
    case "Gemm":
      return [[null, null]];
    case "Squeeze": {
      if (!x) return [undefined];
      const axes = axesOf(n, ints, 1);
      if (!axes) return [x.some((d) => d === null) ? undefined : x.filter((d) => d !== 1)];
      const drop = new Set(axes.map((a) => norm(a, x.length)));
      return [x.filter((_, i) => !drop.has(i))];
    }
    case "Unsqueeze": {
      const axes = axesOf(n, ints, 1);
      if (!x || !axes) return [undefined];
      const rank = x.length + axes.length;
      const ones = new Set(axes.map((a) => norm(a, rank)));
      const out: SDim[] = [];
      for (let i = 0, j = 0; i < rank; i++) out.push(ones.has(i) ? 1 : x[j++]);
      return [out];
    }
    case "Split": {
      if (!x) return n.outputs.map(() => undefined);
      const ax = norm(n.attrInt("axis", 0), x.length);
      const split = n.attrInts("split") ?? ints(n.inputs[1]);
      return n.outputs.map((_, k) => {
        const s = [...x];
        s[ax] = split ? split[k] : x[ax] === null ? null : x[ax]! / n.outputs.length;
        return s;
      });
    }
    case "Gather": {
      const idx = ins[1];
      if (!x || !idx) return [undefined];
      const ax = norm(n.attrInt("axis", 0), x.length);
      return [[...x.slice(0, ax), ...idx, ...x.slice(ax + 1)]];
    }
    case "ArgMax":
    case "ArgMin":
      return [reduced(x, [n.attrInt("axis", 0)], n.attrInt("keepdims", 1) === 1)];
    case "TopK":
      return [x && [...x], x && [...x]];
    case "Expand": {
      const target = ints(n.inputs[1]);
      return [target && x ? broadcast([x, target]) : undefined];
    }
    case "ConstantOfShape": {
      const target = ints(n.inputs[0]);
      const len = ins[0]?.[0];
      return [target ?? (typeof len === "number" ? Array<SDim>(len).fill(null) : undefined)];
    }
    case "Range":
      return [[null]];
    case "DepthToSpace":
    case "SpaceToDepth":
      return [[x?.[0] ?? null, null, null, null]];
  }
  if (op.startsWith("Reduce")) {
    const axes = axesOf(n, ints, 1);
    const keep = n.attrInt("keepdims", 1) === 1;
    if (!axes && n.inputs[1]) return [keep ? x && x.map(() => null) : undefined];
    if (!axes && n.attrInt("noop_with_empty_axes", 0) === 1) return [x && [...x]];
    return [reduced(x, axes, keep)];
  }
  return n.outputs.map(() => undefined);
}

function reduced(x: Shape, axes: number[] | undefined, keep: boolean): Shape {
  if (!x) return undefined;
  const all = new Set((axes ?? x.map((_, i) => i)).map((a) => norm(a, x.length)));
  return keep ? x.map((d, i) => (all.has(i) ? 1 : d)) : x.filter((_, i) => !all.has(i));
}

function sliceShape(n: Node, x: Shape, opset: number, ints: (v: string | undefined) => number[] | undefined): Shape {
  if (!x) return undefined;
  const fromAttrs = opset < 10;
  const starts = fromAttrs ? n.attrInts("starts") : ints(n.inputs[1]);
  const ends = fromAttrs ? n.attrInts("ends") : ints(n.inputs[2]);
  const axes = (fromAttrs ? n.attrInts("axes") : n.inputs[3] ? ints(n.inputs[3]) : undefined) ??
    (fromAttrs || !n.inputs[3] ? starts?.map((_, i) => i) : undefined);
  const steps = fromAttrs || !n.inputs[4] ? starts?.map(() => 1) : ints(n.inputs[4]);
  const out = [...x];
  if (!starts || !ends || !axes || !steps) {
    // The rank is kept; which dims change is unknown.
    return out.map(() => null);
  }
  axes.forEach((a, i) => {
    const ax = norm(a, x.length);
    const d = x[ax];
    if (d === null) {
      out[ax] = null;
      return;
    }
    const step = steps[i];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    }
  });
  return out;
}
