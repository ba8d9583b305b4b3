/**
 * The graph model: nodes, named values, initializers, producers and
 * consumers, topological order and safe edits. Passes treat it as data.
 *
 * @module
 */
import type { DType } from "./dtype.ts";
import { Node } from "./node.ts";
import type { Tensor } from "./tensor.ts";

/** One dimension: a size, a symbolic name, or unknown (`null`). */
export type Dim = number | string | null;

/** Name, element type and shape of a value. */
export interface ValueInfo {
  name: string;
  dtype?: DType;
  /** `undefined` when the rank is unknown. */
  shape?: Dim[];
  docString?: string;
  /** What the file had that the IR does not model; writers copy it back. */
  carry?: unknown;
}

/**
 * A cycle, reported with the nodes on it.
 *
 * @example
 * ```ts
 * try { topologicalOrder(graph); } catch (e) { if (e instanceof CycleError) console.error(e.message); }
 * ```
 */
export class CycleError extends Error {
  override name = "CycleError";
  constructor(readonly nodes: string[]) {
    super(`graph has a cycle through ${nodes.slice(0, 5).map((n) => `"${n}"`).join(", ")}${nodes.length > 5 ? ", …" : ""}`);
  }
}

/**
 * A computation graph.
 *
 * @example
 * ```ts
 * const g = new Graph("g");
 * g.inputs.push({ name: "x", dtype: "float32", shape: [1, 4] });
 * g.addNode(new Node({ opType: "Relu", inputs: ["x"], outputs: ["y"] }));
 * g.outputs.push({ name: "y", dtype: "float32", shape: [1, 4] });
 * g.producer("y")?.opType; // "Relu"
 * ```
 */
export class Graph {
  name: string;
  docString = "";
  nodes: Node[] = [];
  initializers: Map<string, Tensor> = new Map();
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  /** Known types and shapes of intermediate values, by name. */
  valueInfo: Map<string, ValueInfo> = new Map();
  /** What the file had that the IR does not model; writers copy it back. */
  carry: unknown;

  #producers: Map<string, Node> | undefined;
  #consumers: Map<string, Node[]> | undefined;

  constructor(name = "") {
    this.name = name;
  }

  /** Drops cached producer/consumer indexes; call after editing nodes in place. */
  invalidate(): void {
    this.#producers = undefined;
    this.#consumers = undefined;
  }

