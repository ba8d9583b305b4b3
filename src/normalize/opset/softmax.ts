/**
 * Softmax, LogSoftmax and Hardmax before 13 flatten the input to 2-D at
 * `axis` (default 1) and normalise over the whole second part; from 13 they
 * normalise along `axis` alone (default -1). The two agree when every dim
 * after `axis` is 1 or `axis` is the last one, which is what exporters emit;
 * then only the attribute changes. Otherwise the old meaning is spelled out
 * as Flatten → op on the last axis → Reshape to the input's shape, as the ONNX
 * version converter does.
 *
 * @module
 */
import { Node } from "../../ir/node.ts";
import type { Adapter } from "./_context.ts";

export const softmaxAxisSemantics: Adapter = (node, ctx, step) => {
  const axis = node.attrInt("axis", 1);
  const x = node.inputs[0];
  const shape = ctx.shape(x);
  const a = axis < 0 && shape ? axis + shape.length : axis;
  if (axis === -1 || (shape && shape.slice(a + 1).every((d) => d === 1))) {
    node.attrs.set("axis", { type: "int", value: -1 });
    return;
  }
  const y = node.outputs[0];
  const flat = ctx.uniqueName(`${y}_flat`);
  const normed = ctx.uniqueName(`${y}_2d`);
  const shapeOf = ctx.uniqueName(`${y}_shape`);
  const named = (suffix: string) => (node.name ? ctx.uniqueName(`${node.name}_${suffix}`) : "");
  ctx.insert(
    new Node({
      opType: "Flatten",
      name: named("flatten"),
      inputs: [x],
      outputs: [flat],
      attrs: { axis: { type: "int", value: axis } },
    }),
    { before: node },
    step,
  );
  ctx.insert(
    new Node({ opType: "Shape", name: named("shape"), inputs: [x], outputs: [shapeOf] }),
    { before: node },
    step,
  );
  ctx.insert(
    new Node({ opType: "Reshape", name: named("reshape"), inputs: [normed, shapeOf], outputs: [y] }),
    { after: node },
    step,
  );
  node.inputs = [flat];
  node.outputs = [normed];
  node.attrs.set("axis", { type: "int", value: -1 });
  ctx.graph.invalidate();
};
