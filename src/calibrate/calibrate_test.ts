import { test } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { Graph, Model, Node } from "../ir/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { calibrate } from "./calibrate.ts";
import type { CalibMethod } from "./types.ts";
import { laplace, memoryDataset } from "./_testing.ts";

/** x → Relu → r → Mul(x) → y, where x carries rare large outliers. */
function model(): Model {
  const g = new Graph("m");
  g.nodes = [
    new Node({ opType: "Relu", inputs: ["x"], outputs: ["r"] }),
    new Node({ opType: "Mul", inputs: ["r", "x"], outputs: ["y"] }),
  ];
  g.inputs = [{ name: "x", dtype: "float32", shape: [1, 4096] }];
  g.outputs = [{ name: "y", dtype: "float32", shape: [1, 4096] }];
  return new Model(g, { irVersion: 8, opsets: new Map([["", 13]]) });
}

const feeds: TensorValue<"float32">[] = [1, 2, 3].map((seed) => ({
  dtype: "float32",
  dims: [1, 4096],
  data: laplace(4096, seed).map((v, i) => (i % 400 ? v : v * 30)),
}));
const data = memoryDataset("x", feeds);
const xs = feeds.flatMap((f) => [...f.data]);
const maxAbs = Math.max(...xs.map(Math.abs));

for (const method of ["minmax", "percentile", "entropy", "mse", "blend"] as CalibMethod[]) {
  for (const symmetric of [false, true]) {
    test(`${method} (symmetric ${symmetric}) gives a finite range inside the observed one for every value`, async () => {
      const ranges = await calibrate(model(), data, ["x", "r", "y"], { method, symmetric, percentile: 99.9 });
      for (const [v, r] of ranges) {
        assert.ok(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max, `${v} ${JSON.stringify(r)}`);
        if (symmetric) assert.is(r.min, -r.max);
      }
      const x = ranges.get("x")!, relu = ranges.get("r")!;
      assert.ok(x.max <= maxAbs * (1 + 1e-6) && x.min >= -maxAbs * (1 + 1e-6));
      if (method === "minmax") assert.is(x.max, symmetric ? maxAbs : Math.max(...xs));
      // MSE weighs the outliers' clipping error, so it clips less than the others.
      else assert.ok(x.max < (method === "mse" || method === "blend" ? 1 : 0.9) * maxAbs, `${method} should clip x: ${x.max} vs ${maxAbs}`);
      if (!symmetric) assert.is(relu.min, 0);
    });
  }
}

test("options are checked with one-line InputErrors", async () => {
  const bad: [object, RegExp][] = [
    [{ method: "kl" }, /Invalid calibration method "kl"/],
    [{ percentile: 0 }, /Invalid percentile 0/],
    [{ bins: 8 }, /Invalid histogram bins 8/],
    [{ movingAverage: 2 }, /Invalid moving average 2/],
    [{ samples: 0 }, /Invalid number of calibration samples 0/],
    [{ levels: 2 }, /Invalid quantization levels 2/],
    [{ histogramSample: 8 }, /Invalid histogram sample 8/],
    [{ histogramSample: -1 }, /Invalid histogram sample -1/],
  ];
  for (const [opts, message] of bad) {
    try {
      await calibrate(model(), data, ["x"], opts);
      assert.unreachable(`accepted ${JSON.stringify(opts)}`);
    } catch (e) {
      assert.instance(e, InputError);
      assert.match((e as Error).message, message);
    }
  }
});

test("undefined options mean defaults, and samples beyond the dataset are capped", async () => {
  const seen: number[] = [];
  const r = await calibrate(model(), data, ["y"], { method: undefined, samples: 99, onProgress: (_, total) => seen.push(total) });
  assert.equal(seen, [3, 3, 3]);
  assert.ok(r.get("y")!.max > 0);
});

test.run();