  #index(): void {
    const prod = new Map<string, Node>();
    const cons = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const o of n.outputs) if (o) prod.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = cons.get(i);
        if (list) {
          if (list[list.length - 1] !== n) list.push(n);
        } else cons.set(i, [n]);
      }
    }
    this.#producers = prod;
    this.#consumers = cons;
  }

  /** The node that computes `value`, if any (not for inputs/initializers). */
  producer(value: string): Node | undefined {
    if (!this.#producers) this.#index();
    return this.#producers!.get(value);
  }

  /** Nodes that read `value`, each once, in graph order. */
  consumers(value: string): readonly Node[] {
    if (!this.#consumers) this.#index();
    return this.#consumers!.get(value) ?? [];
  }

  /** Whether `value` is read by a graph output. */
  isOutput(value: string): boolean {
    return this.outputs.some((o) => o.name === value);
  }

  /** The initializer named `value`, if it is one. */
  constant(value: string): Tensor | undefined {
    return this.initializers.get(value);
  }

  /** Type and shape of a value from inputs, outputs, value info or initializers. */
  info(value: string): ValueInfo | undefined {
    const t = this.initializers.get(value);
    if (t) return { name: value, dtype: t.dtype, shape: [...t.dims] };
    return this.valueInfo.get(value) ?? this.inputs.find((v) => v.name === value) ??
      this.outputs.find((v) => v.name === value);
  }

  /** Adds an initializer (replacing one of the same name). */
  addInitializer(t: Tensor): void {
    this.initializers.set(t.name, t);
  }

  /** A name not yet used by any value, initializer or node in this graph. */
  uniqueName(base: string): string {
    return this.nameScope().unique(base);
  }

  /**
   * Unique names for a pass that makes many: the names in use are collected
   * once (a walk over the graph, which `uniqueName` repeats per call). The
   * scope knows those and the names it has handed out, not later edits.
   */
  nameScope(): NameScope {
    return new NameScope(this.#usedNames());
  }

  #usedNames(): Set<string> {
    const s = new Set<string>(this.initializers.keys());
    for (const v of this.inputs) s.add(v.name);
    for (const v of this.outputs) s.add(v.name);
    for (const n of this.nodes) {
      s.add(n.name);
      for (const o of n.outputs) s.add(o);
      for (const i of n.inputs) s.add(i);
    }
    return s;
  }

  /**
   * Inserts a node: after `opts.after`, before `opts.before`, or at the end.
   * Topological order is the caller's to keep; {@linkcode Graph.sort} restores it.
   */
  addNode(node: Node, opts: { before?: Node; after?: Node } = {}): Node {
    const ref = opts.before ?? opts.after;
    const at = ref ? this.nodes.indexOf(ref) : -1;
    if (ref && at < 0) throw new RangeError(`node "${ref.label}" is not in graph "${this.name}"`);
    if (at < 0) this.nodes.push(node);
    else this.nodes.splice(opts.after ? at + 1 : at, 0, node);
    this.invalidate();
    return node;
  }

  /** Removes nodes; their outputs are left without a producer. */
  removeNodes(nodes: Iterable<Node>): void {
    const drop = new Set(nodes);
    this.nodes = this.nodes.filter((n) => !drop.has(n));
    this.invalidate();
  }

  /** Replaces `node` by `replacement` nodes at the same position. */
  replaceNode(node: Node, replacement: Node[]): void {
    const at = this.nodes.indexOf(node);
    if (at < 0) throw new RangeError(`node "${node.label}" is not in graph "${this.name}"`);
    this.nodes.splice(at, 1, ...replacement);
    this.invalidate();
  }

  /**
   * Makes every reader of `from` (nodes and graph outputs) read `to` instead.
   * Nodes in `except` keep reading `from`.
   */
  replaceUses(from: string, to: string, except: Iterable<Node> = []): void {
    const skip = new Set(except);
    for (const n of this.nodes) {
      if (skip.has(n)) continue;
      for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
    }
    for (const o of this.outputs) if (o.name === from) o.name = to;
    this.invalidate();
  }

  /** Renames a value everywhere: producer, readers, value info, initializer. */
  renameValue(from: string, to: string): void {
    if (from === to) return;
    for (const n of this.nodes) {
      for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
      for (let i = 0; i < n.outputs.length; i++) if (n.outputs[i] === from) n.outputs[i] = to;
    }
    for (const v of [...this.inputs, ...this.outputs]) if (v.name === from) v.name = to;
    const vi = this.valueInfo.get(from);
    if (vi) {
      this.valueInfo.delete(from);
      vi.name = to;
      this.valueInfo.set(to, vi);
    }
    const t = this.initializers.get(from);
    if (t) {
      this.initializers.delete(from);
      t.name = to;
      this.initializers.set(to, t);
    }
    this.invalidate();
  }

  /** Drops initializers and value info no node or output refers to. */
  prune(): void {
    const used = new Set<string>();
    for (const n of this.nodes) for (const i of [...n.inputs, ...subgraphReads(n)]) used.add(i);
    for (const o of this.outputs) used.add(o.name);
    for (const name of [...this.initializers.keys()]) if (!used.has(name)) this.initializers.delete(name);
    const live = new Set(used);
    for (const n of this.nodes) for (const o of n.outputs) live.add(o);
    for (const name of [...this.valueInfo.keys()]) if (!live.has(name)) this.valueInfo.delete(name);
  }

  /**
   * Puts nodes in topological order (stable: keeps the current order where it
   * is already valid). Throws {@linkcode CycleError} on a cycle.
   */
  sort(): void {
    this.nodes = topologicalOrder(this);
    this.invalidate();
  }
}

/**
 * Nodes of `g` in topological order, stable with respect to the current order.
 * Values with no producer (inputs, initializers, outer-scope names) are ready
 * from the start.
 *
 * @example
 * ```ts
 * for (const n of topologicalOrder(model.graph)) console.log(n.opType); // producers before consumers
 * ```
 */
export function topologicalOrder(g: Graph): Node[] {
  const producers = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producers.set(o, i)));
  const pending = new Int32Array(g.nodes.length);
  const readers: number[][] = g.nodes.map(() => []);
  g.nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const v of [...n.inputs, ...subgraphReads(n)]) {
      const p = producers.get(v);
      if (p !== undefined && p !== i) deps.add(p);
      else if (p === i) deps.add(i);
    }
    pending[i] = deps.size;
    for (const d of deps) readers[d].push(i);
  });
  // A min-heap on the original index keeps the order stable.
  const heap: number[] = [];
  const push = (x: number) => {
    heap.push(x);
    for (let c = heap.length - 1; c > 0;) {
      const p = (c - 1) >> 1;
      if (heap[p] <= heap[c]) break;
      [heap[p], heap[c]] = [heap[c], heap[p]];
      c = p;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let p = 0;;) {
        const l = 2 * p + 1, r = l + 1;
        let m = p;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === p) break;
        [heap[p], heap[m]] = [heap[m], heap[p]];
        p = m;
      }
    }
    return top;
  };
  pending.forEach((c, i) => c === 0 && push(i));
  const order: Node[] = [];
  while (heap.length) {
    const i = pop();
    order.push(g.nodes[i]);
    for (const r of readers[i]) if (--pending[r] === 0) push(r);
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.filter((_, i) => pending[i] > 0).map((n) => n.label);
    throw new CycleError(stuck);
  }
  return order;
}

