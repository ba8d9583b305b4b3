import { test } from "uvu";
import * as assert from "uvu/assert";
import { Histogram } from "./histogram.ts";
import { mseRange } from "./mse.ts";
import { laplace, quantMse, sortedQuantile } from "./_testing.ts";

const outliers = (seed: number, shift = 0) => laplace(15000, seed, 1, shift).map((x, i) => (i % 500 ? x : x * 40));

function histogram(samples: Float32Array[], symmetric: boolean): Histogram {
  const h = new Histogram({ symmetric });
  for (const s of samples) h.observe(s);
  return h;
}

/** The least real quantization MSE over `n` thresholds t in (0, max], range [−t, t] or [lo·t/max, t]. */
function bruteForce(xs: number[], n: number, lower: (t: number) => number): number {
  const max = Math.max(...xs.map(Math.abs));
  let best = Infinity;
  for (let k = 1; k <= n; k++) {
    const t = (max * k) / n;
    best = Math.min(best, quantMse(xs, lower(t), t));
  }
  return best;
}

const sets: [string, Float32Array[]][] = [
  ["laplace", [laplace(15000, 1), laplace(15000, 2)]],
  ["laplace with outliers", [outliers(3), outliers(4)]],
];

for (const [name, samples] of sets) {
  const all = samples.flatMap((s) => [...s]);
  test(`symmetric range of ${name}: real MSE within 3% of a brute-force threshold search`, () => {
    const r = mseRange(histogram(samples, true));
    assert.is(r.min, -r.max);
    const ours = quantMse(all, r.min, r.max), best = bruteForce(all, 200, (t) => -t);
    assert.ok(ours <= best * 1.03, `ours ${ours} vs brute force ${best}`);
    assert.ok(r.max > sortedQuantile(all.map(Math.abs), 0.99) && r.max < Math.max(...all.map(Math.abs)), `t ${r.max}`);
  });

  test(`asymmetric range of ${name} beats the min/max range and the symmetric one`, () => {
    const r = mseRange(histogram(samples, false));
    const ours = quantMse(all, r.min, r.max);
    assert.ok(ours < quantMse(all, Math.min(...all), Math.max(...all)), `${ours}`);
    const sym = mseRange(histogram(samples, true));
    assert.ok(ours <= quantMse(all, sym.min, sym.max) * 1.03, `${ours} vs symmetric ${quantMse(all, sym.min, sym.max)}`);
    assert.ok(r.min < 0 && r.max > 0);
  });
}

test("ReLU outputs: the lower end is 0 and the real MSE is near the brute-force best", () => {
  const relu = [outliers(5).map((x) => Math.max(0, x)), laplace(15000, 6).map((x) => Math.max(0, x))];
  const all = relu.flatMap((s) => [...s]);
  const r = mseRange(histogram(relu, false));
  assert.is(r.min, 0);
  const ours = quantMse(all, r.min, r.max), best = bruteForce(all, 200, () => 0);
  assert.ok(ours <= best * 1.05, `ours ${ours} vs brute force ${best}`);
});

test("power-of-two scales: a range the quantizer keeps, as good as the best power of two, better than rounding the plain choice up", () => {
  const data = [laplace(20000, 11, 0.7), laplace(20000, 12, 0.7)];
  const all = data.flatMap((s) => [...s]);
  const h = histogram(data, true);
  const r = mseRange(h, { levels: 255, powerOfTwo: true });
  const k = Math.log2(r.max / 127);
  assert.ok(Number.isInteger(k) && r.min === -r.max, `t ${r.max} = 127 · 2^${k}`);
  const err = (t: number) => quantMse(all, -t, t, 255);
  for (const e of [k - 1, k + 1]) assert.ok(err(r.max) <= err(127 * 2 ** e), `2^${e} is not better`);
  const plain = mseRange(h, { levels: 255 }).max;
  const roundedUp = 127 * 2 ** Math.ceil(Math.log2(plain / 127));
  assert.ok(err(r.max) <= err(roundedUp), `${err(r.max)} vs rounded-up plain ${err(roundedUp)}`);
});

test("levels below 2 are refused", () => {
  assert.throws(() => mseRange(histogram([laplace(10, 1)], true), { levels: 1 }), /levels/);
});

test.run();
