import { test } from "uvu";
import * as assert from "uvu/assert";
import { argmin, entropyRange } from "./entropy.ts";
import { Histogram } from "./histogram.ts";
import { laplace, sortedQuantile, uniformArray } from "./_testing.ts";

// Laplace(0, 1) with one value in 500 blown up 40×: a bulk and rare outliers.
const outliers = (seed: number, shift = 0) => laplace(50000, seed, 1, shift).map((x, i) => (i % 500 ? x : x * 40));

function histogram(samples: Float32Array[], symmetric: boolean): Histogram {
  const h = new Histogram({ symmetric });
  for (const s of samples) h.observe(s);
  return h;
}

test("symmetric: the threshold lies above the bulk and below max |x|", () => {
  const samples = [outliers(1), outliers(2)];
  const abs = samples.flatMap((s) => [...s].map(Math.abs));
  const r = entropyRange(histogram(samples, true));
  assert.is(r.min, -r.max);
  assert.ok(r.max > sortedQuantile(abs, 0.99), `${r.max} ≤ bulk ${sortedQuantile(abs, 0.99)}`);
  assert.ok(r.max < 0.5 * Math.max(...abs), `${r.max} vs max ${Math.max(...abs)}`);
});

test("asymmetric: both thresholds lie between the bulk and the extremes", () => {
  const samples = [outliers(3, 0.5), outliers(4, 0.5)];
  const all = samples.flatMap((s) => [...s]);
  const r = entropyRange(histogram(samples, false));
  assert.ok(r.min < sortedQuantile(all, 0.005) && r.min > 0.5 * Math.min(...all), `min ${r.min}`);
  assert.ok(r.max > sortedQuantile(all, 0.995) && r.max < 0.5 * Math.max(...all), `max ${r.max}`);
});

test("one-signed data (ReLU) keep 0 as the lower end and clip the upper tail", () => {
  const relu = [outliers(5).map((x) => Math.max(0, x))];
  const r = entropyRange(histogram(relu, false));
  assert.is(r.min, 0);
  assert.ok(r.max > sortedQuantile(relu[0], 0.99) && r.max < 0.5 * Math.max(...relu[0]), `max ${r.max}`);
});

test("data without outliers keep most of their range", () => {
  const xs = uniformArray(60000, 6, -2, 3);
  const sym = entropyRange(histogram([xs], true)), asym = entropyRange(histogram([xs], false));
  assert.ok(sym.max >= 0.9 * 3 && sym.max <= 3.01, `symmetric ${sym.max}`);
  assert.ok(asym.min <= -0.9 * 2 && asym.max >= 0.9 * 3, `asymmetric ${JSON.stringify(asym)}`);
});

test("fewer occupied bins than levels: nothing is clipped", () => {
  const h = histogram([new Float32Array([0, 1, 2, 3, -1])], false);
  const small = new Histogram({ bins: 64 });
  small.observe(new Float32Array([0, 1, 2, 3, -1]));
  for (const hist of [h, small]) {
    const r = entropyRange(hist);
    assert.ok(r.min <= -1 && r.max >= 3, JSON.stringify(r));
  }
});

test("argmin scans coarse to fine and finds the minimum of a smooth function", () => {
  for (const target of [0, 17, 999, 1500, 2047]) {
    assert.is(argmin((x) => (x - target) ** 2, 0, 2047), target);
  }
  assert.is(argmin(() => 0, 5, 3), 3);
});

test.run();
