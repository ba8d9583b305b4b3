import { test } from "uvu";
import * as assert from "uvu/assert";
import { blendRange } from "./blend.ts";
import { Histogram } from "./histogram.ts";
import { mseRange } from "./mse.ts";
import { percentileRange } from "./percentile.ts";

/** Deterministic Laplace-like values with a sparse far tail (every 500th value ×25). */
function tailed(n: number, shift = 0): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32 - 0.5;
    const v = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    return (i % 500 ? v : 25 * v) + shift;
  });
}

test("blendRange: each side the geometric mean of MSE's and the percentile's, between the two", () => {
  for (const [symmetric, shift] of [[false, 0], [false, 3], [true, 0]] as const) {
    const h = new Histogram({ symmetric });
    h.observe(tailed(200_000, shift));
    const m = mseRange(h), p = percentileRange(h, 99.999), b = blendRange(h, 99.999);
    for (const side of ["min", "max"] as const) {
      assert.ok(Math.abs(b[side] - Math.sign(m[side]) * Math.sqrt(m[side] * p[side])) < 1e-9 * Math.abs(p[side]) || (m[side] === 0 && b[side] === 0), `${side}: ${b[side]} vs ${m[side]}, ${p[side]}`);
      const [lo, hi] = [Math.min(m[side], p[side]), Math.max(m[side], p[side])];
      assert.ok(b[side] >= lo - 1e-12 && b[side] <= hi + 1e-12, `${side} between`);
    }
    // MSE clips the far tail harder than the percentile does: the blend sits strictly inside the percentile's range.
    assert.ok(b.max < p.max && b.max > m.max, `max: mse ${m.max} < blend ${b.max} < percentile ${p.max}`);
    if (symmetric) assert.is(b.min, -b.max);
  }
});

test("blendRange: a side with no values stays at 0 (a Relu output's minimum)", () => {
  const h = new Histogram({ symmetric: false });
  h.observe(tailed(50_000).map(Math.abs));
  assert.is(blendRange(h, 99.999).min, 0);
  assert.ok(blendRange(h, 99.999).max > 0);
});

test.run();
