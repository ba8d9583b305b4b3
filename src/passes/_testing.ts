/**
 * Test helpers for the passes (not part of the API): a pass context for a
 * target, and how far a rewritten float model's outputs moved.
 *
 * @module
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { type Feeds, runModel } from "../quantize/_testing.ts";
import { constantQuantizer } from "../quantize/_simulate.ts";
import { resolveQuantizeOptions } from "../quantize/options.ts";
import { loadTarget } from "../targets/load.ts";
import type { TargetProfile } from "../targets/types.ts";
import { resolvePassSettings } from "./settings.ts";
import type { PassContext, PassSettings } from "./types.ts";

/** A context as the pipeline makes it for `target` (default cpu-mixed). */
export function contextFor(
  target: string | TargetProfile = "cpu-mixed",
  opts: { perChannel?: boolean; settings?: Partial<PassSettings> } = {},
): PassContext {
  const profile = typeof target === "string" ? loadTarget(target) : target;
  const perChannel = opts.perChannel ?? profile.weights.perChannel;
  const q = resolveQuantizeOptions({
    perChannel,
    activations: profile.activations.dtype,
    symmetricActivations: profile.activations.symmetric,
    powerOfTwoScales: profile.powerOfTwoScales,
  });
  return { profile, settings: resolvePassSettings(opts.settings), perChannel, constants: constantQuantizer(q) };
}

/**
 * Largest |before − after| over every output and feed, relative to the
 * largest |before| (so 1e-4 means "within 0.01 % of the output's scale"),
 * running both models with optimizations off.
 */
export async function outputDrift(before: Model, after: Model, feeds: readonly Feeds[]): Promise<number> {
  const a = await runModel(before, feeds, "node", undefined, "disabled");
  const b = await runModel(after, feeds, "node", undefined, "disabled");
  let d = 0, m = 0;
  a.forEach((outs, k) => {
    for (const [name, t] of Object.entries(outs)) {
      const x = t.data as Float32Array, y = b[k][name].data as Float32Array;
      if (x.length !== y.length) throw new Error(`output "${name}" changed size: ${x.length} → ${y.length}`);
      for (let i = 0; i < x.length; i++) {
        d = Math.max(d, Math.abs(x[i] - y[i]));
        m = Math.max(m, Math.abs(x[i]));
      }
    }
  });
  return m === 0 ? d : d / m;
}

/** A copy of `model` to compare against after a pass changed the original. */
export const snapshot = cloneModel;

/** Op type → count. */
export function opCounts(model: Model): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of model.graph.nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return c;
}
