/**
 * `activation-dtype`: an activation (or activation-typed constant) in another
 * integer type than the target's (or, for activations, the wider one it also
 * runs: `activations.alsoAllowed`), or asymmetric where the target needs
 * symmetric activations (zero point 0 for int8, 128 for uint8).
 *
 * A target with float fallback is a general runtime (ONNX Runtime on a CPU)
 * that runs either type, its own just faster: there a type mismatch is a
 * warning. An integer-only accelerator has kernels for one type: an error.
 *
 * @module
 */
import type { Finding, Rule } from "../rule.ts";
import { describe, describeTensor } from "./_describe.ts";
import { symmetricZeroPoint, zeroPoints } from "./_quant.ts";

/** Activations have the profile's type and symmetry. */
export const activationDtype: Rule = {
  id: "activation-dtype",
  severity: "error",
  title: "Activation type or zero point the target does not take",
  hint: "quantize with --target {target}, which sets the activation type and symmetry",
  check(ctx) {
    const { activations, floatFallback, name } = ctx.profile;
    const allowed: string[] = [activations.dtype, ...(activations.alsoAllowed ?? [])];
    const out: Finding[] = [];
    for (const t of ctx.quantized) {
      if (t.role !== "activation" && t.role !== "constant") continue;
      const problems: string[] = [];
      // Activation-typed constants stay in the 8-bit type; wider types are for activations.
      const ok = t.role === "activation" ? allowed : [activations.dtype];
      const wrongType = !ok.includes(t.dtype ?? "");
      if (wrongType) problems.push(`is ${t.dtype ?? "of unknown type"}, not ${ok.join(" or ")}`);
      const zp = zeroPoints(t.zeroPoint);
      const want = symmetricZeroPoint(t.dtype);
      const asym = activations.symmetric && !wrongType && zp.some((z) => z !== want);
      if (asym) problems.push(`has zero point ${zp.find((z) => z !== want)}, not ${want} (symmetric)`);
      if (!problems.length) continue;
      const note = wrongType && !asym && floatFallback ? ` (${name} runs it, but its kernels are fastest with ${activations.dtype})` : "";
      out.push({
        node: t.nodes[0].label,
        value: t.value,
        message: `The ${describeTensor(t)} at ${describe(t.nodes[0])} ${problems.join(" and ")}${note}`,
        severity: wrongType && !asym && floatFallback ? "warning" : "error",
      });
    }
    return out;
  },
};
