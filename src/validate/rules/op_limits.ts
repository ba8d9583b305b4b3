/**
 * `op-limits`: per-op limits of the target's kernels (`profile.ops[op]`):
 * kernel size, strides, dilations, grouped and depthwise convolutions,
 * channel counts, broadcasting, rank, `mode` attributes and inputs that must
 * be constants. Limits that need a shape are checked where the shape is
 * known (constants, recorded value info).
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import type { OpLimits } from "../../targets/types.ts";
import type { RuleContext } from "../context.ts";
import type { Finding, Rule } from "../rule.ts";
import { describe } from "./_describe.ts";
import { BROADCAST_ORDER, broadcastNeeded, BROADCASTING, channelsOf, kernelOf } from "./_geometry.ts";
import { opKey } from "./op_not_supported.ts";

/** Every op stays inside its kernel's limits. */
export const opLimits: Rule = {
  id: "op-limits",
  severity: "error",
  title: "Op outside the limits of the target's kernel",
  hint: "reshape the layer to fit (smaller kernels, allowed strides, fewer channels per op) or choose a target without this limit",
  check(ctx) {
    const out: Finding[] = [];
    for (const n of ctx.dataNodes) {
      const why = limitsExceeded(n, ctx);
      if (why.length) out.push({ node: n.label, message: `${describe(n)}: ${why.join("; ")} (${ctx.profile.name})` });
    }
    return out;
  },
};

/**
 * What of `n` lies beyond the limits the target sets for its op, one phrase
 * each (`kernel 512 exceeds 16×16`); empty when within them or when the
 * target sets none (or lacks the op).
 */
export function limitsExceeded(n: Node, ctx: RuleContext): string[] {
  const limits = Object.hasOwn(ctx.profile.ops, opKey(n)) ? ctx.profile.ops[opKey(n)] : undefined;
  return limits ? exceeded(n, limits, ctx) : [];
}

function exceeded(n: Node, l: OpLimits, ctx: RuleContext): string[] {
  const why: string[] = [];
  const spatial = kernelOf(n, ctx);
  if (l.maxKernel && spatial) {
    const max = (i: number) => l.maxKernel![Math.min(i, l.maxKernel!.length - 1)];
    if (spatial.some((k, i) => k > max(i))) why.push(`kernel ${spatial.join("×")} exceeds ${l.maxKernel.join("×")}`);
  }
  const notIn = (attr: string, allowed: number[] | undefined) => {
    // Absent strides and dilations are 1 along every spatial axis.
    const v = n.attrInts(attr) ?? spatial?.map(() => 1);
    if (allowed && v && v.some((x) => !allowed.includes(x))) why.push(`${attr} ${v.join(",")} not in {${allowed.join(", ")}}`);
  };
  notIn("strides", l.strides);
  notIn("dilations", l.dilations);
  const ch = channelsOf(n, ctx);
  if (ch && ch.group > 1) {
    const depthwise = ch.in === ch.group;
    if (depthwise && l.depthwise === false) why.push(`depthwise (group ${ch.group}) not supported`);
    if (!depthwise && l.grouped === false) why.push(`grouped convolution (group ${ch.group}) not supported`);
  }
  if (ch && l.maxChannels !== undefined && Math.max(ch.in, ch.out) > l.maxChannels) {
    why.push(`${ch.in} input / ${ch.out} output channels exceed ${l.maxChannels}`);
  }
  const shapes = n.inputs.filter(Boolean).map((v) => ctx.constantThroughDq(v)?.dims ?? ctx.shape(v));
  if (l.maxRank !== undefined) {
    const outputs = n.outputs.filter(Boolean).map((v) => ctx.shape(v));
    const rank = Math.max(-1, ...[...shapes, ...outputs].map((s) => s?.length ?? -1));
    if (rank > l.maxRank) why.push(`rank ${rank} exceeds ${l.maxRank}`);
  }
  const mode = n.attrString("mode") ?? DEFAULT_MODE[n.opType];
  if (l.modes && mode !== undefined && !l.modes.includes(mode)) why.push(`mode "${mode}" not in {${l.modes.join(", ")}}`);
  for (const i of l.constantInputs ?? []) {
    const v = n.inputs[i];
    if (v && !ctx.constantThroughDq(v)) why.push(`input ${i} ("${v}") is not a constant`);
  }
  if (l.broadcast && BROADCASTING.has(n.opType) && shapes.length > 1 && shapes.every(isStaticShape)) {
    const need = broadcastNeeded(shapes as number[][]);
    if (BROADCAST_ORDER.indexOf(need) > BROADCAST_ORDER.indexOf(l.broadcast)) {
      why.push(`inputs ${shapes.map((s) => `[${s!.join(",")}]`).join(" and ")} need ${need} broadcasting, allowed: ${l.broadcast}`);
    }
  }
  return why;
}

/** The `mode` an op has when the attribute is absent. */
const DEFAULT_MODE: Readonly<Record<string, string>> = { Resize: "nearest", Upsample: "nearest", Pad: "constant", DepthToSpace: "DCR" };

function isStaticShape(s: readonly unknown[] | undefined): boolean {
  return !!s && s.every((d) => typeof d === "number");
}
