import { test } from "uvu";
import * as assert from "uvu/assert";
import { Histogram } from "./histogram.ts";
import { percentileRange, quantile } from "./percentile.ts";
import { laplace, sortedQuantile, uniformArray } from "./_testing.ts";

/** A histogram of `samples`, filled sample by sample (so it widens on the way). */
function histogram(samples: Float32Array[], symmetric: boolean, bins = 2048): Histogram {
  const h = new Histogram({ symmetric, bins });
  for (const s of samples) h.observe(s);
  return h;
}

const cases: [string, Float32Array[]][] = [
  ["uniform", [uniformArray(20000, 1, -1, 3), uniformArray(20000, 2, -2, 2)]],
  ["laplace with outliers", [laplace(30000, 3), laplace(30000, 4, 1, 0.5).map((x, i) => (i % 997 ? x : x * 30))]],
  ["relu-like", [laplace(40000, 5).map((x) => Math.max(0, x))]],
];

for (const [name, samples] of cases) {
  const all = samples.flatMap((s) => [...s]);
  for (const p of [50, 99, 99.9, 99.999]) {
    test(`symmetric percentile ${p} of ${name} is within one bin of sorting |x|`, () => {
      const h = histogram(samples, true);
      const r = percentileRange(h, p);
      const ref = sortedQuantile(all.map(Math.abs), p / 100);
      assert.ok(Math.abs(r.max - ref) <= h.width, `${r.max} vs ${ref} (bin ${h.width})`);
      assert.is(r.min, -r.max);
    });

    test(`asymmetric percentile ${p} of ${name} cuts half the rest from each tail`, () => {
      const h = histogram(samples, false);
      const r = percentileRange(h, p);
      const tail = (1 - p / 100) / 2;
      const lo = sortedQuantile(all, tail), hi = sortedQuantile(all, 1 - tail);
      assert.ok(Math.abs(r.min - lo) <= h.width && Math.abs(r.max - hi) <= h.width, `${JSON.stringify(r)} vs [${lo}, ${hi}] (bin ${h.width})`);
    });
  }
}

test("percentile 100 reaches the largest value", () => {
  const xs = uniformArray(5000, 9, -4, 6);
  const h = histogram([xs], false);
  const r = percentileRange(h, 100);
  assert.ok(Math.abs(r.max - Math.max(...xs)) <= h.width && Math.abs(r.min - Math.min(...xs)) <= h.width);
});

test("quantile 0 is the lower edge of the first occupied bin", () => {
  const h = histogram([new Float32Array([1, 2, 3, 4])], false, 16);
  assert.ok(quantile(h, 0) <= 1 && quantile(h, 0) > 1 - h.width);
});

test("a percentile outside (0, 100] is refused", () => {
  const h = histogram([uniformArray(10, 1)], true);
  assert.throws(() => percentileRange(h, 0), /percentile/);
  assert.throws(() => percentileRange(h, 100.5), /percentile/);
});

test.run();
