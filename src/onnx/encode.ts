/**
 * IR → ONNX protobuf. Unchanged tensors are written from the bytes they were
 * read into; fields the IR does not model come back from each element's carry.
 *
 * @module
 */
import { create, type DescMessage, isFieldSet, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  type GraphProto,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProto_DataLocation,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  type TypeProto,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "./gen/onnx_pb.ts";
import { ONNX_DTYPE_CODE } from "../ir/dtype.ts";
import type { Attribute, Node } from "../ir/node.ts";
import type { Graph, ValueInfo } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import type { Tensor } from "../ir/tensor.ts";

/** Decides, per tensor, whether its bytes go to an external file. */
export interface ExternalPlan {
  /** File name written into `location`, relative to the model file. */
  location: string;
  /** Tensors at least this many bytes go external. */
  threshold: number;
  /**
   * For a tensor still in its file ({@linkcode Tensor.source}): where the
   * written model may refer to its bytes as they are (a file name relative
   * to the model, and the offset of the bytes in it), or `undefined` to
   * write them to `location` like any other.
   */
  refer?: (t: Tensor) => { location: string; offset: number } | undefined;
}

/** One external-data file to write: ordered chunks at known offsets. */
export interface ExternalFile {
  location: string;
  /**
   * Bytes to place at each offset, in increasing offset order. A lazy
   * tensor's `bytes` are read when asked for, so a writer that takes one
   * chunk at a time holds one in memory.
   */
  chunks: { offset: number; readonly bytes: Uint8Array }[];
  size: number;
}

/** The protobuf bytes of a model plus the external files it refers to. */
export interface Encoded {
  bytes: Uint8Array;
  external?: ExternalFile;
}

/** Large tensors are aligned so runtimes may map them from disk. */
const ALIGN_THRESHOLD = 1 << 20;
const ALIGN = 1 << 16;

/**
 * Encodes a model. With `plan`, tensors of `plan.threshold` bytes or more are
 * written to `plan.location` instead of into the protobuf.
 *
 * @example
 * ```ts
 * const { bytes } = encodeModel(model);
 * ```
 */
export function encodeModel(model: Model, plan?: ExternalPlan): Encoded {
  return encodeWith(model, plan, true);
}

/** {@linkcode encodeModel}, with large initializers spliced in (`splice`) or written by protobuf's writer (the reference the tests compare with). */
export function encodeWith(model: Model, plan: ExternalPlan | undefined, splice: boolean): Encoded {
  const { parts, external } = encodeParts(model, plan, splice);
  return { bytes: parts.length === 1 ? parts[0] : concat(parts), external };
}

/**
 * The model's bytes as consecutive pieces (the large initializers' data are
 * views of their tensors), for writers that need not join them: a fresh
 * buffer of a model's size costs a page fault per 4 KiB (about 28 ms for the
 * 10 MB recognizer here), as much as the rest of the encoding.
 */
export function encodeParts(model: Model, plan?: ExternalPlan, splice = true): { parts: Uint8Array[]; external?: ExternalFile } {
  const ext: ExternalFile | undefined = plan ? { location: plan.location, chunks: [], size: 0 } : undefined;
  const ctx: EncCtx = { plan, ext, payloads: new Map(), splice };
  const proto = toModelProto(model, ctx);
  const parts = ctx.payloads.size ? spliced(proto, ctx.payloads) : [toBinary(ModelProtoSchema, proto)];
  return { parts, external: ext && ext.chunks.length ? ext : undefined };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(size(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Initializers at least this large are copied into the output in one piece, not through protobuf's writer. */
const SPLICE_THRESHOLD = 4096;

/** A large initializer's data, held out of its TensorProto: the field it goes in and its little-endian bytes. */
interface Payload {
  field: number;
  bytes: Uint8Array;
}

interface EncCtx {
  /** Top-level initializers whose data is spliced in (see {@linkcode spliced}). */
  payloads: Map<TensorProto, Payload>;
  /** Whether large top-level initializers are spliced in at all. */
  splice?: boolean;
  plan?: ExternalPlan;
  ext?: ExternalFile;
}

/** Sets a proto2 field when it differs from its default or was set before. */
function put<T extends object, K extends keyof T>(msg: T, key: K, value: T[K], dflt: T[K]): void {
  if (value !== dflt || Object.prototype.hasOwnProperty.call(msg, key)) msg[key] = value;
}

function toModelProto(m: Model, ctx: EncCtx): ModelProto {
  const carry = m.carry as ModelProto | undefined;
  const p = create(ModelProtoSchema);
  if (carry) {
    for (const k of ["producerName", "producerVersion", "domain", "docString"] as const) {
      if (Object.prototype.hasOwnProperty.call(carry, k)) p[k] = carry[k];
    }
    if (Object.prototype.hasOwnProperty.call(carry, "modelVersion")) p.modelVersion = carry.modelVersion;
    p.trainingInfo = carry.trainingInfo;
    p.functions = carry.functions;
    p.$unknown = carry.$unknown;
  }
  p.irVersion = BigInt(m.irVersion);
  p.opsetImport = [...m.opsets].map(([domain, version]) => {
    const o = create(OperatorSetIdProtoSchema, { version: BigInt(version) });
    const orig = carry?.opsetImport.find((x) => x.domain === domain);
    if (domain !== "" || (orig && Object.prototype.hasOwnProperty.call(orig, "domain"))) o.domain = domain;
    return o;
  });
  put(p, "producerName", m.producerName, "");
  put(p, "producerVersion", m.producerVersion, "");
  put(p, "domain", m.domain, "");
  put(p, "modelVersion", BigInt(m.modelVersion), 0n);
  put(p, "docString", m.docString, "");
  p.metadataProps = [...m.metadata].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  p.graph = toGraphProto(m.graph, ctx, true);
  return p;
}

function toGraphProto(g: Graph, ctx: EncCtx, top = false): GraphProto {
  const carry = g.carry as GraphProto | undefined;
  const p = create(GraphProtoSchema);
  if (carry) {
    p.sparseInitializer = carry.sparseInitializer;
    p.quantizationAnnotation = carry.quantizationAnnotation;
    p.metadataProps = carry.metadataProps;
    p.$unknown = carry.$unknown;
    if (Object.prototype.hasOwnProperty.call(carry, "name")) p.name = carry.name;
  }
  put(p, "name", g.name, "");
  put(p, "docString", g.docString, "");
  p.node = g.nodes.map((n) => toNodeProto(n, ctx));
  p.initializer = [...g.initializers.values()].map((t) => toTensorProto(t, ctx, top));
  p.input = g.inputs.map(toValueInfoProto);
  p.output = g.outputs.map(toValueInfoProto);
  p.valueInfo = [...g.valueInfo.values()].map(toValueInfoProto);
  return p;
}

function toNodeProto(n: Node, ctx: EncCtx): NodeProto {
  const carry = n.carry as NodeProto | undefined;
  const p = create(NodeProtoSchema);
  if (carry) {
    for (const k of ["name", "domain", "docString", "overload"] as const) {
      if (Object.prototype.hasOwnProperty.call(carry, k)) p[k] = carry[k];
    }
    p.metadataProps = carry.metadataProps;
    p.$unknown = carry.$unknown;
  }
  p.input = [...n.inputs];
  p.output = [...n.outputs];
  put(p, "name", n.name, "");
  p.opType = n.opType;
  put(p, "domain", n.domain, "");
  put(p, "docString", n.docString, "");
  p.attribute = [...n.attrs].map(([name, a]) => toAttributeProto(name, a, carry, ctx));
  return p;
}

function toAttributeProto(name: string, a: Attribute, node: NodeProto | undefined, ctx: EncCtx): AttributeProto {
  if (a.type === "opaque") return a.value as AttributeProto;
  const p = create(AttributeProtoSchema, { name });
  const orig = node?.attribute.find((x) => x.name === name);
  if (orig) {
    if (orig.docString) p.docString = orig.docString;
    p.$unknown = orig.$unknown;
  }
  const enc = new TextEncoder();
  switch (a.type) {
    case "float":
      p.type = AT.FLOAT;
      p.f = a.value;
      break;
    case "int":
      p.type = AT.INT;
      // The IR holds a double; when it still equals what was read, write the exact int64 back.
      p.i = orig?.type === AT.INT && Number(orig.i) === a.value ? orig.i : int64(a.value);
      break;
    case "string":
      p.type = AT.STRING;
      p.s = enc.encode(a.value);
      break;
    case "floats":
      p.type = AT.FLOATS;
      p.floats = [...a.value];
      break;
    case "ints":
      p.type = AT.INTS;
      p.ints = a.value.map((x, i) => orig?.type === AT.INTS && Number(orig.ints[i]) === x ? orig.ints[i] : int64(x));
      break;
    case "strings":
      p.type = AT.STRINGS;
      p.strings = a.value.map((s) => enc.encode(s));
      break;
    case "tensor":
      p.type = AT.TENSOR;
      // Attribute tensors stay inline: ONNX Runtime reads Constant values from the protobuf.
      p.t = toTensorProto(a.value, { payloads: ctx.payloads });
      break;
    case "tensors":
      p.type = AT.TENSORS;
      p.tensors = a.value.map((t) => toTensorProto(t, { payloads: ctx.payloads }));
      break;
    case "graph":
      p.type = AT.GRAPH;
      p.g = toGraphProto(a.value, ctx);
      break;
    case "graphs":
      p.type = AT.GRAPHS;
      p.graphs = a.value.map((g) => toGraphProto(g, ctx));
      break;
  }
  return p;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A number as int64, saturating: 2^63 (INT64_MAX read as a double) maps back to INT64_MAX. */
function int64(x: number): bigint {
  if (x >= 9223372036854775807) return INT64_MAX;
  if (x <= -9223372036854775808) return INT64_MIN;
  return BigInt(Math.trunc(x));
}

function toTensorProto(t: Tensor, ctx: EncCtx, top = false): TensorProto {
  top &&= !!ctx.splice;
  const p = create(TensorProtoSchema, {
    dims: t.dims.map((d) => BigInt(d)),
    dataType: ONNX_DTYPE_CODE[t.dtype],
  });
  put(p, "name", t.name, "");
  put(p, "docString", t.docString, "");
  if (t.dtype === "string") {
    p.stringData = t.strings;
    return p;
  }
  const field = t.origin?.field;
  const length = t.byteLength;
  if (ctx.plan && ctx.ext && length >= ctx.plan.threshold) {
    const ext = ctx.ext;
    let at = t.source && ctx.plan.refer?.(t);
    if (!at) {
      const align = length >= ALIGN_THRESHOLD ? ALIGN : 1;
      const offset = Math.ceil(ext.size / align) * align;
      ext.chunks.push({ offset, get bytes() { return t.bytes; } });
      ext.size = offset + length;
      at = { location: ext.location, offset };
    }
    p.dataLocation = TensorProto_DataLocation.EXTERNAL;
    p.externalData = [
      ["location", at.location],
      ["offset", String(at.offset)],
      ["length", String(length)],
    ].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  } else if (field && !ctx.plan) {
    // Packed float and double fields hold exactly the little-endian bytes: splice those too.
    const packed = field === "float_data" ? 4 : field === "double_data" ? 10 : 0;
    if (top && packed && t.bytes.byteLength >= SPLICE_THRESHOLD) ctx.payloads.set(p, { field: packed, bytes: t.bytes });
    else writeTypedField(p, t, field);
  } else if (t.bytes.byteLength > 0) {
    if (top && t.bytes.byteLength >= SPLICE_THRESHOLD) ctx.payloads.set(p, { field: 9, bytes: t.bytes });
    else p.rawData = t.bytes;
  }
  return p;
}

/**
 * The model's bytes with the large initializers' data copied in whole: the
 * same bytes protobuf's writer gives (fields in number order, unknown fields
 * last), without growing its buffer a few bytes at a time through
 * megabytes of weights. The messages on the path (model → graph →
 * initializer) are written in parts around the field that holds the next
 * part: the fields numbered below it, the field itself with its length
 * prefix, the fields above it with the unknown ones.
 */
function spliced(model: ModelProto, payloads: ReadonlyMap<TensorProto, Payload>): Uint8Array[] {
  const graph = model.graph!;
  const parts: Uint8Array[] = [];
  const field = (no: number, length: number) => lengthPrefix(no, length);
  const tensors = graph.initializer.map((t) => {
    const pay = payloads.get(t);
    if (!pay) return [toBinary(TensorProtoSchema, t)];
    // raw_data with nothing numbered after it (the usual initializer: dims, type, name): no need to split.
    if (pay.field === 9 && nothingAfterRawData(t)) return [toBinary(TensorProtoSchema, t), field(9, pay.bytes.byteLength), pay.bytes];
    return [below(TensorProtoSchema, t, pay.field), field(pay.field, pay.bytes.byteLength), pay.bytes, above(TensorProtoSchema, t, pay.field)];
  });
  const graphParts = [below(GraphProtoSchema, graph, 5)];
  for (const t of tensors) graphParts.push(field(5, size(t)), ...t);
  graphParts.push(above(GraphProtoSchema, graph, 5));
  parts.push(below(ModelProtoSchema, model, 7), field(7, size(graphParts)), ...graphParts, above(ModelProtoSchema, model, 7));
  return parts;
}

const size = (parts: readonly Uint8Array[]) => parts.reduce((n, p) => n + p.byteLength, 0);

/** Whether a TensorProto holds no field numbered above raw_data's 9, and no unknown field. */
function nothingAfterRawData(t: TensorProto): boolean {
  return !t.$unknown?.length && t.externalData.length === 0 && t.doubleData.length === 0 && t.uint64Data.length === 0 &&
    t.metadataProps.length === 0 && !Object.prototype.hasOwnProperty.call(t, "docString") &&
    !Object.prototype.hasOwnProperty.call(t, "dataLocation");
}

/** A field's tag (wire type 2, length-delimited) and its length, as varints. */
function lengthPrefix(no: number, length: number): Uint8Array {
  const out: number[] = [];
  for (let v = (no << 3) | 2; ; v >>>= 7) {
    if (v < 0x80) {
      out.push(v);
      break;
    }
    out.push((v & 0x7f) | 0x80);
  }
  // Lengths may exceed 2^31 (external data aside, protobuf's own limit is 2 GiB): divide, do not shift.
  for (let v = length; ; v = Math.floor(v / 128)) {
    if (v < 0x80) {
      out.push(v);
      break;
    }
    out.push((v % 128) | 0x80);
  }
  return Uint8Array.from(out);
}

/** `msg` with only its fields numbered below `no` (no unknown fields), encoded. */
function below<D extends DescMessage>(schema: D, msg: MessageShape<D>, no: number): Uint8Array {
  return toBinary(schema, partOf(schema, msg, (n) => n < no, false));
}

/** `msg` with only its fields numbered above `no`, and its unknown fields, encoded. */
function above<D extends DescMessage>(schema: D, msg: MessageShape<D>, no: number): Uint8Array {
  return toBinary(schema, partOf(schema, msg, (n) => n > no, true));
}

function partOf<D extends DescMessage>(schema: D, msg: MessageShape<D>, keep: (no: number) => boolean, unknown: boolean): MessageShape<D> {
  const part = create(schema) as MessageShape<D> & { $unknown?: MessageShape<D>["$unknown"] };
  const src = msg as MessageShape<D> & Record<string, unknown>;
  for (const f of schema.fields) {
    if (keep(f.number) && isFieldSet(msg, f)) (part as Record<string, unknown>)[f.localName] = src[f.localName];
  }
  if (unknown && src.$unknown) part.$unknown = src.$unknown;
  return part;
}

/** Puts the elements back into the typed field they were read from. */
function writeTypedField(p: TensorProto, t: Tensor, field: NonNullable<Tensor["origin"]>["field"]): void {
  const v = t.view();
  switch (field) {
    case "float_data":
      p.floatData = Array.from(v as Float32Array);
      break;
    case "double_data":
      p.doubleData = Array.from(v as Float64Array);
      break;
    case "int64_data":
      p.int64Data = Array.from(v as BigInt64Array);
      break;
    case "uint64_data":
      p.uint64Data = Array.from(v as ArrayLike<number | bigint>, (x) => BigInt(x));
      break;
    case "int32_data":
      p.int32Data = Array.from(v as ArrayLike<number>, Number);
      break;
  }
}

function toValueInfoProto(v: ValueInfo): ValueInfoProto {
  const carry = v.carry as ValueInfoProto | undefined;
  const p = create(ValueInfoProtoSchema, { name: v.name });
  if (carry) {
    p.metadataProps = carry.metadataProps;
    p.$unknown = carry.$unknown;
  }
  if (v.docString) p.docString = v.docString;
  p.type = toTypeProto(v, carry?.type);
  return p;
}

function toTypeProto(v: ValueInfo, orig: TypeProto | undefined): TypeProto | undefined {
  if (!v.dtype) {
    // Non-tensor types (sequences, maps) or an unknown type: keep what was read.
    return orig;
  }
  const origTensor = orig?.value.case === "tensorType" ? orig.value.value : undefined;
  const tensor = create(TypeProto_TensorSchema, { elemType: ONNX_DTYPE_CODE[v.dtype] });
  if (v.shape) {
    tensor.shape = create(TensorShapeProtoSchema, {
      dim: v.shape.map((d, i) => {
        const dim = create(TensorShapeProto_DimensionSchema);
        if (typeof d === "number") dim.value = { case: "dimValue", value: BigInt(d) };
        else if (typeof d === "string") dim.value = { case: "dimParam", value: d };
        const od = origTensor?.shape?.dim[i];
        if (od?.denotation) dim.denotation = od.denotation;
        return dim;
      }),
    });
  }
  const p = create(TypeProtoSchema, { value: { case: "tensorType", value: tensor } });
  if (orig?.denotation) p.denotation = orig.denotation;
  if (orig) p.$unknown = orig.$unknown;
  return p;
}
