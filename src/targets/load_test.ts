// Loading profiles: the built-ins obey schema.json, `extends` merges and
// overrides, and every broken file gives one exact line naming file and field.
import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { tempDir } from "../../tests/fixtures/onnx_models.ts";
import { builtinTargetNames, targetSchema, targetsDir } from "./builtin.ts";
import { listTargets, loadTarget } from "./load.ts";
import { mergePatch } from "./resolve.ts";
import { schemaErrors } from "./schema.ts";

const Load = suite("targets: load, extends, errors");
const BUILTINS = ["asic-per-tensor", "cpu-mixed", "npu-int8-only", "qnn-htp"];

/** Writes `files` (name → JSON value or raw text) into a fresh folder; returns its path. */
function folder(files: Record<string, unknown>): string {
  const dir = tempDir("edgeq-targets-");
  for (const [name, v] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof v === "string" ? v : JSON.stringify(v));
  }
  return dir;
}

function loadError(ref: string): string {
  try {
    loadTarget(ref);
  } catch (e) {
    assert.instance(e, InputError);
    assert.not.match((e as Error).message, /\n/, "one line");
    return (e as Error).message;
  }
  throw new assert.Assertion({ message: `loading "${ref}" should fail`, operator: "throws", expects: "", actual: "" });
}

Load("every built-in file obeys schema.json, resolves to its file name, and is listed", () => {
  assert.equal(builtinTargetNames(), BUILTINS);
  assert.equal(listTargets().map((t) => t.name), BUILTINS);
  // The list reads descriptions without resolving profiles; they are the resolved ones.
  assert.equal(listTargets().map((t) => t.description), BUILTINS.map((n) => loadTarget(n).description));
  for (const name of BUILTINS) {
    const raw = JSON.parse(fs.readFileSync(path.join(targetsDir(), `${name}.json`), "utf8"));
    // A built-in that extends another holds only what differs; the others are complete.
    if (!raw.extends) assert.equal(schemaErrors(raw, targetSchema()), [], name);
    const p = loadTarget(name);
    assert.is(p.name, name);
    assert.ok(p.description.length > 40, `${name} describes its hardware`);
    assert.equal(Object.keys(p), [
      "name", "description", "weights", "activations", "bias", "powerOfTwoScales", "floatFallback", "ops", "opset",
      "staticShapes", "passes",
    ]);
    assert.ok(Object.keys(p.ops).includes("Conv"), `${name} runs Conv`);
  }
});

Load("built-ins state what the docs say: npu int8 per-channel no fallback, cpu uint8 with fallback, asic per-tensor power-of-two", () => {
  const npu = loadTarget("npu-int8-only"), cpu = loadTarget("cpu-mixed"), asic = loadTarget("asic-per-tensor");
  assert.equal([npu.activations, npu.weights.perChannel, npu.floatFallback, npu.staticShapes], [{ dtype: "int8", symmetric: false }, true, false, true]);
  assert.equal([cpu.activations, cpu.weights.perChannel, cpu.floatFallback, cpu.staticShapes], [{ dtype: "uint8", symmetric: false }, true, true, false]);
  assert.equal([asic.activations, asic.weights.perChannel, asic.powerOfTwoScales, asic.floatFallback], [{ dtype: "int8", symmetric: true }, false, true, false]);
  assert.equal(asic.passes["cross-layer-equalization"], { allowed: true, default: true });
  assert.equal(asic.passes.smoothquant, { allowed: true, default: false });
  for (const p of [npu, cpu, asic]) assert.equal(p.passes.fusions, { allowed: true, default: true });
  for (const p of [npu, cpu]) assert.equal(p.passes["cross-layer-equalization"], { allowed: true, default: true });
  for (const p of [npu, asic]) assert.is(p.passes["float-fallback"].allowed, false);
  const htp = loadTarget("qnn-htp");
  assert.equal([htp.activations, htp.weights, htp.floatFallback, htp.staticShapes], [{ dtype: "uint8", symmetric: false, alsoAllowed: ["uint16"] }, npu.weights, false, true]);
  assert.equal([htp.ops.LayerNormalization, Object.keys(htp.ops).length], [{}, Object.keys(npu.ops).length + 1], "npu-int8-only's ops and LayerNormalization");
  assert.not.ok("alsoAllowed" in npu.activations);
});

