/**
 * ONNX protobuf bytes → IR. Tensor bytes stay views into the input buffer.
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType as AT,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
  TensorProto_DataLocation,
  type ValueInfoProto,
} from "./gen/onnx_pb.ts";
import { InputError } from "../errors.ts";
import { type DType, dtypeFromOnnx } from "../ir/dtype.ts";
import { type Attribute, Node } from "../ir/node.ts";
import { CycleError, type Dim, Graph, subgraphsOf, topologicalOrder, type ValueInfo } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { shapeSize, Tensor, type TensorOrigin, type TensorSource } from "../ir/tensor.ts";
import { DTYPE_BYTES } from "../ir/dtype.ts";

/** Reads `length` bytes at `offset` of an external-data file (length -1: to the end). */
export type ExternalLoader = (location: string, offset: number, length: number, tensor: string) => Uint8Array;

/** Options for {@linkcode decodeModel}. */
export interface DecodeOptions {
  /** Name used in error messages. Default `"model"`. */
  source?: string;
  /** Loads external tensor data; without it a model with external data is refused. */
  loadExternal?: ExternalLoader;
  /** Tensors left where they are until used. */
  lazy?: LazyOptions;
}

/**
 * The external-data location that stands for the model file itself: a
 * skeleton reader rewrites large raw data to external data there, so the
 * model decodes without its weights in memory. No real location can be
 * this (it is not a relative path).
 */
export const SELF_LOCATION = "\u0000self";

/** See {@linkcode DecodeOptions.lazy}. */
export interface LazyOptions {
  /** External data smaller than this is always held in memory. */
  minBytes: number;
  /**
   * Raw data a skeleton reader left in the model's file: the bytes being
   * decoded refer to it as external data at {@linkcode SELF_LOCATION}, with
   * its offset in the file.
   */
  self?: (offset: number, length: number) => TensorSource;
  /** External data: a large tensor's source, in place of `loadExternal` (`length` −1: to the end of the file). */
  external?: (location: string, offset: number, length: number, tensor: string) => TensorSource;
}

/**
 * Parses ONNX model bytes into a {@linkcode Model}. Malformed input throws an
 * {@linkcode InputError} with a one-line message naming the source and the part.
 *
 * @example
 * ```ts
 * const model = decodeModel(bytes, { source: "model.onnx" });
 * model.graph.nodes.length;
 * ```
 */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  const source = opts.source ?? "model";
  const fail = (why: string): never => {
    throw new InputError(`Cannot read model "${source}": ${why}`);
  };
  if (bytes.byteLength === 0) fail("empty file");
  checkFraming(bytes, fail);
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    return fail(`corrupt protobuf (${firstLine(e)})`);
  }
  if (!proto.graph) fail(proto.irVersion > 0n ? "no graph (truncated file?)" : "not an ONNX model");
  if (proto.irVersion <= 0n) fail("not an ONNX model (no ir_version)");
  if (proto.opsetImport.length === 0) fail("no opset_import (truncated file?)");
  const ctx: Ctx = { source, fail, loadExternal: opts.loadExternal, lazy: opts.lazy };
  const graph = decodeGraph(proto.graph!, ctx);
  const opsets = new Map<string, number>();
  for (const o of proto.opsetImport) opsets.set(o.domain, Number(o.version));
  const model = new Model(graph, {
    irVersion: Number(proto.irVersion),
    opsets,
    producerName: proto.producerName,
    producerVersion: proto.producerVersion,
    domain: proto.domain,
    modelVersion: Number(proto.modelVersion),
    docString: proto.docString,
    metadata: new Map(proto.metadataProps.map((p) => [p.key, p.value])),
  });
  const dangling = danglingRead(graph, new Set());
  if (dangling) fail(dangling);
  model.carry = proto;
  return model;
}

/**
 * The first node input that nothing provides (no node, initializer, graph
 * input or enclosing graph), described; `undefined` when every read is wired.
 * ONNX Runtime would refuse such a model later and less clearly.
 */
