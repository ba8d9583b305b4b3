/**
 * The `bias-overflow-guard` pass: where a channel's int32 bias would
 * overflow (bias scale = input scale × weight scale, tiny when folded
 * BatchNorm left near-zero weights), the weight scale of that channel is
 * raised until the bias fits, instead of clamping the bias. It acts inside
 * QDQ insertion (`src/quantize/_weights.ts`), which knows the scales; this
 * entry is what profiles and the pipeline switch.
 *
 * @module
 */
import type { Pass } from "./types.ts";

/** The `bias-overflow-guard` pass (an option of QDQ insertion). */
export const biasOverflowGuard: Pass = {
  name: "bias-overflow-guard",
  stage: "quantize",
  summary: "raises a weight channel's scale until its int32 bias fits, instead of clamping the bias",
  apply: () => {
    throw new Error("internal: the bias-overflow guard runs inside QDQ insertion");
  },
};
