/**
 * Simple pattern matching: chains of ops where each output feeds the next
 * node alone (e.g. Conv → BatchNormalization, Conv → Relu → Conv).
 *
 * @module
 */
import type { Graph } from "./graph.ts";
import type { Node } from "./node.ts";

/** One step of a chain: an op type, a list of alternatives, or a predicate. */
export type Step = string | readonly string[] | ((n: Node) => boolean);

/** Options for {@linkcode matchChain}. */
export interface ChainOptions {
  /**
   * Whether an inner link may have other readers or be a graph output.
   * Default `false`: a fold or fusion must own the value it rewrites.
   */
  allowFanout?: boolean;
}

function accepts(step: Step, n: Node): boolean {
  if (typeof step === "function") return step(n);
  if (typeof step === "string") return n.opType === step && n.domain === "";
  return step.includes(n.opType) && n.domain === "";
}

/**
 * Every chain of nodes matching `steps`, where node k's first output is an
 * input of node k+1. Chains are returned in graph order of their first node.
 *
 * @example
 * ```ts
 * for (const [conv, bn] of matchChain(graph, ["Conv", "BatchNormalization"])) {
 *   // fold bn into conv
 * }
 * ```
 */
export function matchChain(graph: Graph, steps: readonly Step[], opts: ChainOptions = {}): Node[][] {
  const found: Node[][] = [];
  if (steps.length === 0) return found;
  for (const head of graph.nodes) {
    if (!accepts(steps[0], head)) continue;
    const chain = [head];
    let ok = true;
    for (let k = 1; k < steps.length && ok; k++) {
      const prev = chain[k - 1];
      const link = prev.outputs[0];
      const readers = link ? graph.consumers(link) : [];
      if (!opts.allowFanout && (readers.length !== 1 || graph.isOutput(link))) ok = false;
      else {
        const next = readers.find((r) => accepts(steps[k], r));
        if (next) chain.push(next);
        else ok = false;
      }
    }
    if (ok) found.push(chain);
  }
  return found;
}
