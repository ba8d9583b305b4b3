/**
 * edgeq in a browser: drop an FP32 ONNX model and a folder of images (with
 * its preprocess.json), pick a target, and get the INT8 model, its
 * validation and a verifiable bundle — computed in the page with
 * onnxruntime-web; nothing leaves the machine. Built by build.ts.
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { bundle } from "../../src/bundle/bundle.ts";
import { decodeImage } from "../../src/data/decode_image.ts";
import { preprocessImage } from "../../src/data/preprocess_image.ts";
import { parsePreprocessSpec, type PreprocessSpec, resolvePreprocess } from "../../src/data/preprocess_spec.ts";
import type { Dataset, Sample } from "../../src/data/types.ts";
import { decodeModel } from "../../src/onnx/decode.ts";
import { encodeModel } from "../../src/onnx/encode.ts";
import { makeShapesStatic } from "../../src/normalize/static_shapes.ts";
import { normalize } from "../../src/normalize/mod.ts";
import { quantizeModel } from "../../src/quantize/pipeline.ts";
import { quantizeOptionsFor } from "../../src/quantize/target_options.ts";
import { targetPreflight } from "../../src/quantize/preflight.ts";
import { runtime as web } from "../../src/runtime/web.ts";
import type { TargetProfile } from "../../src/targets/types.ts";
import { validateModel } from "../../src/validate/validate.ts";
import { formatReport } from "../../src/validate/format/mod.ts";

ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (text: string) => ($("log").textContent += `${text}\n`);

/** What the last run made, for the page's links and for tests. */
interface Result {
  ok: boolean;
  error?: string;
  target?: string;
  validation?: string;
  errors?: number;
  model?: Uint8Array;
  bundle?: Uint8Array;
  metrics?: { name: string; fp32: number; int8: number }[];
  sqnrDb?: number;
  agreement?: number;
  ms?: number;
}
const state = globalThis as unknown as { edgeqResult?: Result; edgeqDone?: boolean };

async function targets(): Promise<TargetProfile[]> {
  return await (await fetch("./targets.json")).json();
}

