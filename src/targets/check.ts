/**
 * Rules about a whole profile that a JSON Schema cannot state: they relate
 * two fields to each other.
 *
 * @module
 */
import type { PassName, TargetProfile } from "./types.ts";

/**
 * Contradictions in a resolved profile, as one-line messages; empty when
 * it is consistent.
 *
 * @example
 * ```ts
 * profileProblems({ ...profile, opset: { min: 17, max: 13 } }); // ["opset.min (17) is above opset.max (13)"]
 * ```
 */
export function profileProblems(p: TargetProfile): string[] {
  const out: string[] = [];
  if (p.opset.min > p.opset.max) out.push(`opset.min (${p.opset.min}) is above opset.max (${p.opset.max})`);
  for (const [name, rule] of Object.entries(p.passes) as [PassName, { allowed: boolean; default: boolean }][]) {
    if (rule.default && !rule.allowed) out.push(`passes.${name}.default is true but passes.${name}.allowed is false`);
  }
  if (p.passes["float-fallback"].allowed && !p.floatFallback) {
    out.push("passes.float-fallback.allowed is true but floatFallback is false");
  }
  const wide = p.activations.dtype === "int8" ? "int16" : "uint16";
  for (const t of p.activations.alsoAllowed ?? []) {
    if (t !== wide) out.push(`activations.alsoAllowed may hold only ${wide}, the 16-bit sibling of activations.dtype "${p.activations.dtype}", got "${t}"`);
  }
  return out;
}
