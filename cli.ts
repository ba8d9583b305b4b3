#!/usr/bin/env node
/**
 * The `edgeq` command line: cac commands that call mod.ts. Bad input exits 2
 * with one line on stderr; `--json` prints one JSON document on stdout.
 *
 * @module
 */
import { cac } from "cac";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type CalibMethod,
  compareModels,
  encodeModel,
  formatEvalReport,
  formatInspect,
  InputError,
  inspectModel,
  normalize,
  openDataset,
  parsePreprocessSpec,
  type PreprocessSpec,
  quantizeModel,
  readModel,
  VERSION,
  writeModel,
} from "./mod.ts";

const cli = cac("edgeq");

cli
  .command("inspect <model>", "Opset, ops, parameters, I/O shapes and per-channel weight ranges")
  .option("--json", "Print one JSON document")
  .option("--no-fold", "Show weights as stored, before BatchNormalization folding")
  .example("edgeq inspect model.onnx --json")
  .action(async (file: string, opts: { json?: boolean; fold: boolean }) => {
    const report = inspectModel(readModel(file), { foldBatchNorm: opts.fold });
    if (opts.json) print(JSON.stringify({ model: file, weightsFolded: opts.fold, ...report }, null, 2));
    else print(formatInspect(report, file, opts.fold ? "after BatchNormalization folding" : "as stored"));
  });

cli
  .command("normalize <model>", "Constants → initializers, opset upgrade, BatchNormalization folding, shapes")
  .option("-o, --out <file>", "Output model (required; never the input)")
  .option("--opset <n>", "Minimum opset to upgrade to", { default: 13 })
  .option("--no-shapes", "Skip recording intermediate shapes with ONNX Runtime")
  .option("--json", "Print the report as JSON")
  .action(async (file: string, opts: { out?: string; opset: number; shapes: boolean; json?: boolean }) => {
    if (!opts.out) throw new InputError("Missing option --out: where to write the normalized model");
    if (path.resolve(opts.out) === path.resolve(file)) {
      throw new InputError(`Refusing to overwrite the input "${file}": choose another --out`);
    }
    const opset = Number(opts.opset);
    if (!Number.isInteger(opset) || opset < 1) throw new InputError(`Option --opset must be a positive integer, got "${opts.opset}"`);
    const model = readModel(file);
    const report = await normalize(model, { opset, shapes: opts.shapes });
    writeModel(opts.out, model);
    if (opts.json) print(JSON.stringify({ model: file, out: opts.out, ...report }, null, 2));
    else print(`${file} → ${opts.out}: ${JSON.stringify(report)}`);
  });

const CALIB_METHODS: readonly CalibMethod[] = ["minmax", "percentile", "entropy", "mse"];

interface QuantizeFlags {
  calib?: string;
  out?: string;
  perChannel?: boolean;
  perTensor?: boolean;
  activations?: string;
  symmetricActivations?: boolean;
  calibMethod?: string;
  samples?: string | number;
  preprocess?: string;
  eval?: string;
  json?: boolean;
}