/** Images (png/jpeg) as a dataset, with the folder's preprocess.json; the first `calibShare` of them calibrate, the rest evaluate. */
async function imageSets(files: File[], input: { name: string; shape?: readonly (number | string | null)[] | null }): Promise<{ calib: Dataset; eval: Dataset; spec: Partial<PreprocessSpec> }> {
  const specFile = files.find((f) => f.name === "preprocess.json");
  const spec = specFile ? parsePreprocessSpec(JSON.parse(await specFile.text()), "preprocess.json") : {};
  const labelsFile = files.find((f) => f.name === "labels.json");
  const labels: Record<string, unknown> = labelsFile ? JSON.parse(await labelsFile.text()) : {};
  const images = files.filter((f) => /\.(png|jpe?g)$/i.test(f.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (images.length < 2) throw new Error("Drop at least two images (PNG or JPEG): some calibrate, the rest evaluate");
  const resolved = resolvePreprocess(spec, input);
  const cache = new Map<string, Sample>();
  const load = async (f: File): Promise<Sample> => {
    let s = cache.get(f.name);
    if (!s) {
      s = { [input.name]: preprocessImage(decodeImage(new Uint8Array(await f.arrayBuffer()), f.name), resolved) };
      cache.set(f.name, s);
    }
    return s;
  };
  const cut = Math.max(1, Math.floor(images.length * 0.6));
  const set = (list: File[]): Dataset => ({
    size: list.length,
    inputNames: [input.name],
    get: (i) => load(list[i]),
    id: (i) => list[i].name,
    label: (i) => labels[list[i].name],
  });
  return { calib: set(images.slice(0, cut)), eval: set(images.slice(cut)), spec };
}

async function run(): Promise<void> {
  const t0 = performance.now();
  $("log").textContent = "";
  const result: Result = { ok: false };
  state.edgeqResult = result;
  state.edgeqDone = false;
  try {
    const modelFile = $<HTMLInputElement>("model").files?.[0];
    if (!modelFile) throw new Error("Choose an ONNX model first");
    const files = Array.from($<HTMLInputElement>("images").files ?? []);
    const profile = (await targets()).find((t) => t.name === $<HTMLSelectElement>("target").value)!;
    result.target = profile.name;
    const fp32 = new Uint8Array(await modelFile.arrayBuffer());
    const model = decodeModel(fp32);
    const input = model.graph.inputs.find((v) => !model.graph.initializers.has(v.name))!;
    const sets = await imageSets(files, input);
    log(`${modelFile.name}: ${model.graph.nodes.length} nodes; ${sets.calib.size} calibration and ${sets.eval.size} evaluation images; target ${profile.name}`);
    await normalize(model, { shapes: false });
    if (profile.staticShapes) {
      const dims = [...(await sets.calib.get(0))[input.name].dims];
      await makeShapesStatic(model, { [input.name]: dims }, { runtime: web });
      log(`input "${input.name}" fixed to [${dims.join(",")}] from the images`);
    }
    const settings = quantizeOptionsFor(profile, {});
    const problems = targetPreflight(model, profile, settings.options);
    if (problems.length) throw new Error(`The model cannot meet ${profile.name}: ${problems[0].rule}: ${problems[0].message}`);
    let float: Uint8Array | undefined;
    const report = await quantizeModel(model, sets.calib, {
      ...settings.options,
      profile,
      passes: settings.passes,
      runtime: web,
      onProgress: (step, done, total) => step === "calibrate" && ($("progress").textContent = `calibrating ${done}/${total}`),
      onFloatGraph: (m) => (float = encodeModel(m).bytes),
    });
    for (const p of report.passes) log(`${p.pass}: ${p.summary}`);
    const int8 = encodeModel(model).bytes;
    const validation = validateModel(model, profile, { file: modelFile.name.replace(/\.onnx$/i, ".int8.onnx") });
    result.validation = formatReport(validation, "text");
    result.errors = validation.summary.errors;
    $("validation").textContent = result.validation;
    result.model = int8;
    link("download-model", int8, modelFile.name.replace(/\.onnx$/i, ".int8.onnx"));
    if (validation.summary.errors === 0) {
      $("progress").textContent = "evaluating and bundling";
      const b = await bundle({
        fp32,
        model: int8,
        profile,
        eval: sets.eval,
        runtimes: [web],
        reference: float,
        passes: report.passes.map((p) => ({ pass: p.pass, summary: p.summary, nodes: p.nodes })),
        title: modelFile.name,
        preprocessing: { ...sets.spec },
        quantization: {
          by: "edgeq",
          options: { ...report.quantize.options } as Record<string, unknown>,
          calibration: { ...report.calibration } as Record<string, unknown>,
          samples: report.samples,
          passes: report.passes.map((p) => ({ pass: p.pass, params: p.params, summary: p.summary })),
        },
      });
      result.bundle = b.bytes;
      result.sqnrDb = b.manifest.eval.outputs[0]?.sqnrDb;
      result.agreement = b.manifest.eval.outputs[0]?.top1Agreement;
      result.metrics = b.manifest.eval.metrics.map((m) => ({ name: `${m.metric}.${m.name}`, fp32: m.fp32, int8: m.int8 }));
      link("download-bundle", b.bytes, modelFile.name.replace(/\.onnx$/i, ".bundle.tar"));
      log(`eval on ${b.manifest.eval.samples} images: ${b.manifest.eval.outputs.map((o) => `"${o.name}" SQNR ${o.sqnrDb.toFixed(1)} dB`).join(", ")}`);
    }
    result.ok = validation.summary.errors === 0;
  } catch (e) {
    result.error = (e as Error).message;
    log(`error: ${result.error}`);
  } finally {
    result.ms = performance.now() - t0;
    $("progress").textContent = result.ok ? `done in ${(result.ms / 1000).toFixed(1)} s` : "stopped";
    state.edgeqDone = true;
  }
}

function link(id: string, bytes: Uint8Array, name: string): void {
  const a = $<HTMLAnchorElement>(id);
  a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  a.download = name;
  a.textContent = `${name} (${(bytes.length / 2 ** 20).toFixed(2)} MiB)`;
  a.hidden = false;
}

const select = $<HTMLSelectElement>("target");
for (const t of await targets()) select.add(new Option(`${t.name}: ${t.description.split(":")[0]}`, t.name));
$("run").addEventListener("click", () => void run());
$("run").removeAttribute("disabled");
