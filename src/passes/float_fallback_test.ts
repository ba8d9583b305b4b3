// Float fallback: which nodes each way of asking picks, and a name that is
// not in the model is an input error.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import { contextFor } from "./_testing.ts";
import { floatFallback } from "./float_fallback.ts";
import type { ExcludeSpec } from "./types.ts";

const Ff = suite("float fallback");

/** Conv → Relu → depthwise Conv → Conv → MatMul (names: Conv_a, Relu_r, Conv_dw, Conv_b, MatMul_y). */
function model(): Model {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const a = b.node("Conv", ["x", b.weight("w1", [8, 4, 1, 1])], "a", { kernel_shape: ints([1, 1]) });
  const r = b.node("Relu", [a], "r");
  const dw = b.node("Conv", [r, b.weight("w2", [8, 1, 3, 3])], "dw", { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(8) });
  const c = b.node("Conv", [dw, b.weight("w3", [6, 8, 1, 1])], "b", { kernel_shape: ints([1, 1]) });
  return b.model([b.node("MatMul", [c, b.weight("w4", [6, 3])], "y")]);
}

const none: ExcludeSpec = { names: [], opTypes: [], patterns: [], presets: [] };
const noStats = () => {
  throw new Error("float fallback reads no statistics");
};

async function pick(exclude: Partial<ExcludeSpec>): Promise<string[]> {
  const r = await floatFallback.apply(model(), noStats, contextFor("cpu-mixed", { settings: { exclude: { ...none, ...exclude } } }));
  return [...r.nodes].sort();
}

const cases: [string, Partial<ExcludeSpec>, string[]][] = [
  ["by name", { names: ["Conv_b"] }, ["Conv_b"]],
  ["by op type", { opTypes: ["Relu", "MatMul"] }, ["MatMul_y", "Relu_r"]],
  ["by pattern", { patterns: ["^Conv_(a|dw)$"] }, ["Conv_a", "Conv_dw"]],
  ["preset depthwise", { presets: ["depthwise"] }, ["Conv_dw"]],
  ["preset first-last", { presets: ["first-last"] }, ["Conv_a", "MatMul_y"]],
  ["several at once, each node once", { names: ["Conv_a"], presets: ["first-last", "depthwise"] }, ["Conv_a", "Conv_dw", "MatMul_y"]],
];
for (const [what, spec, want] of cases) Ff(`${what}: ${want.join(", ")}`, async () => assert.equal(await pick(spec), want));

Ff("preset sensitive takes the layers the pipeline ranks worst", async () => {
  const ctx = contextFor("cpu-mixed", { settings: { exclude: { ...none, presets: ["sensitive"] }, sensitiveLayers: 2 } });
  ctx.sensitivity = () => Promise.resolve([{ node: "Relu_r", dropDb: 9 }, { node: "Conv_b", dropDb: 5 }, { node: "Conv_a", dropDb: 3 }, { node: "MatMul_y", dropDb: 1 }]);
  const r = await floatFallback.apply(model(), noStats, ctx);
  assert.equal(r.nodes, ["Conv_b", "Conv_a"], "weighted layers only, worst first");
});

Ff("a name the model does not have is refused naming it", async () => {
  try {
    await pick({ names: ["nope"] });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, 'Cannot exclude node "nope": the model has no node of that name');
  }
});

Ff.run();
