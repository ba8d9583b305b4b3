/**
 * bundle() and verifyBundle() on the real PaddleOCR classifier, quantized
 * for npu-int8-only from rendered samples: determinism, the manifest, and
 * every kind of tampering verify must catch.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { classifierMetric } from "../eval/ocr.ts";
import type { MetricFactory } from "../eval/types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { bundle } from "./bundle.ts";
import { encodeManifest, type Manifest, MANIFEST_SCHEMA, manifestProblems, sha256Hex } from "./manifest.ts";
import { readTar, writeTar } from "./tar.ts";
import { verifyBundle } from "./verify.ts";
import { schemaErrors } from "../targets/schema.ts";
import { InputError } from "../errors.ts";
import { classifier, dataset, profile } from "./_testing.ts";

/** The bundle with `edit` applied to its entries, re-packed (the manifest left as it was unless `edit` changes it). */
async function edited(edit: (entries: Map<string, Uint8Array>) => void | Promise<void>): Promise<Uint8Array> {
  const entries = await readTar((await classifier()).tar, "cls.tar");
  await edit(entries);
  return await writeTar([...entries].map(([name, data]) => ({ name, data })));
}

/** The manifest changed by `change`, its checksums and digest made to match again, as a careful forger would. */
async function resealed(entries: Map<string, Uint8Array>, change: (m: Manifest) => void = () => {}): Promise<void> {
  const m = JSON.parse(new TextDecoder().decode(entries.get("manifest.json")!)) as Manifest;
  change(m);
  for (const [name, data] of entries) if (name !== "manifest.json") m.entries[name] = { sha256: await sha256Hex(data), size: data.length };
  const { integrity: _, ...rest } = m;
  entries.set("manifest.json", (await encodeManifest(rest)).bytes);
}

const failures = (r: Awaited<ReturnType<typeof verifyBundle>>) => r.checks.filter((c) => !c.ok).map((c) => `${c.check} ${c.entry ?? ""}: ${c.detail}`);

test("bundle: a deterministic tar with model, manifest, golden data and report; the manifest obeys its schema", async () => {
  const { fp32, int8, reference, passes, tar, manifest } = await classifier();
  const again = await bundle({ fp32, model: int8, profile, eval: dataset("eval", 12), metrics: { cls: classifierMetric() as MetricFactory }, golden: 3, reference, passes, title: "cls.onnx" });
  assert.equal(again.bytes, tar, "same inputs, same bytes");
  const entries = await readTar(tar, "cls.tar");
  assert.equal([...entries.keys()], [
    "golden/0/fp32-0.npy", "golden/0/input-0.npy", "golden/0/int8-0.npy",
    "golden/1/fp32-0.npy", "golden/1/input-0.npy", "golden/1/int8-0.npy",
    "golden/2/fp32-0.npy", "golden/2/input-0.npy", "golden/2/int8-0.npy",
    "manifest.json", "model.onnx", "report.html", "report.json",
  ]);
  assert.equal(entries.get("model.onnx"), int8);
  const json = JSON.parse(new TextDecoder().decode(entries.get("manifest.json")!));
  assert.equal(schemaErrors(json, MANIFEST_SCHEMA), []);
  assert.equal(await manifestProblems(json), []);
  assert.is(manifest.target.name, "npu-int8-only");
  assert.equal(manifest.inputs, [{ name: "x", dtype: "float32", shape: [1, 3, 48, 192] }]);
  assert.equal(manifest.outputs, [{ name: "softmax_0.tmp_0", dtype: "float32", shape: [1, 2] }]);
  assert.is(manifest.entries["model.onnx"].sha256, await sha256Hex(int8));
  assert.is(manifest.eval.samples, 12);
  assert.equal(manifest.eval.metrics.map((m) => `${m.metric}.${m.name}`), ["cls.accuracy"]);
  const tol = manifest.tolerances.outputs["softmax_0.tmp_0"];
  assert.equal(manifest.tolerances.derivedFrom, ["node", "web"]);
  // The output comes from an int8 DequantizeLinear: one step of its scale is the floor of the tolerance.
  assert.ok(tol.outputStep > 0 && tol.maxAbsDiff >= tol.outputStep && tol.maxAbsDiff >= 2 * tol.spreadMaxAbsDiff, JSON.stringify(tol));
  assert.ok(tol.minSqnrDb <= tol.quantizationSqnrDb + 10, JSON.stringify(tol));
  assert.not.match(new TextDecoder().decode(entries.get("report.json")!), /"ms"|"timing"/);
});

test("verify passes on node and on web (onnxruntime-web, wasm)", async () => {
  const { tar } = await classifier();
  for (const runtime of ["node", "web"] as const) {
    const r = await verifyBundle(tar, { runtime, source: "cls.tar" });
    assert.equal(failures(r), [], runtime);
    assert.ok(r.ok);
    assert.equal(r.checks.map((c) => c.check), ["manifest", "entries", "target", "golden"]);
    assert.is(r.golden.length, 3);
    assert.ok(r.golden.every((g) => g.maxAbsDiff <= g.tolerance.maxAbsDiff && g.sqnrDb >= g.tolerance.minSqnrDb));
  }
});

