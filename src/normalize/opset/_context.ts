/**
 * What an opset converter sees: the graph, inferred value types, and helpers
 * to read constants, add initializers and nodes, and fail with one line.
 *
 * @module
 */
import type { DType } from "../../ir/dtype.ts";
import type { Graph, NameScope } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { Tensor } from "../../ir/tensor.ts";
import { InputError } from "../../errors.ts";
import { readConstant, tensorOf } from "./_tensors.ts";
import { inferValueTypes, type SDim, type ValueTypes } from "./_shapes.ts";

/**
 * Converts one node from the version before `step` to the op version whose
 * since_version is `step`. Returns the node to keep converting (the same one,
 * possibly with a new op type), `null` when the node was removed, or nothing
 * for "same node".
 */
export type Adapter = (node: Node, ctx: UpgradeContext, step: number) => Node | null | void;

/** One operator's version history and the converters between versions. */
export interface OpHistory {
  /** since_version of each version of the op, ascending, as the ONNX Changelog lists them. */
  since: readonly number[];
  /**
   * Converters keyed by the since_version they produce. A version without
   * one changed nothing a valid model relies on (new types, new attributes
   * whose defaults keep the old behaviour), so bumping it is enough.
   */
  steps?: Readonly<Record<number, Adapter>>;
}

/** The one-line error for a node the upgrade cannot convert. */
export function upgradeError(target: number, from: number, node: Node, reason: string): InputError {
  return new InputError(
    `Cannot upgrade model to opset ${target}: node "${node.label}" (${node.opType}, opset ${from}) ${reason}`,
  );
}

/** State shared by the converters during one {@linkcode upgradeOpset} run. */
export class UpgradeContext {
  readonly graph: Graph;
  /** Default-domain opset of the model before the upgrade. */
  readonly from: number;
  readonly target: number;
  /** Values whose last reader a converter dropped; removed at the end if nothing reads them. */
  readonly released = new Set<string>();
  readonly #types: ValueTypes;
  readonly #enqueue: (node: Node, version: number) => void;
  // Names in use, collected on the first request: graph.uniqueName walks
  // the whole graph per call, quadratic over a model's converted nodes.
  #names?: NameScope;

  constructor(graph: Graph, from: number, target: number, enqueue: (node: Node, version: number) => void) {
    this.graph = graph;
    this.from = from;
    this.target = target;
    this.#enqueue = enqueue;
    this.#types = inferValueTypes(graph, from, (v) => readConstant(graph, v));
  }

  /** Throws the one-line error that names the node, its op and the model's opset. */
  fail(node: Node, reason: string): never {
    throw upgradeError(this.target, this.from, node, reason);
  }

  /** The constant tensor behind `value` (initializer or Constant node), if it is one. */
  constant(value: string | undefined): Tensor | undefined {
    return value ? readConstant(this.graph, value) : undefined;
  }

  /** The elements of a constant value as numbers, if it is a numeric constant. */
  ints(value: string | undefined): number[] | undefined {
    const t = this.constant(value);
    return t && t.dtype !== "string" ? t.toNumbers() : undefined;
  }

  /** Static shape of `value` (dims may be `null`), or `undefined` when its rank is unknown. */
  shape(value: string): SDim[] | undefined {
    const t = this.constant(value);
    return t ? [...t.dims] : this.#types.shapes.get(value);
  }

  rank(value: string): number | undefined {
    return this.shape(value)?.length;
  }

  dtype(value: string): DType | undefined {
    return this.constant(value)?.dtype ?? this.#types.dtypes.get(value);
  }

  /**
   * A name not used in the graph nor handed out before, like
   * `graph.uniqueName`. Converters name every value and node they add
   * through it.
   */
  uniqueName(base: string): string {
    return (this.#names ??= this.graph.nameScope()).unique(base);
  }

  /** Adds an initializer named after `base` (made unique) and returns its name. */
  addInitializer(base: string, dtype: DType, dims: readonly number[], values: readonly number[]): string {
    const name = this.uniqueName(base);
    this.graph.addInitializer(tensorOf(name, dtype, dims, values));
    return name;
  }

  /** A 1-D int64 initializer, the form axes/starts/pads inputs take. */
  addInts(base: string, values: readonly number[]): string {
    return this.addInitializer(base, "int64", [values.length], values);
  }

  /**
   * Inserts `node`, written in the form of op version `version`, before or
   * after `at`; it is then converted up to the target like any other node.
   */
  insert(node: Node, where: { before: Node } | { after: Node }, version: number): Node {
    this.#names?.reserve(node.name, ...node.inputs, ...node.outputs);
    this.graph.addNode(node, where);
    this.#enqueue(node, version);
    return node;
  }

  /** Sets a node's inputs, dropping trailing omitted (`""`) ones. */
  setInputs(node: Node, inputs: string[]): void {
    const keep = [...inputs];
    while (keep.length && keep[keep.length - 1] === "") keep.pop();
    for (const old of node.inputs) if (old && !keep.includes(old)) this.released.add(old);
    node.inputs = keep;
    this.graph.invalidate();
  }

  /** A base name for values made for `node`. */
  base(node: Node, suffix: string): string {
    return `${node.name || node.outputs[0] || node.opType}_${suffix}`;
  }
}

