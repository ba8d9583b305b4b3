// The floor of post-training quantization, as a process: load onnxruntime-node and the
// model, read the calibration samples (.npy, float32), run one forward pass each.
// Plain JavaScript, so the process pays no TypeScript loader: what a minimal tool would.
//
//   node bench/floor.mjs MODEL DIR N
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";

const [model, dir, n] = process.argv.slice(2);
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".npy")).sort().slice(0, Number(n));
const session = await ort.InferenceSession.create(model);
const input = session.inputNames[0];
for (const f of files) {
  const buf = fs.readFileSync(path.join(dir, f));
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString("latin1");
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(10 + headerLen);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  await session.run({ [input]: new ort.Tensor("float32", data, shape) });
}
await session.release();
