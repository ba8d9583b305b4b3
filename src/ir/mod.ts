/**
 * The graph IR: models, graphs, nodes, tensors, and helpers to edit them.
 *
 * @module
 */
export * from "./dtype.ts";
export * from "./tensor.ts";
export * from "./node.ts";
export { CycleError, type Dim, Graph, NameScope, topologicalOrder, type ValueInfo } from "./graph.ts";
export * from "./model.ts";
export * from "./pattern.ts";
export * from "./clone.ts";