Load("a user profile extends a built-in: objects merge, values and arrays replace, null removes an op", () => {
  const dir = folder({
    "my-npu.json": {
      extends: "npu-int8-only",
      activations: { dtype: "uint8" },
      powerOfTwoScales: true,
      ops: { Conv: { maxKernel: [3, 3] }, Div: null, Erf: {} },
    },
  });
  const p = loadTarget(path.join(dir, "my-npu.json"));
  const base = loadTarget("npu-int8-only");
  assert.is(p.name, "my-npu");
  assert.is(p.description, `Based on npu-int8-only: ${base.description}`);
  assert.equal(p.activations, { dtype: "uint8", symmetric: false });
  assert.is(p.powerOfTwoScales, true);
  assert.equal(p.ops.Conv, { ...base.ops.Conv, maxKernel: [3, 3] });
  assert.not.ok("Div" in p.ops);
  assert.equal(p.ops.Erf, {});
  assert.equal(p.weights, base.weights);
  assert.equal(p.passes, base.passes);
});

Load("extends follows a chain of files relative to each file, and a file's own name and description win", () => {
  const dir = folder({
    "team/base.json": { extends: "cpu-mixed", name: "team-base", description: "Our CPU fleet", staticShapes: true },
    "app/edge.json": { extends: "../team/base.json", bias: "float" },
  });
  const p = loadTarget(path.join(dir, "app/edge.json"));
  assert.is(p.name, "edge");
  assert.is(p.description, "Based on team-base: Our CPU fleet");
  assert.equal([p.staticShapes, p.bias, p.activations.dtype], [true, "float", "uint8"]);
});

Load("a complete profile needs no extends", () => {
  const raw = JSON.parse(fs.readFileSync(path.join(targetsDir(), "cpu-mixed.json"), "utf8"));
  const dir = folder({ "copy.json": { ...raw, name: undefined, description: "A copy" } });
  const p = loadTarget(path.join(dir, "copy.json"));
  assert.equal([p.name, p.description], ["copy", "A copy"]);
});

