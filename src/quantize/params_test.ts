import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  activationParams,
  activationQRange,
  MIN_SCALE,
  powerOfTwoAtLeast,
  roundHalfEven,
  scaleZeroPoint,
  softmaxParams,
  wideType,
  weightQRange,
} from "./params.ts";
import { resolveQuantizeOptions } from "./options.ts";
import { quantizeWeight } from "./quantize_tensor.ts";
import { InputError } from "../errors.ts";

const Params = suite("quantize params");
const f = Math.fround;

Params("roundHalfEven rounds ties to even, like numpy and QuantizeLinear", () => {
  const table: [number, number][] = [
    [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, 0], [-1.5, -2], [-2.5, -2], [2.4, 2], [2.6, 3], [-2.6, -3], [7, 7],
  ];
  for (const [x, want] of table) assert.is(roundHalfEven(x), want, `round(${x})`);
});

Params("integer intervals follow ORT: uint8 [0,255], int8 [-128,127], symmetric int8 [-127,127], weights narrow", () => {
  assert.equal(activationQRange("uint8", false), { qmin: 0, qmax: 255 });
  assert.equal(activationQRange("uint8", true), { qmin: 0, qmax: 255 });
  assert.equal(activationQRange("int8", false), { qmin: -128, qmax: 127 });
  assert.equal(activationQRange("int8", true), { qmin: -127, qmax: 127 });
  assert.equal(activationQRange("uint16", false), { qmin: 0, qmax: 65535 });
  assert.equal(activationQRange("int16", false), { qmin: -32768, qmax: 32767 });
  assert.equal(activationQRange("int16", true), { qmin: -32767, qmax: 32767 });
  assert.equal([wideType("int8"), wideType("uint8")], ["int16", "uint16"]);
  assert.equal(activationParams({ min: -1, max: 3 }, "uint16", false), { scale: f(4 / 65535), zeroPoint: 16384 });
  assert.equal(weightQRange(false), { qmin: -127, qmax: 127 });
  assert.equal(weightQRange(true), { qmin: -64, qmax: 64 });
});

Params("activation scale and zero point: hand-computed table", () => {
  // [range, type, symmetric, scale, zero point]
  const table: [number, number, "uint8" | "int8", boolean, number, number][] = [
    [-1, 3, "uint8", false, f(4 / 255), 64], // zp = round(1 / (4/255)) = round(63.75)
    [0, 6, "uint8", false, f(6 / 255), 0],
    [2, 5, "uint8", false, f(5 / 255), 0], // widened to [0, 5]
    [-5, -2, "uint8", false, f(5 / 255), 255], // widened to [-5, 0]
    [-1, 3, "int8", false, f(4 / 255), -64], // round(-128 + 63.75)
    [-0.5, 0.5, "int8", false, f(1 / 255), 0], // round(-0.5) = 0, not -1
    [-1, 3, "int8", true, f(6 / 254), 0], // [-3, 3] onto [-127, 127]
    [-1, 3, "uint8", true, f(6 / 255), 128], // round(127.5) = 128
  ];
  for (const [min, max, type, sym, scale, zp] of table) {
    assert.equal(activationParams({ min, max }, type, sym), { scale, zeroPoint: zp }, `[${min}, ${max}] ${type} sym=${sym}`);
  }
});

Params("degenerate ranges give scale 1 and the zero point of 0, never 0/inf/NaN", () => {
  for (const type of ["uint8", "int8"] as const) {
    for (const sym of [false, true]) {
      for (const r of [{ min: 0, max: 0 }, { min: 0, max: 1e-35 }, { min: -1e-40, max: 1e-40 }]) {
        const p = activationParams(r, type, sym);
        assert.equal(p, { scale: 1, zeroPoint: 0 }, `${JSON.stringify(r)} ${type} ${sym}`);
      }
    }
  }
  const tiny = scaleZeroPoint({ min: 0, max: MIN_SCALE * 255 * 2 }, { qmin: 0, qmax: 255 }, false);
  assert.ok(tiny.scale > 0 && tiny.scale < 1e-29, "a range just above the threshold keeps its own scale");
});

