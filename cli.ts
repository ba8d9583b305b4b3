#!/usr/bin/env node
/**
 * The `edgeq` command line: cac commands that call mod.ts. Bad input exits 2
 * with one line on stderr; `--json` prints one JSON document on stdout.
 *
 * @module
 */
import { cac } from "cac";
import * as path from "node:path";
import {
  formatInspect,
  InputError,
  inspectModel,
  normalize,
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
