/**
 * Tiny models and an in-memory dataset for the eval tests.
 *
 * @module
 */
import type { Dataset, Sample } from "../data/types.ts";
import { Graph } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";

/** Deterministic floats in [-1, 1) (an LCG), the same on every runtime. */
export function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

/** `count` samples of input `x` with the given dims, seeded per sample; labels from `label`. */
export function memoryDataset(
  count: number,
  dims: readonly number[],
  label?: (x: Float32Array) => unknown,
): Dataset & { data: Float32Array[] } {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: count }, (_, i) => floats(n, 1000 + i));
  return {
    size: count,
    inputNames: ["x"],
    data,
    get: (i: number): Promise<Sample> => Promise.resolve({ x: { dtype: "float32", dims, data: data[i] } }),
    id: (i: number) => `sample${i}`,
    label: label ? (i: number) => label(data[i]) : undefined,
  };
}

/** `y = x + c` with `c` broadcast over the last axis (length `c.length`). */
export function addModel(c: Float32Array, dims: readonly number[]): Model {
  const g = new Graph("add");
  g.initializers.set("c", Tensor.fromArray("c", [c.length], c));
  g.nodes = [new Node({ opType: "Add", name: "add", inputs: ["x", "c"], outputs: ["y"] })];
  g.inputs = [{ name: "x", dtype: "float32", shape: [...dims] }];
  g.outputs = [{ name: "y", dtype: "float32", shape: [...dims] }];
  return new Model(g, { opsets: new Map([["", 13]]) });
}

/**
 * A chain x[1,2,6,6] → Conv → Relu → Conv → … (3×3, pads 1, `convs` convs,
 * 4 channels inside), values c1, r1, c2, r2, …; the last conv's output is `y`.
 */
export function convChain(convs: number): Model {
  const g = new Graph("chain");
  g.inputs = [{ name: "x", dtype: "float32", shape: [1, 2, 6, 6] }];
  let x = "x";
  let channels = 2;
  for (let k = 1; k <= convs; k++) {
    const out = k === convs ? 2 : 4;
    const w = `w${k}`;
    g.initializers.set(w, Tensor.fromArray(w, [out, channels, 3, 3], floats(out * channels * 9, k).map((v) => v * 0.5)));
    const c = k === convs ? "y" : `c${k}`;
    g.nodes.push(
      new Node({
        opType: "Conv",
        name: `conv${k}`,
        inputs: [x, w],
        outputs: [c],
        attrs: { kernel_shape: { type: "ints", value: [3, 3] }, pads: { type: "ints", value: [1, 1, 1, 1] } },
      }),
    );
    if (k < convs) {
      g.nodes.push(new Node({ opType: "Relu", name: `relu${k}`, inputs: [c], outputs: [`r${k}`] }));
      x = `r${k}`;
    }
    channels = out;
  }
  g.outputs = [{ name: "y", dtype: "float32", shape: [1, 2, 6, 6] }];
  return new Model(g, { opsets: new Map([["", 13]]) });
}

/**
 * Puts a QuantizeLinear → DequantizeLinear pair (uint8) on
 * `value`, laid out as src/quantize does: readers then read
 * `value_dequantized`; a graph output keeps its name on the DequantizeLinear
 * and its producer writes `value_QuantizeLinear_Input`.
 */
export function insertQdq(model: Model, value: string, scale: number, zeroPoint = 0): void {
  const g = model.graph;
  const isOutput = g.isOutput(value);
  const src = isOutput ? `${value}_QuantizeLinear_Input` : value;
  const out = isOutput ? value : `${value}_dequantized`;
  if (isOutput) g.producer(value)!.outputs[0] = src;
  for (const r of g.consumers(value)) r.inputs = r.inputs.map((i) => (i === value ? out : i));
  g.initializers.set(`${value}_scale`, Tensor.fromArray(`${value}_scale`, [], new Float32Array([scale])));
  g.initializers.set(`${value}_zero_point`, Tensor.fromArray(`${value}_zero_point`, [], new Uint8Array([zeroPoint])));
  const qdq = (kind: string, input: string, output: string) =>
    new Node({ opType: kind, name: `${value}_${kind}`, inputs: [input, `${value}_scale`, `${value}_zero_point`], outputs: [output] });
  g.nodes.push(qdq("QuantizeLinear", src, `${value}_quantized`), qdq("DequantizeLinear", `${value}_quantized`, out));
  g.sort();
}

/** Replaces float weight `name` by int8 (per tensor, symmetric, 8-bit) + DequantizeLinear. */
export function quantizeWeight(model: Model, name: string): void {
  const g = model.graph;
  const w = g.initializers.get(name)!.toFloat32();
  const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
  g.initializers.set(`${name}_quantized`, Tensor.fromArray(`${name}_quantized`, g.initializers.get(name)!.dims, Int8Array.from(w, (v) => Math.round(v / scale))));
  g.initializers.set(`${name}_scale`, Tensor.fromArray(`${name}_scale`, [], new Float32Array([scale])));
  for (const r of g.consumers(name)) r.inputs = r.inputs.map((i) => (i === name ? `${name}_dequantized` : i));
  g.nodes.unshift(new Node({ opType: "DequantizeLinear", name: `${name}_DequantizeLinear`, inputs: [`${name}_quantized`, `${name}_scale`], outputs: [`${name}_dequantized`] }));
  g.initializers.delete(name);
  g.invalidate();
}

/** Removes Relu `node`: its producer writes the Relu's output, as the quantizer folds it. */
export function foldRelu(model: Model, node: string): void {
  const g = model.graph;
  const relu = g.nodes.find((n) => n.name === node)!;
  g.producer(relu.inputs[0])!.outputs[0] = relu.outputs[0];
  g.removeNodes([relu]);
}
