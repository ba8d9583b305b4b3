/**
 * A node: one operator application, with attributes as tagged plain data.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import type { Graph } from "./graph.ts";

/** An attribute value, tagged with its ONNX attribute type. */
export type Attribute =
  | { type: "float"; value: number }
  | { type: "int"; value: number }
  | { type: "string"; value: string }
  | { type: "floats"; value: number[] }
  | { type: "ints"; value: number[] }
  | { type: "strings"; value: string[] }
  | { type: "tensor"; value: Tensor }
  | { type: "tensors"; value: Tensor[] }
  | { type: "graph"; value: Graph }
  | { type: "graphs"; value: Graph[] }
  /** Sparse tensors and type protos: carried through, never interpreted. */
  | { type: "opaque"; value: unknown };

/** Fields for {@linkcode Node}'s constructor; only `opType` is required. */
export interface NodeInit {
  opType: string;
  name?: string;
  domain?: string;
  inputs?: string[];
  outputs?: string[];
  attrs?: Iterable<[string, Attribute]> | Record<string, Attribute>;
  docString?: string;
}

/**
 * One operator application. `""` in `inputs` marks an omitted optional input.
 * After changing `inputs`/`outputs` in place, call `graph.invalidate()`, or
 * use the graph's edit helpers, which do it for you.
 *
 * @example
 * ```ts
 * const relu = new Node({ opType: "Relu", name: "r", inputs: ["x"], outputs: ["y"] });
 * relu.attrInt("missing", 7); // 7
 * ```
 */
export class Node {
  name: string;
  opType: string;
  /** `""` is the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, Attribute>;
  docString: string;
  /** What the file had that the IR does not model; writers copy it back. */
  carry: unknown;

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.name = init.name ?? "";
    this.domain = init.domain ?? "";
    this.inputs = init.inputs ? [...init.inputs] : [];
    this.outputs = init.outputs ? [...init.outputs] : [];
    const a = init.attrs;
    this.attrs = new Map(
      a === undefined ? [] : Symbol.iterator in a ? (a as Iterable<[string, Attribute]>) : Object.entries(a),
    );
    this.docString = init.docString ?? "";
    this.carry = undefined;
  }

  /** An int attribute, or `fallback` when absent. */
  attrInt(name: string, fallback: number): number;
  attrInt(name: string): number | undefined;
  attrInt(name: string, fallback?: number): number | undefined {
    const a = this.attrs.get(name);
    return a?.type === "int" ? a.value : fallback;
  }

  /** A float attribute, or `fallback` when absent. */
  attrFloat(name: string, fallback: number): number;
  attrFloat(name: string): number | undefined;
  attrFloat(name: string, fallback?: number): number | undefined {
    const a = this.attrs.get(name);
    return a?.type === "float" ? a.value : a?.type === "int" ? a.value : fallback;
  }

  /** An ints attribute, or `fallback` when absent. */
  attrInts(name: string, fallback: number[]): number[];
  attrInts(name: string): number[] | undefined;
  attrInts(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attrs.get(name);
    return a?.type === "ints" ? a.value : fallback;
  }

  /** A floats attribute, or `fallback` when absent. */
  attrFloats(name: string, fallback: number[]): number[];
  attrFloats(name: string): number[] | undefined;
  attrFloats(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attrs.get(name);
    return a?.type === "floats" ? a.value : fallback;
  }

  /** A string attribute, or `fallback` when absent. */
  attrString(name: string, fallback: string): string;
  attrString(name: string): string | undefined;
  attrString(name: string, fallback?: string): string | undefined {
    const a = this.attrs.get(name);
    return a?.type === "string" ? a.value : fallback;
  }

  /** A tensor attribute, or `undefined`. */
  attrTensor(name: string): Tensor | undefined {
    const a = this.attrs.get(name);
    return a?.type === "tensor" ? a.value : undefined;
  }

  /** `name || opType(outputs[0])`: how messages refer to a node. */
  get label(): string {
    return this.name || `${this.opType}(${this.outputs[0] ?? "?"})`;
  }
}
