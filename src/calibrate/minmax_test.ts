import { test } from "uvu";
import * as assert from "uvu/assert";
import { MinMaxObserver } from "./minmax.ts";
import { uniformArray } from "./_testing.ts";

test("running min and max are exact over several samples", () => {
  const mm = new MinMaxObserver();
  const samples = [uniformArray(1001, 1, -2, 3), uniformArray(7, 2, -5, 1), uniformArray(64, 3, 0, 9)];
  for (const s of samples) mm.observe(s);
  const all = samples.flatMap((s) => [...s]);
  assert.equal(mm.range(), { min: Math.min(...all), max: Math.max(...all) });
  assert.is(mm.samples, 3);
  assert.is(mm.nonFinite, 0);
});

test("moving average follows min += c·(sampleMin − min) after the first sample", () => {
  const c = 0.25;
  const mm = new MinMaxObserver(c);
  const extremes = [[-1, 2], [-3, 6], [0, 1], [-2, 10]];
  let min = 0, max = 0;
  extremes.forEach(([lo, hi], i) => {
    mm.observe(new Float32Array([lo, (lo + hi) / 2, hi]));
    if (i === 0) [min, max] = [lo, hi];
    else [min, max] = [min + c * (lo - min), max + c * (hi - max)];
  });
  const r = mm.range();
  assert.ok(Math.abs(r.min - min) < 1e-12 && Math.abs(r.max - max) < 1e-12, JSON.stringify([r, min, max]));
});

test("symmetric range is [-m, m] with m the largest magnitude", () => {
  const mm = new MinMaxObserver();
  mm.observe(new Float32Array([-7, 2, 3]));
  assert.equal(mm.range(true), { min: -7, max: 7 });
});

test("NaN and infinities are skipped and counted, wherever they sit", () => {
  for (const at of [0, 1, 5, 6]) {
    const mm = new MinMaxObserver();
    const data = new Float32Array([1, -2, 3, 0.5, -1, 2, 4]);
    data[at] = NaN;
    data[(at + 3) % 7] = Infinity;
    data[(at + 4) % 7] = -Infinity;
    mm.observe(data);
    const finite = [...data].filter(Number.isFinite);
    assert.equal(mm.range(), { min: Math.min(...finite), max: Math.max(...finite) });
    assert.is(mm.nonFinite, 3);
  }
});

test("degenerate inputs give finite ranges: nothing, empty, all NaN, constant", () => {
  const none = new MinMaxObserver();
  assert.equal(none.range(), { min: 0, max: 0 });
  none.observe(new Float32Array(0));
  none.observe(new Float32Array([NaN, NaN, Infinity]));
  assert.equal(none.range(true), { min: 0, max: 0 });
  assert.is(none.nonFinite, 3);
  const constant = new MinMaxObserver();
  constant.observe(new Float32Array(10).fill(2.5));
  assert.equal(constant.range(), { min: 2.5, max: 2.5 });
});

test("a moving average outside [0, 1] is refused", () => {
  assert.throws(() => new MinMaxObserver(1.5), /moving average/);
  assert.throws(() => new MinMaxObserver(NaN), /moving average/);
});

test.run();