Load("errors: one exact line naming the file, the field and what was expected", () => {
  const npu = JSON.parse(fs.readFileSync(path.join(targetsDir(), "npu-int8-only.json"), "utf8"));
  const noNarrow = { ...npu, weights: { dtype: "int8", symmetric: true, perChannel: true } };
  const dir = folder({
    "bad.json": "{ \"extends\": \"npu-int8-only\", }",
    "list.json": [],
    "dtype.json": { extends: "npu-int8-only", weights: { dtype: "int4" } },
    "typo.json": { extends: "npu-int8-only", weights: { perChanel: false } },
    "type.json": { extends: "npu-int8-only", staticShapes: "yes" },
    "stride.json": { extends: "npu-int8-only", ops: { Conv: { strides: [0, 1] } } },
    "opname.json": { extends: "npu-int8-only", ops: { conv: {} } },
    "incomplete.json": noNarrow,
    "nope.json": { extends: "nope" },
    "missing.json": { extends: "./gone.json" },
    "a.json": { extends: "./b.json" },
    "b.json": { extends: "a.json" },
    "self.json": { extends: "./self.json" },
    "fallback.json": { extends: "npu-int8-only", passes: { "float-fallback": { allowed: true } } },
    "opset.json": { extends: "cpu-mixed", opset: { min: 17, max: 13 } },
    "default.json": { extends: "cpu-mixed", passes: { smoothquant: { allowed: false, default: true } } },
    "name.json": { extends: "cpu-mixed", name: "My CPU" },
    "badbase.json": { extends: "./dtype.json" },
    "wide.json": { extends: "npu-int8-only", activations: { alsoAllowed: ["uint16"] } },
    "wide8.json": { extends: "npu-int8-only", activations: { alsoAllowed: ["int8"] } },
  });
  const f = (n: string) => path.join(dir, n);
  const table: [string, string][] = [
    [f("bad.json"), `Cannot load target "${f("bad.json")}": not JSON (`],
    [f("list.json"), `Cannot load target "${f("list.json")}": the profile must be an object, got an array`],
    [f("dtype.json"), `Cannot load target "${f("dtype.json")}": weights.dtype must be "int8", got "int4"`],
    [f("typo.json"), `Cannot load target "${f("typo.json")}": unknown field weights.perChanel (expected one of dtype, symmetric, perChannel, narrowRange)`],
    [f("type.json"), `Cannot load target "${f("type.json")}": staticShapes must be a boolean, got "yes"`],
    [f("stride.json"), `Cannot load target "${f("stride.json")}": ops.Conv.strides[0] must be ≥ 1, got 0`],
    [f("opname.json"), `Cannot load target "${f("opname.json")}": ops.conv is not a valid key: must match ^[A-Z][A-Za-z0-9]*$, got "conv"`],
    [f("incomplete.json"), `Cannot load target "${f("incomplete.json")}": missing field weights.narrowRange (a boolean)`],
    [f("nope.json"), `Cannot load target "${f("nope.json")}": extends "nope", which is neither a built-in target (${BUILTINS.join(", ")}) nor a .json path`],
    [f("missing.json"), `Cannot load target "${f("missing.json")}": extends "./gone.json": no such file`],
    [f("a.json"), `Cannot load target "${f("a.json")}": extends cycle ${f("a.json")} → ${f("b.json")} → ${f("a.json")}`],
    [f("self.json"), `Cannot load target "${f("self.json")}": extends cycle ${f("self.json")} → ${f("self.json")}`],
    [f("fallback.json"), `Cannot load target "${f("fallback.json")}": passes.float-fallback.allowed is true but floatFallback is false`],
    [f("opset.json"), `Cannot load target "${f("opset.json")}": opset.min (17) is above opset.max (13)`],
    [f("default.json"), `Cannot load target "${f("default.json")}": passes.smoothquant.default is true but passes.smoothquant.allowed is false`],
    [f("name.json"), `Cannot load target "${f("name.json")}": name must match ^[a-z0-9][a-z0-9._-]*$, got "My CPU"`],
    [f("badbase.json"), `Cannot load target "${f("dtype.json")}": weights.dtype must be "int8", got "int4"`],
    [f("none.json"), `Cannot load target "${f("none.json")}": no such file`],
    [f("wide.json"), `Cannot load target "${f("wide.json")}": activations.alsoAllowed may hold only int16, the 16-bit sibling of activations.dtype "int8", got "uint16"`],
    [f("wide8.json"), `Cannot load target "${f("wide8.json")}": activations.alsoAllowed[0] must be one of "int16", "uint16", got "int8"`],
    ["nope", `Unknown target "nope": expected a built-in (${BUILTINS.join(", ")}) or a path to a .json file`],
  ];
  for (const [ref, want] of table) {
    const got = loadError(ref);
    if (want.endsWith("(")) assert.ok(got.startsWith(want) && got.endsWith(")"), got);
    else assert.is(got, want);
  }
});

Load("mergePatch: RFC 7396 semantics, inputs unchanged", () => {
  const base = { a: { b: 1, c: [1, 2] }, d: 1 };
  const table: [unknown, unknown][] = [
    [{ a: { b: 2 } }, { a: { b: 2, c: [1, 2] }, d: 1 }],
    [{ a: { c: [3] } }, { a: { b: 1, c: [3] }, d: 1 }],
    [{ a: null }, { d: 1 }],
    [{ e: { f: null, g: 1 } }, { a: { b: 1, c: [1, 2] }, d: 1, e: { g: 1 } }],
    [{ a: 5 }, { a: 5, d: 1 }],
  ];
  for (const [patch, want] of table) assert.equal(mergePatch(base, patch), want, JSON.stringify(patch));
  assert.equal(base, { a: { b: 1, c: [1, 2] }, d: 1 });
});

Load.run();
