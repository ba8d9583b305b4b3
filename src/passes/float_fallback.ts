/**
 * The `float-fallback` pass: keeps nodes in float on targets that allow it
 * (cpu-mixed), chosen by name, op type, a pattern on the name, or a preset:
 *
 * - `depthwise`: every depthwise Conv (its per-channel kernels see few
 *   inputs each, so rounding hurts them most);
 * - `first-last`: the first and the last Conv/Gemm/MatMul (the input's raw
 *   range and the logits, where the seed write-up kept float);
 * - `sensitive`: the Conv/Gemm/MatMul layers that add the most error when the
 *   model is quantized whole (per-layer SQNR drop on calibration samples,
 *   from `layerErrors`), `sensitiveLayers` of them.
 *
 * The pass reports the nodes to keep float in `nodes`; the pipeline adds them
 * to the planner's exclusions.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { isDepthwise, linearOf } from "./_linear.ts";
import type { Pass, PassContext, PassReport } from "./types.ts";

const WEIGHTED = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** The `float-fallback` pass. */
export const floatFallback: Pass = {
  name: "float-fallback",
  stage: "plan",
  summary: "keeps nodes in float by name, op type, name pattern or preset (depthwise, first-last, sensitive)",
  async apply(model: Model, _stats, ctx: PassContext): Promise<PassReport> {
    const t0 = performance.now();
    const g = model.graph;
    const spec = ctx.settings.exclude;
    const keep = new Map<string, string>();
    const add = (name: string, why: string) => keep.has(name) || keep.set(name, why);
    for (const name of spec.names) {
      if (!g.nodes.some((n) => n.name === name)) throw new InputError(`Cannot exclude node "${name}": the model has no node of that name`);
      add(name, "by name");
    }
    const patterns = spec.patterns.map((p) => new RegExp(p));
    for (const n of g.nodes) {
      if (!n.name) continue;
      if (spec.opTypes.includes(n.opType)) add(n.name, `op type ${n.opType}`);
      const re = patterns.find((p) => p.test(n.name));
      if (re) add(n.name, `matches /${re.source}/`);
    }
    const weighted = g.nodes.filter((n) => WEIGHTED.has(n.opType) && n.name && g.constant(n.inputs[1]));
    for (const preset of spec.presets) {
      if (preset === "depthwise") {
        for (const n of weighted) {
          const l = linearOf(g, n);
          if (l && isDepthwise(l)) add(n.name, "preset depthwise");
        }
      } else if (preset === "first-last") {
        if (weighted.length) add(weighted[0].name, "preset first-last");
        if (weighted.length > 1) add(weighted[weighted.length - 1].name, "preset first-last");
      } else if (preset === "sensitive") {
        if (!ctx.sensitivity) throw new Error("internal: the sensitive preset needs per-layer errors");
        const names = new Set(weighted.map((n) => n.name));
        const ranked = (await ctx.sensitivity()).filter((l) => names.has(l.node));
        for (const l of ranked.slice(0, ctx.settings.sensitiveLayers)) add(l.node, `preset sensitive (${l.dropDb.toFixed(1)} dB)`);
      }
    }
    const nodes = [...keep.keys()];
    return {
      pass: "float-fallback",
      params: { ...spec },
      nodes,
      summary: nodes.length ? `${nodes.length} nodes kept float` : "no node kept float",
      details: { reasons: Object.fromEntries(keep) },
      ms: performance.now() - t0,
    };
  },
};