function danglingRead(graph: Graph, outer: ReadonlySet<string>): string | undefined {
  const known = new Set<string>([...outer, ...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  for (const n of graph.nodes) for (const o of n.outputs) if (o) known.add(o);
  for (const n of graph.nodes) {
    const missing = n.inputs.find((i) => i && !known.has(i));
    if (missing !== undefined) {
      return `node ${n.opType} "${n.name}" reads "${missing}", which no node, initializer or graph input provides`;
    }
    for (const sg of subgraphsOf(n)) {
      const why = danglingRead(sg, known);
      if (why) return why;
    }
  }
  const output = graph.outputs.find((o) => !known.has(o.name));
  return output ? `graph output "${output.name}" is not produced by any node, initializer or input` : undefined;
}

/** ModelProto's top-level fields with their wire types (0 varint, 2 length-delimited). */
const MODEL_FIELDS = new Map<number, [string, number]>([
  [1, ["ir_version", 0]],
  [2, ["producer_name", 2]],
  [3, ["producer_version", 2]],
  [4, ["domain", 2]],
  [5, ["model_version", 0]],
  [6, ["doc_string", 2]],
  [7, ["graph", 2]],
  [8, ["opset_import", 2]],
  [14, ["metadata_props", 2]],
  [20, ["training_info", 2]],
  [25, ["functions", 2]],
]);

/**
 * Walks the top-level fields before parsing. A model is one huge `graph` field,
 * so a cut file shows up here as a field running past the end; the nested
 * length prefixes then protect everything inside it. Bytes that do not start
 * like a ModelProto are "not an ONNX model" rather than a protobuf error.
 */
function checkFraming(b: Uint8Array, fail: (why: string) => never): void {
  let pos = 0;
  let known = false;
  /** A varint at `pos`; -1 when the buffer ends inside it, -2 when it is over 10 bytes. */
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= b.length) return -1;
      const x = b[pos++];
      v += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return v;
    }
    return -2;
  };
  while (pos < b.length) {
    const at = pos;
    const tag = varint();
    if (tag === -1 && known) fail(`truncated file (${b.length} bytes, cut inside a field tag)`);
    const field = MODEL_FIELDS.get(Math.floor(tag / 8));
    const wire = tag % 8;
    const valid = tag >= 8 && tag < 2 ** 32 && (field ? field[1] === wire : wire <= 2 || wire === 5);
    if (!valid) fail(known ? `corrupt protobuf at byte ${at}` : "not an ONNX model");
    if (!known && !field) fail("not an ONNX model");
    known = true;
    const name = field ? field[0] : `field ${Math.floor(tag / 8)}`;
    let end: number;
    if (wire === 0) {
      const v = varint();
      end = v < 0 ? v : pos;
    } else if (wire === 1) end = pos + 8;
    else if (wire === 5) end = pos + 4;
    else {
      const len = varint();
      end = len < 0 ? len : pos + len;
    }
    if (end === -2) fail(`corrupt protobuf at byte ${at}`);
    if (end === -1) fail(`truncated file (${b.length} bytes, cut inside ${name})`);
    if (end > b.length) fail(`truncated file (${b.length} bytes, ${name} ends at byte ${end})`);
    pos = end;
  }
}

interface Ctx {
  source: string;
  fail: (why: string) => never;
  loadExternal?: ExternalLoader;
  lazy?: LazyOptions;
}

function decodeGraph(p: GraphProto, ctx: Ctx): Graph {
  const g = new Graph(p.name);
  g.docString = p.docString;
  g.carry = p;
  for (const t of p.initializer) {
    const tensor = decodeTensor(t, ctx);
    g.initializers.set(tensor.name, tensor);
  }
  g.inputs = p.input.map(decodeValueInfo);
  g.outputs = p.output.map(decodeValueInfo);
  for (const v of p.valueInfo) g.valueInfo.set(v.name, decodeValueInfo(v));
  g.nodes = p.node.map((n) => decodeNode(n, ctx));
  try {
    g.nodes = topologicalOrder(g);
  } catch (e) {
    if (e instanceof CycleError) ctx.fail(e.message);
    throw e;
  }
  return g;
}