/** A node's subgraphs (If branches, Loop/Scan bodies), in attribute order. */
export function subgraphsOf(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of n.attrs.values()) {
    if (a.type === "graph") out.push(a.value);
    else if (a.type === "graphs") out.push(...a.value);
  }
  return out;
}

/**
 * The names a subgraph defines itself (its inputs, initializers and node
 * outputs): reads of anything else come from the outer scope.
 */
function ownNames(sg: Graph): Set<string> {
  const own = new Set<string>([...sg.initializers.keys(), ...sg.inputs.map((v) => v.name)]);
  for (const sn of sg.nodes) for (const o of sn.outputs) own.add(o);
  return own;
}

/** Outer-scope values a node's subgraphs read (If/Loop/Scan bodies), their outputs included. */
export function subgraphReads(n: Node): string[] {
  const out: string[] = [];
  for (const sg of subgraphsOf(n)) {
    const own = ownNames(sg);
    for (const sn of sg.nodes) for (const i of [...sn.inputs, ...subgraphReads(sn)]) if (i && !own.has(i)) out.push(i);
    for (const o of sg.outputs) if (!own.has(o.name)) out.push(o.name);
  }
  return out;
}

/**
 * Renames outer-scope reads inside `n`'s subgraphs (If/Loop/Scan bodies) by
 * `rename`; names a subgraph defines itself are left alone.
 */
export function renameOuterReads(n: Node, rename: ReadonlyMap<string, string>): void {
  for (const sg of subgraphsOf(n)) {
    const own = ownNames(sg);
    const outer = new Map([...rename].filter(([k]) => !own.has(k)));
    if (!outer.size) continue;
    for (const sn of sg.nodes) {
      for (let i = 0; i < sn.inputs.length; i++) sn.inputs[i] = outer.get(sn.inputs[i]) ?? sn.inputs[i];
      renameOuterReads(sn, outer);
    }
    for (const so of sg.outputs) so.name = outer.get(so.name) ?? so.name;
    sg.invalidate();
  }
}

export { Node };

/**
 * Hands out names unused in a graph ({@linkcode Graph.nameScope}), each once.
 *
 * @example
 * ```ts
 * const names = graph.nameScope(); // graph has a value "x"
 * names.unique("x"); // "x_1"
 * names.unique("x"); // "x_2"
 * ```
 */
export class NameScope {
  readonly #used: Set<string>;

  constructor(used: Set<string>) {
    this.#used = used;
  }

  /** Marks names as used (values of a node added since the scope was made). */
  reserve(...names: string[]): void {
    for (const n of names) this.#used.add(n);
  }

  /** `base` if unused, else `base_1`, `base_2`, …: the first name not used nor handed out before. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }
}
