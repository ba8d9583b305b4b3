import { test } from "uvu";
import * as assert from "uvu/assert";
import { ChannelObserver } from "./channel.ts";
import { uniformArray } from "./_testing.ts";

/** Brute-force min, max, max |x| and mean per channel of `data` shaped `dims`, along `axis`. */
function reference(data: Float32Array[], dims: number[], axis: number) {
  const c = dims[axis], inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const max = new Array(c).fill(0), sum = new Array(c).fill(0), n = new Array(c).fill(0);
  const lo = new Array(c).fill(Infinity), hi = new Array(c).fill(-Infinity);
  for (const d of data) {
    d.forEach((x, k) => {
      const ch = Math.floor(k / inner) % c;
      max[ch] = Math.max(max[ch], Math.abs(x));
      lo[ch] = Math.min(lo[ch], x);
      hi[ch] = Math.max(hi[ch], x);
      sum[ch] += x;
      n[ch]++;
    });
  }
  const mean = sum.map((s, i) => s / n[i]);
  const sq = new Array(c).fill(0);
  for (const d of data) d.forEach((x, k) => (sq[Math.floor(k / inner) % c] += (x - mean[Math.floor(k / inner) % c]) ** 2));
  return { max, lo, hi, mean, std: sq.map((s, i) => Math.sqrt(s / n[i])) };
}

const cases: [string, number[], number][] = [
  ["NCHW channels", [2, 3, 4, 5], 1],
  ["last axis (MatMul features)", [1, 6, 8], -1],
  ["first axis", [4, 7], 0],
];
for (const [name, dims, axis] of cases) {
  test(`per-channel min, max, max |x| and mean along ${name}`, () => {
    const n = dims.reduce((a, b) => a * b, 1);
    const samples = [uniformArray(n, 1, -3, 2), uniformArray(n, 2, -1, 4)];
    const obs = new ChannelObserver(axis);
    for (const s of samples) obs.observe(s, dims);
    const ref = reference(samples, dims, axis < 0 ? dims.length + axis : axis);
    assert.equal([...obs.maxAbs], ref.max.map((x) => Math.fround(x)));
    assert.equal([...obs.min], ref.lo.map((x) => Math.fround(x)));
    assert.equal([...obs.max], ref.hi.map((x) => Math.fround(x)));
    obs.mean().forEach((m, i) => assert.ok(Math.abs(m - ref.mean[i]) < 1e-9, `${m} vs ${ref.mean[i]}`));
    obs.std().forEach((s, i) => assert.ok(Math.abs(s - ref.std[i]) < 1e-9, `std ${s} vs ${ref.std[i]}`));
  });
}

test("non-finite values are skipped and counted; a changing channel count is refused", () => {
  const obs = new ChannelObserver(1);
  obs.observe(new Float32Array([1, NaN, -3, Infinity]), [1, 2, 2]);
  assert.equal([...obs.maxAbs], [1, 3]);
  assert.equal([...obs.min], [1, -3]);
  assert.equal([...obs.max], [1, -3]);
  assert.equal([...obs.mean()], [1, -3]);
  assert.is(obs.nonFinite, 2);
  assert.throws(() => obs.observe(new Float32Array(3), [1, 3, 1]), /Channel count changed/);
  assert.throws(() => obs.observe(new Float32Array(3), [3]), /axis 1/);
});

test.run();