function decodeNode(p: NodeProto, ctx: Ctx): Node {
  const n = new Node({
    opType: p.opType,
    name: p.name,
    domain: p.domain,
    inputs: p.input,
    outputs: p.output,
    docString: p.docString,
  });
  for (const a of p.attribute) n.attrs.set(a.name, decodeAttribute(a, n, ctx));
  n.carry = p;
  return n;
}

function decodeAttribute(a: AttributeProto, node: Node, ctx: Ctx): Attribute {
  const text = new TextDecoder();
  switch (a.type) {
    case AT.FLOAT:
      return { type: "float", value: a.f };
    case AT.INT:
      return { type: "int", value: Number(a.i) };
    case AT.STRING:
      return { type: "string", value: text.decode(a.s) };
    case AT.FLOATS:
      return { type: "floats", value: [...a.floats] };
    case AT.INTS:
      return { type: "ints", value: a.ints.map(Number) };
    case AT.STRINGS:
      return { type: "strings", value: a.strings.map((s) => text.decode(s)) };
    case AT.TENSOR:
      if (!a.t) return ctx.fail(`attribute "${a.name}" of node "${node.label}" has no tensor`);
      return { type: "tensor", value: decodeTensor(a.t, ctx, `${node.label}.${a.name}`) };
    case AT.TENSORS:
      return { type: "tensors", value: a.tensors.map((t, i) => decodeTensor(t, ctx, `${node.label}.${a.name}[${i}]`)) };
    case AT.GRAPH:
      if (!a.g) return ctx.fail(`attribute "${a.name}" of node "${node.label}" has no graph`);
      return { type: "graph", value: decodeGraph(a.g, ctx) };
    case AT.GRAPHS:
      return { type: "graphs", value: a.graphs.map((sg) => decodeGraph(sg, ctx)) };
    case AT.UNDEFINED:
      return ctx.fail(`attribute "${a.name}" of node "${node.label}" has no type`);
    default:
      return { type: "opaque", value: a };
  }
}

/** Decodes one TensorProto (initializer or attribute). */
export function decodeTensor(t: TensorProto, ctx: Ctx, label = t.name): Tensor {
  const dtype = dtypeFromOnnx(t.dataType);
  if (!dtype) ctx.fail(`tensor "${label}" has unsupported data type ${t.dataType}`);
  const dims = t.dims.map(Number);
  if (dims.some((d) => d < 0 || !Number.isSafeInteger(d))) ctx.fail(`tensor "${label}" has invalid dims [${dims}]`);
  const n = shapeSize(dims);
  const base = { name: t.name, dtype: dtype!, dims, docString: t.docString };
  if (dtype === "string") return new Tensor({ ...base, strings: t.stringData });
  const want = n * DTYPE_BYTES[dtype!];
  // The data in memory, or (a lazy tensor) where it stays.
  let bytes: Uint8Array | undefined, source: TensorSource | undefined;
  const origin: TensorOrigin = {};
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get("location");
    if (!location) return ctx.fail(`tensor "${label}" has external data without a location`);
    const offset = Number(kv.get("offset") ?? 0);
    const length = kv.has("length") ? Number(kv.get("length")) : -1;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < -1) {
      return ctx.fail(`tensor "${label}" has invalid external data offset "${kv.get("offset")}" or length "${kv.get("length")}"`);
    }
    if (location === SELF_LOCATION) {
      // Raw data a skeleton reader left in the model's own file.
      if (!ctx.lazy?.self) return ctx.fail(`tensor "${label}" has external data in "${location}"`);
      source = ctx.lazy.self(offset, length);
    } else {
      if (ctx.lazy?.external && (length < 0 || length >= ctx.lazy.minBytes)) {
        source = ctx.lazy.external(location, offset, length, label);
        if (source.length < ctx.lazy.minBytes) source = undefined;
      }
      if (!source && !ctx.loadExternal) return ctx.fail(`tensor "${label}" keeps its data in "${location}" and no folder was given to read it from`);
      bytes = source ? undefined : ctx.loadExternal!(location, offset, length, label);
      origin.external = { location, offset, length: source?.length ?? bytes!.byteLength };
    }
  } else if (t.rawData.byteLength > 0 || n === 0) {
    bytes = t.rawData;
  } else {
    const [field, data] = typedField(t, dtype!);
    if (!field) {
      bytes = new Uint8Array(0);
    } else {
      if (!TYPED_FIELD_OF[dtype!]?.includes(field)) ctx.fail(`tensor "${label}" of type ${dtype} keeps its data in ${field}`);
      bytes = data!;
      origin.field = field;
    }
  }
  const got = source?.length ?? bytes!.byteLength;
  if (got !== want) {
    const shape = `${dtype}[${dims.join(",")}]`;
    ctx.fail(
      got < want
        ? `truncated tensor "${label}": ${got} bytes for ${shape}, expected ${want}`
        : `tensor "${label}" has ${got} bytes for ${shape}, expected ${want}`,
    );
  }
  return new Tensor({ ...base, bytes, source, origin: origin.external || origin.field ? origin : undefined });
}

