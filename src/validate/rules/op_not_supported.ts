/**
 * `op-not-supported`: an op the target has no integer kernel for. On a
 * target with float fallback the op still runs, in float: a warning.
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import { isDefaultDomain } from "../_ops.ts";
import type { Rule } from "../rule.ts";
import { describe } from "./_describe.ts";

/** The key of an op in a profile's `ops`: its type, or `domain.type` outside the ONNX domain. */
export function opKey(n: Node): string {
  return isDefaultDomain(n.domain) ? n.opType : `${n.domain}.${n.opType}`;
}

/** Every data op must be in the profile's op set. */
export const opNotSupported: Rule = {
  id: "op-not-supported",
  severity: "error",
  title: "Op not in the target's integer op set",
  hint: "replace the op by one that {target} runs (`edgeq targets {target}` lists them), or choose a target that runs it",
  check(ctx) {
    const { ops, floatFallback, name } = ctx.profile;
    return ctx.dataNodes.filter((n) => !Object.hasOwn(ops, opKey(n))).map((n) => ({
      node: n.label,
      message: floatFallback
        ? `${describe(n)}: ${opKey(n)} is not in ${name}'s integer op set, so it runs in float`
        : `${describe(n)}: ${name} has no integer kernel for ${opKey(n)}`,
      severity: floatFallback ? "warning" : "error",
    }));
  },
};
