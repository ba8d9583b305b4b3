/**
 * Small float graphs, one per op family, for the quantizer's tests (not part
 * of the API). Weights are seeded, so every run builds the same model.
 *
 * @module
 */
import { Graph } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { type Attribute, Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { randomInput } from "./_testing.ts";

type Attrs = Record<string, Attribute>;

/** A graph under construction. */
export class Builder {
  readonly g = new Graph("test");
  #seed = 1;

  input(name: string, dims: number[]): string {
    this.g.inputs.push({ name, dtype: "float32", shape: dims });
    return name;
  }

  /** A seeded float32 initializer with values in [-scale, scale). */
  weight(name: string, dims: number[], scale = 1): string {
    const data = randomInput(dims, this.#seed++, -scale, scale).data as Float32Array;
    return this.init(name, dims, data);
  }

  init(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.g.addInitializer(Tensor.fromArray(name, dims, data));
    return name;
  }

  ints(name: string, values: number[]): string {
    return this.init(name, [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  scalar(name: string, value: number): string {
    return this.init(name, [], new Float32Array([value]));
  }

  /** Adds a node named after its op and first output; returns its first output. */
  node(opType: string, inputs: string[], outputs: string | string[], attrs: Attrs = {}): string {
    const outs = typeof outputs === "string" ? [outputs] : outputs;
    this.g.addNode(new Node({ opType, name: `${opType}_${outs[0]}`, inputs, outputs: outs, attrs }));
    return outs[0];
  }

  model(outputs: string[], opset = 13): Model {
    for (const o of outputs) this.g.outputs.push({ name: o, dtype: "float32" });
    return new Model(this.g, { opsets: new Map([["", opset]]), irVersion: 8 });
  }
}

export const ints = (value: number[]): Attribute => ({ type: "ints", value });
export const int = (value: number): Attribute => ({ type: "int", value });
export const float = (value: number): Attribute => ({ type: "float", value });
export const str = (value: string): Attribute => ({ type: "string", value });