type Field = NonNullable<TensorOrigin["field"]>;

/** The typed field ONNX allows for each dtype (onnx.proto, TensorProto). */
const TYPED_FIELD_OF: Partial<Record<DType, Field[]>> = {
  float32: ["float_data"],
  float64: ["double_data"],
  int64: ["int64_data"],
  uint32: ["uint64_data"],
  uint64: ["uint64_data"],
  int32: ["int32_data"],
  int16: ["int32_data"],
  int8: ["int32_data"],
  uint16: ["int32_data"],
  uint8: ["int32_data"],
  bool: ["int32_data"],
  float16: ["int32_data"],
  bfloat16: ["int32_data"],
};

/** Converts ONNX's typed-field storage into little-endian bytes. */
function typedField(t: TensorProto, dtype: DType): [TensorOrigin["field"], Uint8Array?] {
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (t.floatData.length) return ["float_data", bytesOf(Float32Array.from(t.floatData))];
  if (t.doubleData.length) return ["double_data", bytesOf(Float64Array.from(t.doubleData))];
  if (t.int64Data.length) return ["int64_data", bytesOf(BigInt64Array.from(t.int64Data))];
  if (t.uint64Data.length) {
    const u = BigUint64Array.from(t.uint64Data);
    return ["uint64_data", dtype === "uint32" ? bytesOf(Uint32Array.from(u, Number)) : bytesOf(u)];
  }
  if (t.int32Data.length) {
    const v = t.int32Data;
    const arr = dtype === "int8" ? Int8Array.from(v)
      : dtype === "uint8" || dtype === "bool" ? Uint8Array.from(v)
      : dtype === "int16" ? Int16Array.from(v)
      : dtype === "uint16" || dtype === "float16" || dtype === "bfloat16" ? Uint16Array.from(v)
      : Int32Array.from(v);
    return ["int32_data", bytesOf(arr)];
  }
  return [undefined];
}

function decodeValueInfo(v: ValueInfoProto): ValueInfo {
  const info: ValueInfo = { name: v.name, carry: v };
  if (v.docString) info.docString = v.docString;
  const tt = v.type?.value.case === "tensorType" ? v.type.value.value : undefined;
  if (tt) {
    const dt = dtypeFromOnnx(tt.elemType);
    if (dt) info.dtype = dt;
    if (tt.shape) {
      info.shape = tt.shape.dim.map((d): Dim =>
        d.value.case === "dimValue" ? Number(d.value.value) : d.value.case === "dimParam" ? d.value.value : null
      );
    }
  }
  return info;
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split("\n")[0];
}
