import { test } from "uvu";
import * as assert from "uvu/assert";
import { ErrorStats } from "./error_stats.ts";
import { argmax, cosineSimilarity, maxAbsDiff, sqnrDb, top1Agreement } from "./metrics.ts";
import { floats } from "./_testing.ts";

const f = (xs: number[]) => new Float32Array(xs);
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

test("SQNR of a known noise: ±1 signal with a 0.01 offset is 40 dB", () => {
  const n = 1000;
  const ref = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1));
  const test = ref.map((v) => v + 0.01);
  // Σref² = n, Σe² = n·e² with e the float32 offset actually stored.
  const e = Math.fround(1 + 0.01) - 1;
  const eNeg = Math.fround(-1 + 0.01) + 1;
  const expected = 10 * Math.log10(n / ((n / 2) * e * e + (n / 2) * eNeg * eNeg));
  close(sqnrDb(ref, test), expected, 1e-9, "SQNR");
  close(expected, 40, 1e-3, "close to 40 dB");
});

test("SQNR edge cases: identical is +inf, both zero is +inf, zero signal is -inf", () => {
  const cases: [string, number[], number[], number][] = [
    ["identical", [1, -2, 3], [1, -2, 3], Infinity],
    ["both zero", [0, 0], [0, 0], Infinity],
    ["zero signal, some noise", [0, 0], [0, 1e-3], -Infinity],
    ["[3,4] vs [3,3]", [3, 4], [3, 3], 10 * Math.log10(25)],
  ];
  for (const [name, r, t, want] of cases) {
    const got = sqnrDb(f(r), f(t));
    if (Number.isFinite(want)) close(got, want, 1e-12, name);
    else assert.is(got, want, name);
  }
});

test("cosine similarity matches hand-computed values", () => {
  const cases: [string, number[], number[], number][] = [
    ["45 degrees", [1, 0], [1, 1], Math.SQRT1_2],
    ["orthogonal", [1, 0], [0, 2], 0],
    ["opposite", [1, -2], [-1, 2], -1],
    ["scaled", [1, 2, 3], [2, 4, 6], 1],
    ["both zero", [0, 0], [0, 0], 1],
    ["one zero", [0, 0], [1, 0], 0],
    ["general", [1, 2, 3], [4, 5, 6], 32 / Math.sqrt(14 * 77)],
  ];
  for (const [name, r, t, want] of cases) close(cosineSimilarity(f(r), f(t)), want, 1e-12, name);
});

test("max abs diff, and a NaN difference stays NaN", () => {
  assert.is(maxAbsDiff(f([1, 2]), f([1.5, 1])), 1);
  assert.is(maxAbsDiff(f([1, 2]), f([1, 2])), 0);
  assert.ok(Number.isNaN(maxAbsDiff(f([1, NaN, 2]), f([1, 1, 5]))));
});

test("top-1 agreement per row of the last axis; the first maximum wins ties", () => {
  const cases: [string, number[], number[], number, number][] = [
    ["a tie in test picks index 0", [0.9, 0.1, 0.2, 0.8], [0.6, 0.4, 0.5, 0.5], 2, 0.5],
    ["ties on both sides agree", [0.5, 0.5], [0.5, 0.5], 2, 1],
    ["tie in ref (0) vs a max at 1", [0.5, 0.5], [0.4, 0.5], 2, 0],
    ["a NaN never wins", [NaN, 1, 0, 1], [0, 1, NaN, NaN], 2, 0.5],
    ["[N,T,C] rows of 3: agree, differ, agree, differ", [0, 1, 0, 3, 2, 1, -1, -2, -3, 0, 0, 1], [0, 2, 1, 0, 2, 1, -1, -3, -2, 1, 0, 0], 3, 0.5],
  ];
  for (const [name, r, t, classes, want] of cases) assert.is(top1Agreement(f(r), f(t), classes), want, name);
  assert.throws(() => top1Agreement(f([1, 2, 3]), f([1, 2, 3]), 2), /rows of 2/);
  assert.throws(() => top1Agreement(f([1, 2]), f([1, 2]), 1), /at least 2 classes/);
  assert.throws(() => sqnrDb(f([1, 2]), f([1])), /2 reference elements with 1 test/);
});

test("streaming over chunks equals one shot and a float64 reference", () => {
  const classes = 7;
  const chunks = [3, 1, 10, 4, 2].map((rows, k) => {
    const ref = floats(rows * classes, 10 + k);
    const test = ref.map((v, i) => v + 0.3 * Math.sin(i * 1.7 + k));
    return { ref, test };
  });
  const stream = new ErrorStats();
  for (const c of chunks) stream.add(c.ref, c.test, classes);
  const ref = new Float32Array(chunks.flatMap((c) => [...c.ref]));
  const test = new Float32Array(chunks.flatMap((c) => [...c.test]));
  const once = new ErrorStats().add(ref, test, classes).summary();
  const s = stream.summary();

  let rr = 0, ee = 0, rt = 0, tt = 0, max = 0, agree = 0;
  for (let i = 0; i < ref.length; i++) {
    rr += ref[i] ** 2;
    tt += test[i] ** 2;
    rt += ref[i] * test[i];
    ee += (ref[i] - test[i]) ** 2;
    max = Math.max(max, Math.abs(ref[i] - test[i]));
  }
  for (let row = 0; row < ref.length / classes; row++) {
    const r = [...ref.subarray(row * classes, (row + 1) * classes)];
    const t = [...test.subarray(row * classes, (row + 1) * classes)];
    if (r.indexOf(Math.max(...r)) === t.indexOf(Math.max(...t))) agree++;
  }
  const rows = ref.length / classes;
  close(s.sqnrDb, once.sqnrDb, 1e-9, "stream vs one shot SQNR");
  close(s.cosine, once.cosine, 1e-12, "stream vs one shot cosine");
  close(s.sqnrDb, 10 * Math.log10(rr / ee), 1e-9, "SQNR vs reference");
  close(s.cosine, rt / Math.sqrt(rr * tt), 1e-12, "cosine vs reference");
  assert.is(s.maxAbsDiff, max);
  assert.is(s.maxAbsDiff, once.maxAbsDiff);
  assert.is(s.rows, rows);
  assert.is(s.top1Agreement, agree / rows);
  assert.is(s.top1Agreement, once.top1Agreement);
  assert.ok(s.top1Agreement! < 1 && s.top1Agreement! > 0.5, `noise flips some rows: ${s.top1Agreement}`);
  assert.is(s.elements, ref.length);
});

test("argmax: first maximum within a row, NaN never wins", () => {
  const a = f([5, 1, 3, 3, NaN, 2, 2]);
  const cases: [number, number, number][] = [[0, 7, 0], [1, 3, 1], [4, 3, 1], [5, 2, 0]];
  for (const [off, len, want] of cases) assert.is(argmax(a, off, len), want, `argmax(a, ${off}, ${len})`);
  assert.is(argmax(f([0, 2, 2])), 1);
});

test("no rows compared leaves top-1 agreement undefined", () => {
  const s = new ErrorStats().add(f([1, 2]), f([1, 2])).summary();
  assert.is(s.rows, 0);
  assert.is(s.top1Agreement, undefined);
});

test.run();
