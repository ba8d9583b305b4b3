/**
 * The `fusions` pass: rewrites op sequences the target runs as one op, and
 * folds affine steps by constants into the linear layers next to them, so
 * each becomes one quantized tensor instead of several (see
 * `fusions/*.ts`). Exact up to float rounding. A fusion runs only where the
 * target lists the op it makes and its opset range reaches the op's version;
 * the model's opset is raised to that version when a fusion needs it.
 *
 * @module
 */
import { cloneGraph } from "../ir/clone.ts";
import type { Graph } from "../ir/graph.ts";
import type { Model } from "../ir/model.ts";
import { upgradeOpset } from "../normalize/opset.ts";
import { dropNeutral, foldAffineAfter, foldAffineBefore, foldScaleThroughRelu } from "./fusions/affine.ts";
import { foldCentering } from "./fusions/center.ts";
import { fuseHardSigmoid, fuseHardSwish } from "./fusions/hardswish.ts";
import { fuseLayerNorm } from "./fusions/layernorm.ts";
import type { Pass, PassContext, PassReport } from "./types.ts";

interface Fusion {
  name: string;
  /** The op the fusion makes (the target must list it) and the opset it needs. */
  makes?: { op: string; opset: number };
  run: (graph: Graph, env: FusionEnv) => string[];
}

/** What the target and the model allow a fusion to build besides the op it makes. */
interface FusionEnv {
  /** A Pad with a constant value: the target runs Pad in constant mode, the model's opset is ≥ 11. */
  pad: boolean;
}

// In order: neutral steps first (they hide patterns), the activation and
// normalization patterns before the affine folds (LayerNorm's γ and β belong
// to the fused op when there is one, to the next MatMul otherwise).
const FUSIONS: readonly Fusion[] = [
  { name: "neutral", run: dropNeutral },
  { name: "hardsigmoid", makes: { op: "HardSigmoid", opset: 6 }, run: fuseHardSigmoid },
  { name: "hardswish", makes: { op: "HardSwish", opset: 14 }, run: fuseHardSwish },
  { name: "layernorm", makes: { op: "LayerNormalization", opset: 17 }, run: fuseLayerNorm },
  // A LayerNorm's mean subtraction folds into the layer before (into LayerNormalization's input where one was made).
  { name: "centering", run: foldCentering },
  { name: "affine-after", run: foldAffineAfter },
  { name: "scale-through-relu", run: foldScaleThroughRelu },
  { name: "affine-before", run: (g, env) => foldAffineBefore(g, { pad: env.pad }) },
];

/** The `fusions` pass. */
export const fusions: Pass = {
  name: "fusions",
  stage: "graph",
  summary: "HardSwish, HardSigmoid and LayerNormalization from their decompositions (else a LayerNorm's mean subtraction folded into the layer before); constant scale and shift steps folded into Conv/Gemm/MatMul",
  apply(model: Model, _stats, ctx: PassContext): PassReport {
    const t0 = performance.now();
    const g = model.graph;
    const counts: Record<string, number> = {};
    const nodes: string[] = [];
    const skipped: string[] = [];
    const env = (): FusionEnv => {
      // Listed (as the ops the other fusions make must be), with constant among its modes if it limits them.
      const modes = "Pad" in ctx.profile.ops ? ctx.profile.ops.Pad?.modes ?? ["constant"] : [];
      return { pad: model.opset() >= 11 && modes.includes("constant") };
    };
    const pads = () => g.nodes.filter((n) => n.opType === "Pad").length;
    const padsBefore = pads();
    for (const f of FUSIONS) {
      if (f.makes && !allows(ctx, f.makes, skipped, f.name)) continue;
      if (f.makes && model.opset() < f.makes.opset) {
        // Raise the opset only for a model the fusion changes.
        if (f.run(cloneGraph(g), env()).length === 0) continue;
        upgradeOpset(model, f.makes.opset);
      }
      const made = f.run(g, env());
      counts[f.name] = made.length;
      nodes.push(...made);
    }
    g.prune();
    g.sort();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    // Shifts before padding Convs that became Pads (part of affine-before's count).
    const shiftPads = pads() - padsBefore;
    const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}${k === "affine-before" && shiftPads > 0 ? ` (${shiftPads} shift${shiftPads === 1 ? "" : "s"} as Pad${shiftPads === 1 ? "" : "s"})` : ""}`);
    return {
      pass: "fusions",
      params: { skipped },
      nodes,
      summary: total ? `${total} rewrites (${parts.join(", ")})` : "nothing to fuse",
      details: { counts, shiftPads, opset: model.opset() },
      ms: performance.now() - t0,
    };
  },
};

/** Whether the target runs `op` and reaches its opset; records why not. */
function allows(ctx: PassContext, makes: { op: string; opset: number }, skipped: string[], name: string): boolean {
  const p = ctx.profile;
  if (!(makes.op in p.ops)) skipped.push(`${name}: target "${p.name}" does not list ${makes.op}`);
  else if (p.opset.max < makes.opset) skipped.push(`${name}: ${makes.op} needs opset ${makes.opset}, target "${p.name}" stops at ${p.opset.max}`);
  else return true;
  return false;
}