test("verify fails naming the entry: a changed model byte, golden byte, manifest field, removed or added entry", async () => {
  const flip = (name: string, at: (n: number) => number) => (e: Map<string, Uint8Array>) => {
    const d = new Uint8Array(e.get(name)!);
    d[at(d.length)] ^= 1;
    e.set(name, d);
  };
  const cases: [string, (e: Map<string, Uint8Array>) => void | Promise<void>, string[]][] = [
    ["model byte", flip("model.onnx", (n) => n >> 1), ["entries model.onnx: sha256 differs from the manifest's: the entry was changed"]],
    ["golden byte", flip("golden/1/int8-0.npy", (n) => n - 1), ["entries golden/1/int8-0.npy: sha256 differs from the manifest's: the entry was changed"]],
    ["manifest field", (e) => {
      const text = new TextDecoder().decode(e.get("manifest.json")!).replace(/"maxAbsDiff": [0-9.e-]+/, '"maxAbsDiff": 1000');
      e.set("manifest.json", new TextEncoder().encode(text));
    }, ["manifest manifest.json: edited after it was written: its content no longer matches integrity.manifestSha256"]],
    ["removed entry", (e) => void e.delete("golden/2/input-0.npy"), ["entries golden/2/input-0.npy: listed in the manifest but missing from the bundle"]],
    ["added entry", (e) => void e.set("golden/9/extra.npy", new Uint8Array(4)), ["entries golden/9/extra.npy: in the bundle but not in the manifest: an added entry"]],
    ["manifest not JSON", (e) => void e.set("manifest.json", new TextEncoder().encode("{ not json")), []],
  ];
  for (const [what, edit, want] of cases) {
    const r = await verifyBundle(await edited(edit), { source: "cls.tar" });
    assert.not.ok(r.ok, what);
    if (want.length) assert.equal(failures(r), want, what);
    else assert.match(failures(r)[0], /^manifest manifest\.json: not valid JSON/, what);
    assert.equal(r.golden, [], `${what}: nothing runs on a tampered bundle`);
  }
});

test("verify re-validates against the embedded target and checks the golden outputs, even when the manifest is resealed", async () => {
  const { fp32 } = await classifier();
  // The FP32 model in place of the INT8 one, checksums and digest updated: the target check catches it.
  const float = await verifyBundle(await edited(async (e) => {
    e.set("model.onnx", fp32);
    await resealed(e);
  }), { source: "cls.tar" });
  assert.not.ok(float.ok);
  const target = float.checks.find((c) => c.check === "target")!;
  assert.not.ok(target.ok);
  assert.match(target.detail, /violations of "npu-int8-only": /);
  // An embedded profile edited into one no target file could be, resealed: refused as a profile.
  const profile = await verifyBundle(await edited(async (e) => {
    await resealed(e, (m) => void ((m.target as unknown as { weights: { dtype: string } }).weights.dtype = "int4"));
  }), { source: "cls.tar" });
  assert.equal(failures(profile), ['target manifest.json: the embedded profile is not a valid profile: weights.dtype must be "int8", got "int4"']);
  // Tolerances tightened below what the runtime reproduces (zero error is within 0, so move the reference).
  const tight = await verifyBundle(await edited(async (e) => {
    await resealed(e, (m) => void (m.tolerances.outputs["softmax_0.tmp_0"].minSqnrDb = 250));
  }), { source: "cls.tar" });
  assert.not.ok(tight.ok);
  assert.equal(failures(tight), [`golden : 3 of 3 outputs out of tolerance on node, first: "softmax_0.tmp_0" of sample eval-0`]);
});

test("verify runs on a plugged-in Runtime; one that computes differently fails", async () => {
  const { tar } = await classifier();
  const node = await getRuntime("node");
  const vendor = (bias: number): Runtime => ({
    name: "vendor",
    async createSession(model, options) {
      const s = await node.createSession(model, options);
      return {
        ...s,
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        inputMetadata: s.inputMetadata,
        outputMetadata: s.outputMetadata,
        release: () => s.release(),
        async run(feeds, fetches) {
          const out = await s.run(feeds, fetches);
          for (const v of Object.values(out)) if (v.dtype === "float32") v.data.forEach((x, i) => (v.data[i] = x + bias));
          return out;
        },
      };
    },
  });
  const same = await verifyBundle(tar, { runtime: vendor(0) });
  assert.ok(same.ok, failures(same).join("; "));
  assert.is(same.runtime, "vendor");
  const off = await verifyBundle(tar, { runtime: vendor(0.05) });
  assert.not.ok(off.ok);
  assert.ok(off.golden.every((g) => !g.ok && Math.abs(g.maxAbsDiff - 0.05) < 1e-6));
});

test("verify: a tar with no manifest is not a bundle (InputError)", async () => {
  const tar = await edited((e) => void e.delete("manifest.json"));
  try {
    await verifyBundle(tar, { source: "x.tar" });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, 'Cannot verify "x.tar": not an edgeq bundle (no manifest.json among its 12 entries)');
  }
});

test.run();