cli
  .command("quantize <model>", "Calibrate on --calib and write a QDQ INT8 model")
  .option("--calib <dir>", "Calibration samples: .npy files (one per sample) or images with preprocess.json")
  .option("-o, --out <file>", "Output model (default: <name>.int8.onnx in the current folder)")
  .option("--per-channel", "Per-output-channel weight scales (default)")
  .option("--per-tensor", "One weight scale per tensor")
  .option("--activations <type>", "Activation type: uint8 (default) or int8")
  .option("--symmetric-activations", "Symmetric activation ranges (zero point 0, or 128 for uint8)")
  .option("--calib-method <method>", "minmax (default), percentile, entropy or mse")
  .option("--samples <n>", "Use the first N calibration samples (default: all)")
  .option("--preprocess <file>", "Preprocessing spec (JSON) for image folders")
  .option("--eval <dir>", "Held-out samples: compare the INT8 model with FP32 on them")
  .option("--json", "Print the report as one JSON document")
  .example("edgeq quantize model.onnx --calib calib/ -o model.int8.onnx --calib-method percentile")
  .action(async (file: string, f: QuantizeFlags) => {
    if (!f.calib) throw new InputError("Missing option --calib: a folder of calibration samples");
    if (f.perChannel && f.perTensor) throw new InputError("Options --per-channel and --per-tensor exclude each other");
    if (f.activations !== undefined && f.activations !== "uint8" && f.activations !== "int8") {
      throw new InputError(`Option --activations must be uint8 or int8, got "${f.activations}"`);
    }
    const method = f.calibMethod ?? "minmax";
    if (!CALIB_METHODS.includes(method as CalibMethod)) {
      throw new InputError(`Option --calib-method must be one of ${CALIB_METHODS.join(", ")}, got "${method}"`);
    }
    const samples = f.samples === undefined ? undefined : Number(f.samples);
    if (samples !== undefined && !(Number.isInteger(samples) && samples > 0)) {
      throw new InputError(`Option --samples must be a positive integer, got "${f.samples}"`);
    }
    const out = f.out ?? `${path.basename(file).replace(/\.onnx$/i, "")}.int8.onnx`;
    if (path.resolve(out) === path.resolve(file)) {
      throw new InputError(`Refusing to overwrite the input "${file}": choose another --out`);
    }
    const preprocess = f.preprocess ? readPreprocess(f.preprocess) : undefined;
    const model = readModel(file);
    const fp32 = encodeModel(model).bytes;
    const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
    // Opening the folders checks every file before any work starts.
    const calib = await openDataset(f.calib, inputs, { samples, preprocess });
    const evalData = f.eval ? await openDataset(f.eval, inputs, { preprocess }) : undefined;
    const progress = progressLine();
    const report = await quantizeModel(model, calib, {
      perChannel: f.perTensor ? false : true,
      activations: f.activations as "uint8" | "int8" | undefined,
      symmetricActivations: f.symmetricActivations,
      calibration: { method: method as CalibMethod, samples },
      onProgress: (step, done, total) => step === "calibrate" && progress(`calibrating ${done}/${total}`),
    });
    progress("");
    writeModel(out, model);
    const evaluation = evalData
      ? await compareModels(fp32, encodeModel(model).bytes, evalData, {
        onProgress: (done, total) => progress(`evaluating ${done}/${total}`),
      })
      : undefined;
    progress("");
    if (f.json) {
      print(JSON.stringify({ model: file, out, ...report, evaluation }, jsonNumbers, 2));
      return;
    }
    const q = report.quantize;
    print(`${file} → ${out}`);
    print(
      `  ${q.quantizeLinear} QuantizeLinear, ${q.dequantizeLinear} DequantizeLinear; ` +
        `${q.options.perChannel ? "per-channel" : "per-tensor"} int8 weights, ${q.options.activations} activations, ` +
        `${method} ranges from ${report.samples} samples`,
    );
    print(`  weights ${mib(q.bytes.before)} → ${mib(q.bytes.after)}; ${q.skipped.length} nodes left float`);
    if (q.bias.saturated) print(`  ${q.bias.saturated} bias values saturated to int32 in ${q.bias.saturatedTensors.length} tensors`);
    print(`  ${Math.round(report.ms.total)} ms (calibration ${Math.round(report.ms.calibrate)} ms)`);
    if (evaluation) print(formatEvalReport(evaluation).replace(/^/gm, "  "));
  });

/** Reads a preprocessing spec file, naming it in errors. */
function readPreprocess(file: string): Partial<PreprocessSpec> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new InputError(`Cannot read preprocessing spec "${file}": no such file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`Cannot use preprocess spec "${file}": not JSON (${(e as Error).message})`);
  }
  return parsePreprocessSpec(json, file);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;

/** JSON cannot hold ±Infinity or NaN: write them as strings. */
function jsonNumbers(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

/** Progress on stderr: one rewritten line on a terminal, sparse lines otherwise. */
function progressLine(): (text: string) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return (text) => {
    if (!text) {
      if (shown && tty) process.stderr.write("\r\x1b[K");
      shown = false;
      return;
    }
    const now = Date.now();
    if (tty) {
      process.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    } else if (now - last > 2000) {
      process.stderr.write(`${text}\n`);
      last = now;
    }
  };
}

cli.help();
cli.version(VERSION);

function print(text: string): void {
  process.stdout.write(text + "\n");
}

async function main(): Promise<void> {
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return;
      if (cli.args.length) throw new InputError(`Unknown command "${cli.args[0]}": see edgeq --help`);
      cli.outputHelp();
      process.exitCode = 2;
      return;
    }
    await cli.runMatchedCommand();
  } catch (e) {
    if (e instanceof InputError || (e instanceof Error && e.name === "CACError")) {
      process.stderr.write(`edgeq: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

await main();
