import { test } from "uvu";
import * as assert from "uvu/assert";
import { Histogram } from "./histogram.ts";
import { entropyRange } from "./entropy.ts";
import { mseRange } from "./mse.ts";
import { percentileRange } from "./percentile.ts";
import { laplace, uniformArray } from "./_testing.ts";

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

/** Counts of `values` binned directly on h's final grid. */
function direct(h: Histogram, values: readonly number[]): Float64Array {
  const out = new Float64Array(h.bins);
  for (const v of values) {
    const t = (h.symmetric ? Math.abs(v) : v) / h.width + h.zero;
    out[Math.min(h.bins - 1, Math.max(0, Math.floor(t)))]++;
  }
  return out;
}

for (const symmetric of [false, true]) {
  test(`widening merges bins exactly and keeps every count (symmetric ${symmetric})`, () => {
    const h = new Histogram({ symmetric, bins: 256 });
    const samples = [
      uniformArray(3000, 1, -0.5, 1),
      uniformArray(3000, 2, -3, 2), // widens both sides
      uniformArray(3000, 3, 0, 40), // widens by a large factor
      uniformArray(3000, 4, -1, 1),
      laplace(3000, 5, 2),
    ];
    for (const s of samples) h.observe(s);
    const all = samples.flatMap((s) => [...s]);
    assert.ok(h.widenings >= 2, `widenings ${h.widenings}`);
    assert.is(h.total, all.length);
    assert.is(sum(h.counts), all.length);
    assert.is(h.edge(h.zero), 0);
    assert.ok(h.edge(0) <= Math.min(0, ...all.map((v) => (symmetric ? Math.abs(v) : v))));
    assert.ok(h.edge(h.bins) > Math.max(...all.map((v) => (symmetric ? Math.abs(v) : v))));
    // Merged counts equal direct binning, up to values within rounding of an edge.
    const ref = direct(h, all);
    let moved = 0;
    for (let j = 0; j < h.bins; j++) moved += Math.abs(ref[j] - h.counts[j]);
    assert.ok(moved <= 4, `${moved} values in a different bin than direct binning`);
  });
}

test("zero stays an edge: exact zeros land in the bin that starts at 0", () => {
  const h = new Histogram({ bins: 64 });
  h.observe(new Float32Array([0, 0, 0, -1.3, 2.9]));
  h.observe(new Float32Array([0, 17, -0.2]));
  assert.is(h.edge(h.zero), 0);
  assert.ok(h.counts[h.zero] >= 4);
  assert.is(sum(h.counts), 8);
});

test("zeros seen before the first non-zero value join the zero bin", () => {
  for (const symmetric of [false, true]) {
    const h = new Histogram({ symmetric, bins: 32 });
    h.observe(new Float32Array(10));
    assert.is(h.width, 0);
    assert.is(h.total, 10);
    h.observe(new Float32Array([-4, 0, 2]));
    assert.is(h.counts[h.zero], 11);
    assert.is(sum(h.counts), 13);
  }
});

test("NaN and infinities are counted apart and never binned", () => {
  const h = new Histogram({ bins: 64 });
  h.observe(new Float32Array([NaN, 1, -1, Infinity]));
  h.observe(new Float32Array([-Infinity, 100, NaN, 0.5, 2]));
  assert.is(h.nonFinite, 4);
  assert.is(h.total, 5);
  assert.is(sum(h.counts), 5);
  assert.ok(Number.isFinite(h.width) && h.edge(h.bins) > 100);
});

test("a tiny first range widened by a huge factor stays finite and keeps counts", () => {
  const h = new Histogram({ bins: 128 });
  h.observe(new Float32Array([1e-30, -1e-30, 0]));
  h.observe(new Float32Array([1e3, -5, 3]));
  assert.ok(Number.isFinite(h.width) && h.width > 0);
  assert.is(sum(h.counts), 6);
  assert.is(h.edge(h.zero), 0);
});

const degenerate: [string, Float32Array[]][] = [
  ["nothing observed", []],
  ["empty tensors", [new Float32Array(0)]],
  ["all zeros", [new Float32Array(100)]],
  ["all NaN", [new Float32Array(9).fill(NaN)]],
  ["a positive constant", [new Float32Array(50).fill(3)]],
  ["a negative constant", [new Float32Array(50).fill(-0.25)]],
  ["one value", [new Float32Array([7])]],
];
for (const [name, samples] of degenerate) {
  test(`every method gives a finite range for ${name}`, () => {
    for (const symmetric of [false, true]) {
      const h = new Histogram({ symmetric, bins: 2048 });
      for (const s of samples) h.observe(s);
      for (const r of [percentileRange(h), entropyRange(h), mseRange(h)]) {
        assert.ok(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max, `${symmetric} ${JSON.stringify(r)}`);
      }
    }
  });
}

for (const symmetric of [false, true]) {
  test(`a subsample counts with its weight, its exact extremes once each and widen the grid (symmetric ${symmetric})`, () => {
    const h = new Histogram({ symmetric, bins: 128 });
    const sub = uniformArray(100, 7, -1, 2);
    h.observeSubsample(sub, 9.98, -5, 8); // a tensor of 100 × 9.98 + 2 = 1000 values
    assert.is(h.total, 1000);
    assert.ok(Math.abs(sum(h.counts) - 1000) < 1e-9);
    const far = symmetric ? 8 : -5;
    assert.ok(h.edge(0) <= (symmetric ? 0 : -5) && h.edge(h.bins) > 8);
    // The extremes are counted once each: their bins hold exactly 1.
    const bin = (v: number) => Math.floor((symmetric ? Math.abs(v) : v) / h.width + h.zero);
    assert.is(h.counts[bin(8)], 1);
    assert.is(h.counts[bin(far)], 1);
    h.observeSubsample(uniformArray(100, 8, -1, 2), 1, -20, 3); // widens for the new min (or |min|)
    assert.ok(h.edge(symmetric ? h.bins : 0) * (symmetric ? 1 : -1) >= 20);
    assert.is(h.total, 1000 + 102);
  });
}

test("a subsample of an all-zero tensor waits for the range like zeros do", () => {
  const h = new Histogram({ bins: 16 });
  h.observeSubsample(new Float32Array(10), 5, 0, 0); // 10 × 5 + the two extremes
  assert.is(h.width, 0);
  h.observe(new Float32Array([1]));
  assert.is(h.counts[h.zero], 52);
  assert.is(h.total, 53);
});

test("bins outside 2 … 2^20 are refused", () => {
  assert.throws(() => new Histogram({ bins: 1 }), /bins/);
  assert.throws(() => new Histogram({ bins: 2.5 }), /bins/);
});

test("observeWeighted counts each value by its weight, and the extremes once, as observeSubsample does", () => {
  const weighted = new Histogram({ bins: 64 });
  weighted.observeWeighted(new Float32Array([0.5, 1.5, -1, NaN]), new Float64Array([2, 0, 1, 3]), -1, 3);
  const repeated = new Histogram({ bins: 64 });
  repeated.observeSubsample(new Float32Array([0.5, 0.5, -1]), 1, -1, 3);
  assert.equal([...weighted.counts], [...repeated.counts]);
  assert.is(weighted.total, 5);
  assert.is(weighted.nonFinite, 3);
  // All zeros: pending at 0 with their weights (and the two extremes) until a range opens.
  const zeros = new Histogram({ bins: 8 });
  zeros.observeWeighted(new Float32Array([0, 0]), new Float64Array([2, 3]), 0, 0);
  zeros.observe(new Float32Array([1]));
  assert.is(zeros.counts[zeros.zero], 2 + 5);
});

test.run();
