import { test } from "uvu";
import * as assert from "uvu/assert";
import { argmin, entropyRange } from "./entropy.ts";
import { Histogram } from "./histogram.ts";
import { laplace, sortedQuantile, uniform, uniformArray } from "./_testing.ts";

// Laplace(0, 1) with one value in 500 blown up 40×: a bulk and rare outliers.
const outliers = (seed: number, shift = 0) => laplace(50000, seed, 1, shift).map((x, i) => (i % 500 ? x : x * 40));

/** `n` values of N(mean, sd²) (Box–Muller). */
function gaussian(n: number, seed: number, sd = 1, mean = 0): Float32Array {
  const next = uniform(seed);
  return Float32Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

const hardSwish = (x: number) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
const max = (xs: readonly number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);
const min = (xs: readonly number[]) => xs.reduce((a, b) => Math.min(a, b), Infinity);

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

for (const symmetric of [false, true]) {
  test(`ReLU outputs: the spike of exact zeros does not pull the threshold into the bulk (symmetric ${symmetric})`, () => {
    // Half the values are exactly 0; TensorRT's KL spreads them over their
    // group, a cost that shrinks with the range (it clipped at the 97th percentile here).
    const relu = [gaussian(50000, 11).map((x) => Math.max(0, x)), gaussian(50000, 12).map((x) => Math.max(0, x))];
    const all = relu.flatMap((s) => [...s]);
    const r = entropyRange(histogram(relu, symmetric));
    assert.is(r.min, symmetric ? -r.max : 0);
    assert.ok(r.max >= sortedQuantile(all, 0.999) && r.max <= max(all) * 1.01, `max ${r.max}, q99.9 ${sortedQuantile(all, 0.999)}`);
  });
}

test("HardSwish outputs keep their negative lobe and clip only the far tail", () => {
  const hs = [gaussian(50000, 21, 2).map(hardSwish), gaussian(50000, 22, 2).map(hardSwish)];
  const all = hs.flatMap((s) => [...s]);
  const r = entropyRange(histogram(hs, false));
  assert.ok(r.min <= 0.99 * min(all) && r.min >= 1.05 * min(all), `min ${r.min} vs ${min(all)}`);
  assert.ok(r.max >= sortedQuantile(all, 0.999) && r.max < max(all), `max ${r.max}, q99.9 ${sortedQuantile(all, 0.999)}, max ${max(all)}`);
});

test("values away from zero (a LayerNorm's std) are not clipped into one bin", () => {
  // One value at 1.2, the rest in [1.3, 1.75]: the threshold just above 1.2
  // leaves P and a renormalized Q both one spike (KL 0). Few bins make the
  // scan exhaustive, so that candidate is always tried.
  const xs = uniformArray(5000, 7, 1.3, 1.75);
  xs[0] = 1.2;
  for (const [symmetric, bins] of [[false, 384], [true, 256]] as const) {
    const h = new Histogram({ symmetric, bins });
    h.observe(xs);
    const r = entropyRange(h);
    assert.ok(r.max >= 0.95 * 1.75, `symmetric ${symmetric}: ${JSON.stringify(r)}`);
  }
});

test("a value whose minimum grows on every sample keeps the resolution to clip its outliers", () => {
  // Each sample's most negative value is a little larger than the last: a
  // grid that doubled on each widening ended with the data in a few bins.
  const samples = Array.from({ length: 12 }, (_, s) => outliers(50 + s).map((x, i) => (i === 0 ? -(40 + 4 * s) : x / 4)));
  const all = samples.flatMap((s) => [...s]);
  const h = histogram(samples, false);
  const occ = h.occupied()!;
  assert.ok(occ.last - occ.first + 1 >= h.bins / 2, `${occ.last - occ.first + 1} of ${h.bins} bins occupied`);
  const r = entropyRange(h);
  assert.ok(r.min > 0.5 * min(all) && r.max < 0.5 * max(all), `${JSON.stringify(r)} vs [${min(all)}, ${max(all)}]`);
  assert.ok(r.min < sortedQuantile(all, 0.001) && r.max > sortedQuantile(all, 0.999), JSON.stringify(r));
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
