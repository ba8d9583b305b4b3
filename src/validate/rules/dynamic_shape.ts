/**
 * `dynamic-shape`: a graph input or output, or a recorded intermediate
 * shape, with a symbolic or unknown dimension, on a target that compiles
 * static shapes only. An input of unknown rank counts too.
 *
 * @module
 */
import type { Dim, ValueInfo } from "../../ir/graph.ts";
import type { Finding, Rule } from "../rule.ts";
import { describe } from "./_describe.ts";

const isStatic = (d: Dim) => typeof d === "number" && d >= 0;
const showDims = (s: readonly Dim[]) => `[${s.map((d) => d ?? "?").join(", ")}]`;

/** Every input, output and recorded shape is static, where the profile asks for it. */
export const dynamicShape: Rule = {
  id: "dynamic-shape",
  severity: "error",
  title: "Dynamic shape on a static-shape target",
  hint: "fix the input dims when quantizing (edgeq quantize --target {target} --input-shape NAME=1,3,H,W) or export the model with static shapes",
  applies: (p) => p.staticShapes,
  check(ctx) {
    const g = ctx.graph;
    const out: Finding[] = [];
    const seen = new Set<string>();
    const add = (v: ValueInfo, what: string, unknownRank: boolean) => {
      if (seen.has(v.name) || g.initializers.has(v.name)) return;
      seen.add(v.name);
      if (!v.shape) {
        if (unknownRank) out.push({ value: v.name, message: `${what} "${v.name}" has no recorded shape` });
        return;
      }
      if (v.shape.every(isStatic)) return;
      const p = g.producer(v.name);
      out.push({
        node: p?.label,
        value: v.name,
        message: `${what} "${v.name}"${p ? ` (from ${describe(p)})` : ""} has shape ${showDims(v.shape)}: not static`,
      });
    };
    for (const v of g.inputs) add(v, "Graph input", true);
    for (const v of g.outputs) add(v, "Graph output", false);
    for (const v of g.valueInfo.values()) add(v, "Value", false);
    return out;
  },
};