Params("scales are float32 values, zero points stay inside the interval", () => {
  const p = activationParams({ min: -0.1234567, max: 9.87654321 }, "uint8", false);
  assert.is(p.scale, f(p.scale));
  assert.ok(p.zeroPoint >= 0 && p.zeroPoint <= 255);
});

Params("softmax output parameters are fixed as ORT sets them", () => {
  assert.equal(softmaxParams("uint8", false), { scale: 1 / 256, zeroPoint: 0 });
  assert.equal(softmaxParams("int8", false), { scale: 1 / 256, zeroPoint: -128 });
  assert.equal(softmaxParams("int8", true), { scale: f(1 / 127), zeroPoint: 0 });
  assert.equal(softmaxParams("uint16", false), { scale: 1 / 65536, zeroPoint: 0 });
  assert.equal(softmaxParams("int16", false), { scale: 1 / 65536, zeroPoint: -32768 });
  assert.equal(softmaxParams("int16", true, true), { scale: 1 / 32768, zeroPoint: 0 });
});

Params("options: merged over defaults once, undefined means default, bad type is an InputError", () => {
  const o = resolveQuantizeOptions({ activations: "int8", perChannel: undefined });
  assert.equal(o, {
    perChannel: true,
    activations: "int8",
    symmetricActivations: false,
    reduceRange: false,
    exclude: [],
    powerOfTwoScales: false,
    bias: "int32",
    biasOverflowGuard: true,
  });
  assert.throws(() => resolveQuantizeOptions({ activations: "int4" as "int8" }), (e: Error) => e instanceof InputError && /int4/.test(e.message));
});


Params("powerOfTwoAtLeast: the smallest power of two at or above the scale", () => {
  const table: [number, number][] = [[0.3, 0.5], [0.25, 0.25], [0.2500001, 0.5], [1, 1], [3, 4], [1e-30, 2 ** -99], [6 / 255, 2 ** -5]];
  for (const [s, want] of table) assert.is(powerOfTwoAtLeast(s), want, `${s}`);
});

Params("power-of-two activation scales: rounded up, the range still fits, int8 symmetric keeps zero point 0", () => {
  const ranges = [[-1, 3], [0, 6], [-0.37, 0.2], [-5, -2], [0, 1e-3]];
  for (const [min, max] of ranges) {
    for (const [type, sym] of [["uint8", false], ["int8", false], ["int8", true], ["uint8", true]] as const) {
      const p = activationParams({ min, max }, type, sym, true);
      const plain = activationParams({ min, max }, type, sym);
      assert.is(Math.log2(p.scale) % 1, 0, `${p.scale} is a power of two`);
      assert.ok(p.scale >= plain.scale && p.scale < 2 * plain.scale, `${p.scale} rounds ${plain.scale} up`);
      const q = activationQRange(type, sym);
      assert.ok((q.qmin - p.zeroPoint) * p.scale <= Math.min(min, 0) + p.scale / 2, `[${min}, ${max}] ${type}: min fits`);
      assert.ok((q.qmax - p.zeroPoint) * p.scale >= Math.max(max, 0) - p.scale / 2, `[${min}, ${max}] ${type}: max fits`);
      if (type === "int8" && sym) assert.is(p.zeroPoint, 0);
    }
  }
  assert.equal(softmaxParams("int8", true, true), { scale: 1 / 128, zeroPoint: 0 });
  assert.equal(softmaxParams("uint8", false, true), { scale: 1 / 256, zeroPoint: 0 });
});

Params("power-of-two weight scales: per tensor and per channel, zero channels keep scale 1", () => {
  const w = new Float32Array([0.3, -0.1, 0, 0, 1.27, 0.5]);
  const per = quantizeWeight(w, [3, 2], { axis: 0, q: weightQRange(false), powerOfTwo: true });
  assert.equal([...per.scale], [2 ** -8, 1, 2 ** -6]); // 0.3/127 → 2^-8, 1.27/127 = 0.01 → 2^-6
  assert.equal([...per.values], [77, -26, 0, 0, 81, 32]);
  const one = quantizeWeight(w, [3, 2], { q: weightQRange(false), powerOfTwo: true });
  assert.equal([...one.scale], [2 ** -6]);
});

Params.run();
