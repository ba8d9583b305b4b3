#!/usr/bin/env node
/**
 * The `edgeq` command line: cac commands that call mod.ts. Bad input exits 2
 * with one line on stderr; `--json` prints one JSON document on stdout.
 *
 * @module
 */
import { cac, type Command } from "cac";
import * as fs from "node:fs";
import * as path from "node:path";
import type {
  CalibMethod,
  Dataset,
  ExcludePreset,
  Model,
  PassName,
  PreprocessSpec,
  SplitModels,
  SplitPlan,
  TargetProfile,
  QuantizeOptions,
  ReportFormat,
  Manifest,
  MetricFactory,
  MixedPrecisionReport,
  Runtime,
  RuntimeName,
} from "./mod.ts";
import { InputError, RuntimeModelError, TargetViolationError } from "./src/errors.ts";
import { VERSION } from "./src/version.ts";
import { listTargets, loadTarget } from "./src/targets/load.ts";
import { EXCLUDE_PRESETS } from "./src/passes/settings.ts";
import { RUNTIME_NAMES } from "./src/runtime/mod.ts";
import { DEFAULT_TAR_LIMITS } from "./src/bundle/limits.ts";

// Start-up: `--version`, `targets` and bare help load only the few modules above; every other
// command loads the library (ONNX I/O, passes, runtimes…) once, before the commands are declared.
const LIGHT = ((a) => a.length === 0 || (a.length === 1 && ["--version", "-v", "--help", "-h"].includes(a[0])) || a[0] === "targets")(process.argv.slice(2));
const {
  compareModels,
  encodeModel,
  formatEvalReport,
  formatInspect,
  formatReport,
  inspectModel,
  makeShapesStatic,
  normalize,
  openDataset,
  sampleShapes,
  parseInputShapes,
  parseInputValues,
  freezeInputs,
  parsePreprocessSpec,
  quantizeModel,
  planSplit,
  cutModel,
  recordShapes,
  getRuntime,
  quantizeOptionsFor,
  readModel,
  REPORT_FORMATS,
  resolvePassSettings,
  resolveQuantizeOptions,
  targetPreflight,
  validateModel,
  writeModel,
  atomicWrite,
  bundle,
  classifierMetric,
  decodeModel,
  detectorMetric,
  formatVerifyReport,
  recognizerMetric,
  verifyBundle,
  readTar,
  renderReport,
  reportEval,
  reportValidation,
  mixedPrecision,
  analyzeSensitivity,
  cloneModel,
} = LIGHT ? ({} as typeof import("./mod.ts")) : await import("./mod.ts");
import { pathToFileURL } from "node:url";

const cli = cac("edgeq");

/** The result of each `--metric` that mixed precision holds within `--max-drop`. */
const METRIC_KEYS: Record<string, string> = { classifier: "accuracy", recognizer: "exactMatch", detector: "boxF1" };

/** Task metrics `--metric` names; each gets the `--dictionary` value. */
const METRICS: Record<string, (dictionary?: string) => MetricFactory> = {
  classifier: () => classifierMetric() as MetricFactory,
  recognizer: (dictionary) => {
    if (!dictionary) throw new InputError("Option --metric recognizer needs --dictionary FILE: the character list the model decodes to");
    let text: string;
    try {
      text = fs.readFileSync(dictionary, "utf8");
    } catch {
      throw new InputError(`Cannot read dictionary "${dictionary}": no such file`);
    }
    return recognizerMetric({ dictionary: text }) as MetricFactory;
  },
  detector: () => detectorMetric() as MetricFactory,
};

cli
  .command("inspect <model>", "Opset, ops, parameters, I/O shapes and per-channel weight ranges")
  .option("--json", "Print one JSON document")
  .option("--no-fold", "Show weights as stored, before BatchNormalization folding")
  .example("edgeq inspect model.onnx")
  .example("edgeq inspect model.onnx --json --no-fold   # weights as stored, before BatchNormalization folding")
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
  .option("--no-fold", "Skip constant folding (nodes computed from constants only, If on a constant condition)")
  .option("--input-value <name=v>", "Freeze an input to a constant, e.g. sr=16000 (repeatable): what depends on it folds away")
  .option("--json", "Print the report as JSON")
  .example("edgeq normalize model.onnx -o model.norm.onnx")
  .example("edgeq normalize silero_vad.onnx --input-value sr=16000 -o vad16k.onnx --json")
  .action(async (file: string, opts: { out?: string; opset: number; shapes: boolean; fold: boolean; inputValue?: string | string[]; json?: boolean }) => {
    if (!opts.out) throw new InputError("Missing option --out: where to write the normalized model");
    if (path.resolve(opts.out) === path.resolve(file)) {
      throw new InputError(`Refusing to overwrite the input "${file}": choose another --out`);
    }
    const opset = Number(opts.opset);
    if (!Number.isInteger(opset) || opset < 1) throw new InputError(`Option --opset must be a positive integer, got "${opts.opset}"`);
    const values = parseInputValues(list(opts.inputValue));
    const model = readModel(file);
    freezeInputs(model, values);
    const report = await normalize(model, { opset, shapes: opts.shapes, foldConstants: opts.fold });
    writeModel(opts.out, model);
    if (opts.json) print(JSON.stringify({ model: file, out: opts.out, ...report }, null, 2));
    else print(`${file} → ${opts.out}: ${JSON.stringify(report)}`);
  });

const CALIB_METHODS: readonly CalibMethod[] = ["minmax", "percentile", "entropy", "mse", "blend"];

cli
  .command("targets [target]", "List the built-in target profiles, or print one resolved (a name or a .json path)")
  .option("--json", "Print the list as JSON (one profile always prints as JSON)")
  .example("edgeq targets npu-int8-only")
  .example("edgeq targets my-npu.json")
  .action((target: string | undefined, opts: { json?: boolean }) => {
    if (target) {
      print(JSON.stringify(loadTarget(target), null, 2));
      return;
    }
    const list = listTargets();
    if (opts.json) print(JSON.stringify(list, null, 2));
    else {
      const w = Math.max(...list.map((t) => t.name.length));
      for (const t of list) print(`${t.name.padEnd(w)}  ${t.description}`);
    }
  });

/** The options that choose what quantize does (target, data, recipe), shared by quantize and bundle. */
function recipeOptions(cmd: Command): Command {
  return cmd
    .option("--target <name|path>", "Target profile (see edgeq targets): its dtypes, granularity and scale rules")
    .option("--calib <dir>", "Calibration samples: .npy files (one per sample) or images with preprocess.json")
    .option("--per-channel", "Per-output-channel weight scales (default)")
    .option("--per-tensor", "One weight scale per tensor")
    .option("--activations <type>", "Activation type: uint8 (default) or int8")
    .option("--symmetric-activations", "Symmetric activation ranges (zero point 0, or 128 for uint8)")
    .option("--exclude <node>", "Keep this node in float (repeatable or comma-separated; targets with float fallback only)")
    .option("--exclude-op <type>", "Keep every node of this op type in float (repeatable; float fallback only)")
    .option("--exclude-regex <re>", "Keep nodes whose name matches in float (repeatable; float fallback only)")
    .option("--exclude-preset <p>", `Keep a preset in float: ${EXCLUDE_PRESETS.join(", ")} (repeatable; float fallback only)`)
    .option("--fusions", "HardSwish/HardSigmoid/LayerNorm fusions and scale/shift folding (on by default; --no-fusions off)")
    .option("--cle", "Cross-layer equalization (--no-cle off; default: the target's recipe)")
    .option("--high-bias-absorption", "Move what a Relu never clips into the next layer's bias (--no-high-bias-absorption off)")
    .option("--layernorm-equalization", "Equalize the channels of a LayerNorm run as separate ops (default on where the target lacks LayerNormalization; --no-layernorm-equalization off)")
    .option("--smoothquant", "SmoothQuant (--no-smoothquant off; default: the target's recipe)")
    .option("--smoothquant-alpha <a>", "SmoothQuant strength: a number in [0, 1] or auto (default 0.5; turns SmoothQuant on)")
    .option("--bias-correction", "Correct the mean output shift of weight rounding (--no-bias-correction off)")
    .option("--bias-guard", "Raise weight scales where an int32 bias would overflow (--no-bias-guard off)")
    .option("--gptq", "Optimal weight rounding (GPTQ): one more pass over the data, then each layer rounded to the least output error (--no-gptq off)")
    .option("--ort-cpu-kernels", "Rewrite the QDQ model for ONNX Runtime's CPU integer kernels: depthwise channels padded to 16, HardSwish/HardSigmoid without float ops (default on cpu-mixed; --no-ort-cpu-kernels off)")
    .option("--max-drop <x>", "Mixed precision: keep the fewest layers float that hold the drop on --eval within x points of the metric (0.5 = half a point; float-fallback targets only)")
    .option("--input-shape <name=dims>", "Fix an input's dims, e.g. x=1,3,48,320 (repeatable; default on static-shape targets: the calibration samples' shape)")
    .option("--input-value <name=v>", "Freeze an input to a constant, e.g. sr=16000 (repeatable): what depends on it folds away")
    .option("--calib-method <method>", "mse (default), blend (MSE and percentile ranges' geometric mean: fewer bad calibration draws, a worse median), percentile, minmax or entropy")
    .option("--samples <n>", "Use the first N calibration samples (default: all)")
    .option("--consumer-ranges", "mse: weigh each channel of a value only Conv/MatMul/Gemm read by their weights on it, so its range minimizes their output error (default on; --no-consumer-ranges: every element alike)")
    .option("--histogram-sample <k>", "percentile/entropy/mse: elements per value and sample that histograms read (default 2048; 0 = whole tensors, exact but slower)")
    .option("--preprocess <file>", "Preprocessing spec (JSON) for image folders");
}

interface QuantizeFlags {
  target?: string;
  exclude?: string | string[];
  excludeOp?: string | string[];
  excludeRegex?: string | string[];
  excludePreset?: string | string[];
  smoothquantAlpha?: string;
  /** Internal (sweep's reference point): SmoothQuant off whatever the flags and the profile say. */
  withoutSmoothquant?: boolean;
  maxDrop?: string | number;
  inputShape?: string | string[];
  inputValue?: string | string[];
  calib?: string;
  out?: string;
  perChannel?: boolean;
  perTensor?: boolean;
  activations?: string;
  symmetricActivations?: boolean;
  calibMethod?: string;
  samples?: string | number;
  histogramSample?: string | number;
  consumerRanges?: boolean;
  preprocess?: string;
  eval?: string;
  split?: boolean;
  metric?: string;
  dictionary?: string;
  json?: boolean;
}

recipeOptions(cli.command("quantize <model>", "Calibrate on --calib and write a QDQ INT8 model"))
  .option("-o, --out <file>", "Output model (default: <name>.int8.onnx in the current folder)")
  .option("--eval <dir>", "Held-out samples: compare the INT8 model with FP32 on them (and hold --max-drop on them)")
  .option("--metric <name>", `Task metric on the --eval labels: ${Object.keys(METRICS).join(", ")} (default: output agreement and SQNR; --max-drop: top-1 agreement with FP32)`)
  .option("--dictionary <file>", "--metric recognizer: the character dictionary (one per line)")
  .option("--split", "Ops the target lacks at the start or end run on the host: write the device model to --out and float host-head/host-tail models beside it")
  .option("--analyze", "Add the sensitivity analysis (edgeq analyze's ranking, on --eval or else the calibration samples) to the report")
  .option("--json", "Print the report as one JSON document")
  .example("edgeq quantize model.onnx --calib calib/ -o model.int8.onnx --calib-method percentile")
  .example("edgeq quantize melspectrogram.onnx --target npu-int8-only --calib audio/ --split -o mel.int8.onnx")
  .example("edgeq quantize cls.onnx --target asic-per-tensor --input-shape x=1,3,48,192 --calib calib/ --no-bias-correction --smoothquant-alpha auto")
  .example("edgeq quantize rec.onnx --target cpu-mixed --calib calib/ --exclude-preset depthwise --exclude-op MatMul")
  .example("edgeq quantize rec.onnx --target npu-int8-only --calib calib/   # dynamic dims fixed from the samples")
  .example("edgeq quantize rec.onnx --target cpu-mixed --calib calib/ --eval heldout/ --metric recognizer --dictionary keys.txt --max-drop 0.5")
  .action(async (file: string, f: QuantizeFlags & { analyze?: boolean }) => {
    const q0 = await quantizeFile(file, f, { write: true, keepFloat: f.analyze });
    const { out, target, fixedShapes, inputValues, splitReport, parts, partFiles, report, validation, evaluation, early, mixed } = q0;
    // A drop --max-drop could not hold is a model that misses its requirement: exit 1, after the report.
    if (mixed && !mixed.met) process.exitCode = 1;
    const sensitivity = f.analyze ? await sensitivityOf(q0, f) : undefined;
    if (f.json) {
      print(JSON.stringify({ model: file, out, target, inputShapes: fixedShapes, inputValues, split: splitReport, ...report, mixedPrecision: mixed, sensitivity, validation, evaluation }, jsonNumbers, 2));
      return;
    }
    const q = report.quantize;
    const o = q.options;
    print(`${file} → ${out}${target ? ` for target ${target}` : ""}`);
    print(
      `  ${q.quantizeLinear} QuantizeLinear, ${q.dequantizeLinear} DequantizeLinear; ` +
        `${o.perChannel ? "per-channel" : "per-tensor"} int8 weights, ` +
        `${o.symmetricActivations ? "symmetric " : ""}${o.activations} activations, ${o.bias} bias` +
        `${o.powerOfTwoScales ? ", power-of-two scales" : ""}; ${report.calibration.method} ranges from ${report.samples} samples`,
    );
    if (report.consumerWeighted.length) {
      print(`  ${report.consumerWeighted.length} ranges weigh each channel by the weights of the Conv/MatMul/Gemm that read it`);
    }
    if (report.sharedPads.length) print(`  ${report.sharedPads.length} Pads share their input's grid (their fill lies in its range)`);
    if (report.limited.length) {
      print(`  ${report.limited.length} input ranges end where the ${[...new Set(report.limited.map((l) => l.op))].join("/")} after them can still change its output`);
    }
    for (const [name, v] of Object.entries(inputValues)) print(`  input "${name}" frozen to ${v.join(",")}`);
    const folded = early?.constantsFolded ?? report.normalize.constantsFolded;
    if (folded && (Object.keys(folded.folded).length || folded.branches.length)) {
      const ops = Object.entries(folded.folded).map(([op, n]) => `${n} ${op}`).join(", ");
      const ifs = folded.branches.map((b) => `If "${b.node}" → ${b.taken}`).join(", ");
      print(`  constant folding: ${[ops, ifs].filter(Boolean).join("; ")}`);
    }
    for (const [name, s] of Object.entries(fixedShapes)) {
      print(`  input "${name}" fixed to [${s.to.join(",")}]${s.from ? ` (declared [${s.from.map((d) => d ?? "?").join(",")}])` : ""} from ${s.source}`);
    }
    if (splitReport) {
      const side = (s: "head" | "tail") => splitReport.unsupported.filter((u) => u.side === s).map((u) => `${u.opType} "${u.node}"`).join(", ");
      if (splitReport.head.length) print(`  split: host head ${partFiles.head} runs ${splitReport.head.length} nodes (for ${side("head")}); device reads ${parts!.cut.headToDevice.map((v) => `"${v}"`).join(", ")}`);
      if (splitReport.tail.length) print(`  split: host tail ${partFiles.tail} runs ${splitReport.tail.length} nodes (for ${side("tail")}); it reads ${[...parts!.cut.deviceToTail, ...parts!.cut.headToTail].map((v) => `"${v}"`).join(", ")}`);
    }
    for (const p of report.passes) print(`  ${p.pass}: ${p.summary}`);
    if (mixed) print(formatMixed(mixed).replace(/^/gm, "  "));
    print(`  weights ${mib(q.bytes.before)} → ${mib(q.bytes.after)}; ${q.skipped.length} nodes left float`);
    if (q.bias.saturated) print(`  ${q.bias.saturated} bias values saturated to int32 in ${q.bias.saturatedTensors.length} tensors`);
    const st = report.ms.calibrateSteps, r = Math.round;
    print(`  ${r(report.ms.total)} ms (calibration ${r(report.ms.calibrate)} ms: opening its model ${r(st.open)}, runs ${r(st.runs)}, reading ${r(st.read)}, statistics ${r(st.observe)}, ranges ${r(st.ranges)})`);
    if (validation) {
      const failed = Object.entries(validation.errorsByRule).map(([rule, n]) => `${rule} ${n}`).join(", ");
      print(`  validate --target ${target}: ${validation.errors ? `${validation.errors} errors (${failed}): see edgeq validate` : "clean"}`);
    }
    if (evaluation) print(formatEvalReport(evaluation).replace(/^/gm, "  "));
    if (sensitivity) {
      print(`  sensitivity on ${sensitivity.data} (output SQNR ${sensitivity.quantizedDb.toFixed(1)} dB quantized), most gained by keeping it float first:`);
      print(formatSensitivity(sensitivity.nodes.slice(0, 10)).replace(/^/gm, "    "));
    }
  });

/** `analyze`'s ranking of a quantized model, on `--eval` or else the calibration samples. */
async function sensitivityOf(q: QuantizeOutcome, f: QuantizeFlags, samples = 8, views: "both" | "float" | "alone" = "both") {
  const inputs = q.model.graph.inputs.filter((v) => !q.model.graph.initializers.has(v.name));
  const data = await openDataset(f.eval ?? f.calib!, inputs, { preprocess: q.preprocess });
  const progress = progressLine();
  // The float graph matches the QDQ model before a runtime's rewrites value by value.
  const r = await analyzeSensitivity(q.floatGraph!, q.qdqGraph ?? q.model, data, { samples, views, onProgress: (d: number, t: number) => progress("analyzing", d, t) });
  progress("");
  return { ...r, data: f.eval ? `${r.samples} held-out samples of ${f.eval}` : `${r.samples} calibration samples (give --eval for held-out ones)` };
}

recipeOptions(cli.command("analyze <model>", "Sensitivity: quantize as the recipe says, then rank the nodes by the damage their own quantization does"))
  .option("--eval <dir>", "Held-out samples the ranking is measured on (default: the calibration samples, said in the report)")
  .option("--analysis-samples <n>", "Samples the ranking reads (default 8)")
  .option("--view <v>", "both (default), float (what keeping each node float gains) or alone (each node quantized alone)")
  .option("--top <n>", "Nodes listed (default 20; --json lists all)")
  .option("--json", "Print the ranking as one JSON document")
  .option("--quiet", "No progress on stderr")
  .example("edgeq analyze rec.onnx --target cpu-mixed --calib calib/ --eval heldout/")
  .example("edgeq analyze rec.onnx --target cpu-mixed --per-tensor --calib calib/ --eval heldout/ --view float --json")
  .action(async (file: string, f: QuantizeFlags & { analysisSamples?: string | number; view?: string; top?: string | number; json?: boolean }) => {
    const n = f.analysisSamples === undefined ? 8 : Number(f.analysisSamples);
    if (!(Number.isInteger(n) && n > 0)) throw new InputError(`Option --analysis-samples must be a positive integer, got "${f.analysisSamples}"`);
    const top = f.top === undefined ? 20 : Number(f.top);
    if (!(Number.isInteger(top) && top > 0)) throw new InputError(`Option --top must be a positive integer, got "${f.top}"`);
    const view = f.view ?? "both";
    if (view !== "both" && view !== "float" && view !== "alone") throw new InputError(`Option --view must be both, float or alone, got "${f.view}"`);
    const t0 = performance.now();
    const q = await quantizeFile(file, f, { write: false, keepFloat: true, noEval: true });
    const tq = performance.now() - t0;
    const r = await sensitivityOf(q, f, n, view);
    const source = r.data;
    const seconds = { quantize: tq / 1000, analysis: r.ms / 1000 };
    if (f.json) {
      print(JSON.stringify({ model: file, target: q.target, data: source, samples: r.samples, quantizedDb: r.quantizedDb, runs: r.runs, seconds, nodes: r.nodes }, jsonNumbers, 2));
      return;
    }
    const order = view === "alone" ? "lowest output SQNR when quantized alone first" : "most gained by keeping it float first";
    print(`${file}${q.target ? ` for target ${q.target}` : ""}: output SQNR ${r.quantizedDb.toFixed(1)} dB quantized; ${r.nodes.length} nodes, ${order}, on ${source}`);
    print(formatSensitivity(r.nodes.slice(0, top)));
    if (r.nodes.length > top) print(`… ${r.nodes.length - top} more (--top N, or --json for all)`);
    print(`quantization ${seconds.quantize.toFixed(1)} s, analysis ${seconds.analysis.toFixed(1)} s (${r.runs} forward passes)`);
  });

/** The ranking as a table: node, op, output SQNR alone / kept float, the gain, weight spread, output range. */
function formatSensitivity(nodes: readonly import("./mod.ts").NodeSensitivity[]): string {
  const db = (x: number | undefined) => (x === undefined ? "" : Number.isFinite(x) ? x.toFixed(1) : "exact");
  const rows = nodes.map((s, i) => [
    String(i + 1),
    s.node,
    s.opType,
    db(s.aloneDb),
    db(s.keptFloatDb),
    s.gainDb === undefined ? "" : (s.gainDb >= 0 ? "+" : "") + s.gainDb.toFixed(2),
    s.weightSpread === undefined ? "" : s.weightSpread >= 1e4 ? s.weightSpread.toExponential(1) : s.weightSpread.toFixed(1),
    s.outputRange ? `[${s.outputRange.map((x) => x.toPrecision(3)).join(", ")}]` : "",
  ]);
  const head = ["#", "node", "op", "alone dB", "kept float dB", "gain dB", "weight spread", "output range"];
  const used = head.map((_, c) => c < 3 || rows.some((r) => r[c] !== ""));
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r.filter((_, c) => used[c]).map((x, c) => x.padEnd(w.filter((_, k) => used[k])[c])).join("  ").trimEnd()).join("\n");
}

/** The lines `--max-drop` adds to quantize's report. */
function formatMixed(m: MixedPrecisionReport): string {
  const pts = (x: number) => `${(100 * x).toFixed(2)} points`;
  const head = `mixed precision (--max-drop ${pts(m.maxDrop)}, ${m.metric}): FP32 ${(100 * m.fp32).toFixed(2)} → ${(100 * m.quantized).toFixed(2)}, drop ${pts(m.drop)}`;
  const float = m.mode === "wide"
    ? (m.wide.length ? `${m.wide.length} activations in 16 bits: ${m.wide.join(", ")}` : "every activation in 8 bits")
    : m.float.length ? `${m.float.length} nodes kept float: ${m.float.join(", ")}` : "every node integer";
  const spared = m.mode === "wide" ? "in 16 bits" : "float";
  const cost = `${m.trials.length} trials (${m.trials.map((t) => `${t.ranked} ranked ${spared}: ${pts(t.drop)}`).join("; ")}); analysis ${(m.ms.analysis / 1000).toFixed(1)} s, trials ${(m.ms.trials / 1000).toFixed(1)} s`;
  const verdict = m.met ? "" : `\nCould not hold the drop within ${pts(m.maxDrop)}: the best found is above (${m.ranking.length} nodes ranked)`;
  return `${head}\n  ${float}\n  ${cost}${verdict}`;
}

/** What {@linkcode quantizeFile} made and measured. */
interface QuantizeOutcome {
  file: string;
  out: string;
  target: string | undefined;
  profile: TargetProfile | undefined;
  /** The model as quantized (whole, before any split). */
  model: Model;
  /** The float model as the quantizer read it (after the graph passes), when asked for (`keepFloat`). */
  floatGraph: Model | undefined;
  /** The QDQ model before a runtime's rewrites (the `lower` passes), which `floatGraph` matches value by value (`keepFloat`). */
  qdqGraph: Model | undefined;
  /** The FP32 model with the frozen inputs, when asked for (`--eval` or `keepFp32`): a copy sharing the file's tensors. */
  fp32: Model | undefined;
  fixedShapes: Record<string, { from: (number | string | null)[] | null; to: number[]; source: string }>;
  inputValues: Record<string, number[]>;
  splitReport: { unsupported: SplitPlan["unsupported"]; head: string[]; tail: string[]; files: Record<string, string>; cut: SplitModels["cut"] } | undefined;
  parts: SplitModels | undefined;
  partFiles: Record<string, string>;
  report: Awaited<ReturnType<typeof quantizeModel>>;
  validation: ReturnType<typeof ruleCounts> | undefined;
  evaluation: Awaited<ReturnType<typeof compareModels>> | undefined;
  early: Awaited<ReturnType<typeof normalize>> | undefined;
  preprocess: Partial<PreprocessSpec> | undefined;
  settings: { passes: readonly PassName[] };
  /** What `--max-drop` chose, when given. */
  mixed: MixedPrecisionReport | undefined;
}

/**
 * The quantize command's work for `file` with the command's flags: checks, the
 * target's preflight, shapes, split, calibration, QDQ; writes `--out` (and
 * the host parts) when `write`. `bundle` runs it without writing.
 */
async function quantizeFile(
  file: string,
  f: QuantizeFlags,
  mode: { write: boolean; keepFp32?: boolean; keepFloat?: boolean; noEval?: boolean },
): Promise<QuantizeOutcome> {
  if (!f.calib) throw new InputError("Missing option --calib: a folder of calibration samples");
  if (f.perChannel && f.perTensor) throw new InputError("Options --per-channel and --per-tensor exclude each other");
  if (f.activations !== undefined && f.activations !== "uint8" && f.activations !== "int8") {
    throw new InputError(`Option --activations must be uint8 or int8, got "${f.activations}"`);
  }
  const method = f.calibMethod;
  if (method !== undefined && !CALIB_METHODS.includes(method as CalibMethod)) {
    throw new InputError(`Option --calib-method must be one of ${CALIB_METHODS.join(", ")}, got "${method}"`);
  }
  const samples = f.samples === undefined ? undefined : Number(f.samples);
  if (samples !== undefined && !(Number.isInteger(samples) && samples > 0)) {
    throw new InputError(`Option --samples must be a positive integer, got "${f.samples}"`);
  }
  const histogramSample = f.histogramSample === undefined ? undefined : Number(f.histogramSample);
  if (histogramSample !== undefined && !(Number.isInteger(histogramSample) && (histogramSample === 0 || histogramSample >= 16))) {
    throw new InputError(`Option --histogram-sample must be 0 (whole tensors) or an integer ≥ 16, got "${f.histogramSample}"`);
  }
  // Points of the metric, as people quote accuracy drops: --max-drop 0.5 is half a point.
  const maxDrop = f.maxDrop === undefined ? undefined : Number(f.maxDrop) / 100;
  if (maxDrop !== undefined && !(maxDrop >= 0 && maxDrop < 1)) {
    throw new InputError(`Option --max-drop must be points of the metric in [0, 100), got "${f.maxDrop}"`);
  }
  const exclude = list(f.exclude).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  const excludeSpec = {
    names: exclude,
    opTypes: list(f.excludeOp).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean),
    patterns: list(f.excludeRegex),
    presets: list(f.excludePreset).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean) as ExcludePreset[],
  };
  const alpha = f.smoothquantAlpha === undefined ? undefined : f.smoothquantAlpha === "auto" ? "auto" as const : Number(f.smoothquantAlpha);
  if (alpha !== undefined && alpha !== "auto" && !(alpha >= 0 && alpha <= 1)) {
    throw new InputError(`Option --smoothquant-alpha must be auto or a number in [0, 1], got "${f.smoothquantAlpha}"`);
  }
  const passSettings = resolvePassSettings({ smoothquantAlpha: alpha, exclude: excludeSpec });
  const keepFloat = [
    ...excludeSpec.opTypes.map((t) => `--exclude-op ${t}`),
    ...excludeSpec.patterns.map((r) => `--exclude-regex ${r}`),
    ...excludeSpec.presets.map((p) => `--exclude-preset ${p}`),
  ];
  const passes: Partial<Record<PassName, boolean>> = {};
  const set = (name: PassName, on: boolean | undefined) => on !== undefined && (passes[name] = on);
  set("fusions", switched("fusions"));
  set("cross-layer-equalization", switched("cle"));
  set("high-bias-absorption", switched("high-bias-absorption"));
  set("layernorm-equalization", switched("layernorm-equalization"));
  set("smoothquant", f.withoutSmoothquant ? false : switched("smoothquant") ?? (alpha !== undefined ? true : undefined));
  set("bias-correction", switched("bias-correction"));
  set("bias-overflow-guard", switched("bias-guard"));
  set("gptq", switched("gptq"));
  set("ort-cpu-kernels", switched("ort-cpu-kernels"));
  if (exclude.length || keepFloat.length) passes["float-fallback"] = true;
  const inputShapes = parseInputShapes(list(f.inputShape));
  const inputValues = parseInputValues(list(f.inputValue));
  const request = {
    perChannel: f.perTensor ? false : f.perChannel ? true : undefined,
    activations: f.activations as "uint8" | "int8" | undefined,
    symmetricActivations: f.symmetricActivations,
    exclude,
    keepFloat,
  };
  // The profile decides before any file is read: a forbidden request costs nothing.
  const profile = f.target === undefined ? undefined : loadTarget(f.target);
  const settings = profile
    ? quantizeOptionsFor(profile, { ...request, maxDrop, passes })
    : quantizeOptionsFor(loadTarget("cpu-mixed"), { passes });
  const options: QuantizeOptions = profile
    ? settings.options
    : resolveQuantizeOptions({
      perChannel: request.perChannel ?? true,
      activations: request.activations,
      symmetricActivations: request.symmetricActivations,
      exclude,
      floatSqrt: settings.options.floatSqrt,
      biasOverflowGuard: settings.options.biasOverflowGuard,
    });
  if (maxDrop !== undefined && !f.eval) throw new InputError("Option --max-drop needs --eval DIR: the held-out samples the drop is measured on");
  if (f.metric !== undefined && !Object.hasOwn(METRICS, f.metric)) throw new InputError(`Option --metric must be one of ${Object.keys(METRICS).join(", ")}, got "${f.metric}"`);
  const taskMetric = f.metric ? METRICS[f.metric](f.dictionary) : undefined;
  const out = f.out ?? `${path.basename(file).replace(/\.onnx$/i, "")}.int8.onnx`;
  if (path.resolve(out) === path.resolve(file)) {
    throw new InputError(`Refusing to overwrite the input "${file}": choose another --out`);
  }
  const preprocess = f.preprocess ? readPreprocess(f.preprocess) : undefined;
  const fixedShapes: Record<string, { from: (number | string | null)[] | null; to: number[]; source: string }> = {};
  let model = readModel(file);
  const frozen = freezeInputs(model, inputValues);
  // The FP32 reference (with the frozen inputs), before normalization changes the model: only --eval reads it.
  // A copy shares the tensors (a large model's stay in its file), so it costs no second copy of the weights.
  const fp32 = f.eval || mode.keepFp32 ? cloneModel(model) : undefined;
  const early = Object.keys(inputShapes).length || Object.keys(frozen).length || profile ? await normalize(model, { shapes: false }) : undefined;
  // After folding: an inlined branch's nodes (with their fresh names) may be excluded too.
  const unknown = exclude.find((name) => !model.graph.nodes.some((n) => n.name === name));
  if (unknown !== undefined) throw new InputError(`Unknown node "${unknown}" in --exclude: "${file}" has no node of that name${early ? " (after constant folding)" : ""}`);
  const graphInputs = () => model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  // Opening the folders checks every file (against the inputs' final shapes) before any work starts.
  const openCalib = () => openDataset(f.calib!, graphInputs(), { samples, preprocess });
  let calib: Awaited<ReturnType<typeof openDataset>> | undefined;
  // A static-shape target fixes the dynamic dims the flags left open to the one shape every calibration sample has.
  const shapesFrom: Record<string, string> = Object.fromEntries(Object.keys(inputShapes).map((k) => [k, "--input-shape"]));
  if (profile?.staticShapes) {
    const open = graphInputs().filter((v) => !(v.name in inputShapes) && (!v.shape || v.shape.some((d) => typeof d !== "number" || d < 0)));
    if (open.length) {
      calib = await openCalib();
      const found = await sampleShapes(calib, open.map((v) => v.name), f.calib);
      for (const [name, dims] of Object.entries(found)) {
        inputShapes[name] = dims;
        shapesFrom[name] = `the ${calib.size} calibration samples`;
      }
    }
  }
  if (Object.keys(inputShapes).length) {
    const before = Object.fromEntries(graphInputs().map((v) => [v.name, v.shape ? [...v.shape] : undefined]));
    // Calibration runs the model on these shapes next: its first run is the check.
    await makeShapesStatic(model, inputShapes, { check: false });
    // Shapes the samples gave fit them by construction; a given --input-shape must be checked against them.
    if (Object.values(shapesFrom).includes("--input-shape")) calib = undefined;
    for (const [name, dims] of Object.entries(inputShapes)) fixedShapes[name] = { from: before[name] ?? null, to: dims, source: shapesFrom[name] };
  }
  let split: SplitPlan | undefined;
  if (f.split) {
    if (!profile || profile.floatFallback) {
      throw new InputError(`Option --split needs a target without float fallback (such as npu-int8-only): ${profile ? `"${profile.name}" runs unsupported ops in float itself` : "give --target"}`);
    }
    split = planSplit(model, profile);
    if (split && split.device === 0) {
      // Each side: the ops the target lacks that went there, and for a Log on the host tail, why what it reads went too.
      const side = (s: "head" | "tail") => {
        const ops = split!.unsupported.filter((u) => u.side === s);
        if (!ops.length) return [];
        const log = ops.find((u) => u.opType === "Log" || u.opType === "Reciprocal");
        const names = ops.map((u) => `${u.opType} "${u.node}"${u.why ? `: ${u.why}` : ""}`).join(", "), one = ops.length === 1;
        const reach = s === "head" ? (one ? "what it reads" : "what they read") : (one ? "what reads it" : "what reads them");
        const why = log ? `, and what ${log.opType} "${log.node}" reads, which cannot pass int8 (small values round to 0)` : "";
        return [`host ${s}: ${names} and ${reach}${why}`];
      };
      throw new InputError(`Cannot split "${file}" for target "${profile.name}": no op would be left for the device (${[...side("head"), ...side("tail")].join("; ")})`);
    }
  }
  if (profile) {
    const device = split ? cutModel(model, split).device : model;
    const problems = targetPreflight(device, profile, split ? { ...options, exclude: [] } : options);
    if (problems.length) throw cannotMeet(file, profile.name, model, problems, split ? undefined : splitHint(model, profile, options));
  }
  if (split) options.exclude = [...options.exclude, ...split.head, ...split.tail];
  const inputs = graphInputs();
  calib ??= await openCalib();
  const evalData = f.eval ? await openDataset(f.eval, inputs, { preprocess }) : undefined;
  const progress = progressLine();
  let floatGraph: Model | undefined, qdqGraph: Model | undefined;
  const quantizeOpts = {
    ...options,
    profile: profile ?? loadTarget("cpu-mixed"),
    passes: settings.passes,
    passSettings,
    calibration: { method: method as CalibMethod | undefined, samples, histogramSample },
    consumerRanges: f.consumerRanges !== false,
  };
  let report: Awaited<ReturnType<typeof quantizeModel>>;
  let mixed: MixedPrecisionReport | undefined;
  if (maxDrop !== undefined) {
    const prepared = cloneModel(model);
    // What each trial's quantization gave, by the model it made.
    const trials = new Map<Model, { report: Awaited<ReturnType<typeof quantizeModel>>; floatGraph: Model; qdqGraph: Model }>();
    // Integer-only targets that also run 16-bit activations widen instead of keeping float.
    const spareMode = quantizeOpts.profile.floatFallback ? "float" : "wide";
    const chosen = await mixedPrecision({
      maxDrop,
      mode: spareMode,
      fp32: encodeModel(fp32!).bytes,
      data: evalData!,
      rankData: calib,
      metric: taskMetric ? { name: `${f.metric} ${METRIC_KEYS[f.metric!]}`, task: { factory: taskMetric, key: METRIC_KEYS[f.metric!] } } : { name: "top-1 agreement with FP32" },
      quantize: async ({ float, wide }) => {
        const m = cloneModel(prepared);
        let fg: Model | undefined, qg: Model | undefined;
        const r = await quantizeModel(m, calib!, {
          ...quantizeOpts,
          exclude: [...options.exclude, ...float],
          floatOutputs: float,
          wideActivations: wide,
          onFloatGraph: (x) => (fg = x),
          onQdqGraph: (x) => (qg = x),
        });
        trials.set(m, { report: r, floatGraph: fg!, qdqGraph: qg! });
        return { model: m, floatGraph: fg!, qdqGraph: qg };
      },
      onAnalysis: (d, t) => progress("ranking nodes", d, t),
      // A trial is a quantization and an evaluation (seconds each): one line per trial, as progress.
      onTrial: (k, drop) =>
        !process.argv.includes("--quiet") &&
        process.stderr.write(`mixed precision: ${k} ranked nodes ${spareMode === "float" ? "float" : "in 16 bits"} → drop ${(100 * drop).toFixed(2)} points\n`),
    });
    model = chosen.model;
    const trial = trials.get(model)!;
    report = trial.report;
    floatGraph = mode.keepFloat ? trial.floatGraph : undefined;
    qdqGraph = mode.keepFloat ? trial.qdqGraph : undefined;
    mixed = chosen.report;
  } else {
    report = await quantizeModel(model, calib, {
      ...quantizeOpts,
      onProgress: (step, done, total) => step === "calibrate" && progress("calibrating", done, total),
      onFloatGraph: mode.keepFloat ? (m) => (floatGraph = m) : undefined,
      onQdqGraph: mode.keepFloat ? (m) => (qdqGraph = m) : undefined,
    });
  }
  progress("");
  let parts: SplitModels | undefined;
  const partFiles: Record<string, string> = {};
  if (split) {
    // Shapes of the values the cut passes between parts, which the quantizer named anew.
    await recordShapes(model, {});
    parts = cutModel(model, planSplit(model, profile!, new Map(split.unsupported.map((u) => [u.node, u.side]))) ?? split);
    const stem = out.replace(/\.onnx$/i, "");
    for (const side of ["head", "tail"] as const) {
      const m = parts[side];
      if (!m) continue;
      const name = `${stem}.host-${side}.onnx`;
      if (path.resolve(name) === path.resolve(file)) throw new InputError(`Refusing to overwrite the input "${file}" with the host ${side}: choose another --out`);
      // What a host part claims: that ONNX Runtime, the host's runtime, runs it.
      await (await getRuntime("node")).createSession(encodeModel(m).bytes).then((s) => s.release());
      partFiles[side] = name;
    }
  }
  if (mode.write) {
    writeModel(out, parts ? parts.device : model);
    for (const side of ["head", "tail"] as const) if (parts?.[side]) writeModel(partFiles[side], parts[side]!);
  }
  const evaluation = evalData && !mode.noEval
    ? await compareModels(fp32!, model, evalData, {
      metrics: taskMetric ? { [f.metric!]: taskMetric } : {},
      onProgress: (done, total) => progress("evaluating", done, total),
    })
    : undefined;
  progress("");
  const target = profile?.name;
  // What `edgeq validate` would say: a pass (e.g. the bias-overflow guard) may still be missing.
  const validation = profile ? ruleCounts(validateModel(parts ? parts.device : model, profile, { file: out })) : undefined;
  const splitReport = split && parts
    ? {
      unsupported: split.unsupported,
      head: split.head,
      tail: split.tail,
      files: { device: out, ...(partFiles.head ? { hostHead: partFiles.head } : {}), ...(partFiles.tail ? { hostTail: partFiles.tail } : {}) },
      cut: parts.cut,
    }
    : undefined;
  return {
    file, out, target, profile, model, fp32, floatGraph, qdqGraph, fixedShapes, inputValues, splitReport, parts, partFiles, report, validation, evaluation, early, preprocess,
    settings: { passes: settings.passes },
    mixed,
  };
}

/** Error and warning counts of a validation report, errors per rule. */
function ruleCounts(r: ReturnType<typeof validateModel>): { errors: number; warnings: number; errorsByRule: Record<string, number> } {
  const errorsByRule: Record<string, number> = {};
  for (const rule of r.rules) {
    const n = rule.violations.filter((v) => v.severity === "error").length;
    if (n) errorsByRule[rule.id] = n;
  }
  return { errors: r.summary.errors, warnings: r.summary.warnings, errorsByRule };
}

/** `true` for `--name`, `false` for `--no-name`, `undefined` when neither was given (cac's own default hides that). */
function switched(name: string): boolean | undefined {
  const args = process.argv.slice(2);
  const on = args.includes(`--${name}`), off = args.includes(`--no-${name}`);
  if (on && off) throw new InputError(`Options --${name} and --no-${name} exclude each other`);
  return on ? true : off ? false : undefined;
}

/** A repeatable option's values (cac gives one value as a string, several as an array). */
function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/** Why the model cannot meet the target: per rule a few problems, how many more, and how to fix them. */
function cannotMeet(
  file: string,
  target: string,
  model: Model,
  problems: readonly { rule: string; message: string; hint: string }[],
  extra?: string,
): TargetViolationError {
  const lines: string[] = [];
  for (const rule of new Set(problems.map((p) => p.rule))) {
    const mine = problems.filter((p) => p.rule === rule);
    lines.push(...mine.slice(0, 5).map((p) => `${rule}: ${p.message}`));
    if (mine.length > 5) lines.push(`${rule}: … and ${mine.length - 5} more (edgeq validate lists them all)`);
    let hint = mine[0].hint;
    if (rule === "dynamic-shape") {
      const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
      const dims = (v: (typeof inputs)[number]) => (v.shape ?? []).map((d) => (typeof d === "number" ? d : "?")).join(",");
      hint = `fix the input dims with ${inputs.map((v) => `--input-shape ${v.name}=${dims(v)}`).join(" ")} (each ? the size you deploy)`;
    }
    lines.push(`  hint: ${hint}`);
  }
  if (extra) lines.push(`hint: ${extra}`);
  const n = problems.length;
  return new TargetViolationError(`Model "${file}" cannot meet target "${target}": ${n} problem${n === 1 ? "" : "s"}`, lines);
}

/** The way out when a host/device split would leave the device a model it runs clean, else `undefined`. */
function splitHint(model: Model, profile: TargetProfile, options: QuantizeOptions): string | undefined {
  if (profile.floatFallback) return undefined;
  const plan = planSplit(model, profile);
  if (!plan || plan.device === 0) return undefined;
  if (targetPreflight(cutModel(model, plan).device, profile, { ...options, exclude: [] }).length) return undefined;
  const first = plan.unsupported[0];
  const more = plan.unsupported.length > 1 ? ` and ${plan.unsupported.length - 1} more` : "";
  return `with --split, the host runs ${first.opType} "${first.node}"${more} (${plan.head.length + plan.tail.length} nodes in all) and ${profile.name} the other ${plan.device}`;
}

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

/**
 * Progress on stderr, as `calibrating 12/64, 8.1/s, 5 s left`: on a terminal
 * one line rewritten in place; otherwise (logs, CI) a line every 5 s, and
 * nothing for a step that ends within 2 s. `progress("")` ends the step.
 */
function progressLine(): (step: string, done?: number, total?: number) => void {
  if (process.argv.includes("--quiet")) return () => {};
  const tty = process.stderr.isTTY;
  let current = "", started = 0, printed = 0, shown = false;
  return (step, done = 0, total = 0) => {
    if (!step) {
      if (shown && tty) process.stderr.write("\r\x1b[K");
      shown = false;
      current = "";
      return;
    }
    const now = performance.now();
    if (step !== current) {
      current = step;
      started = printed = now;
    }
    const elapsed = (now - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
    // Slow steps (a sweep point, a mixed-precision trial) read better as seconds each than as 0.0/s.
    const pace = rate >= 10 ? `${rate.toFixed(0)}/s` : rate >= 0.5 ? `${rate.toFixed(1)}/s` : `${(1 / rate).toFixed(0)} s each`;
    const text = `${step} ${done}/${total}${done >= 2 && eta !== undefined ? `, ${pace}, ${eta} s left` : ""}`;
    if (tty) {
      process.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    } else if (now - started > 2000 && now - printed > 5000) {
      process.stderr.write(`${text}\n`);
      printed = now;
    }
  };
}

recipeOptions(cli.command("sweep <model>", "SmoothQuant α sweep: quantize at each α (per-channel and per-tensor weights where the target allows both), score each on --eval, chart it"))
  .option("--eval <dir>", "Held-out samples every point is scored on")
  .option("--alphas <list>", "α values, comma-separated, each in [0, 1] (default 0,0.25,0.5,0.75,1)")
  .option("--metric <name>", `Task metric on the --eval labels: ${Object.keys(METRICS).join(", ")} (default: top-1 agreement with FP32)`)
  .option("--dictionary <file>", "--metric recognizer: the character dictionary (one per line)")
  .option("-o, --out <file>", "HTML report with the sweep chart (default: <name>.sweep.html in the current folder)")
  .option("--json", "Print the sweep as one JSON document")
  .example("edgeq sweep cls.onnx --target npu-int8-only --calib calib/ --eval heldout/ --metric classifier")
  .example("edgeq sweep rec.onnx --target cpu-mixed --per-tensor --calib calib/ --eval heldout/ --alphas 0,0.5,1 --json")
  .action(async (file: string, f: QuantizeFlags & { alphas?: string | number; json?: boolean }) => {
    if (!f.eval) throw new InputError("Missing option --eval: a folder of held-out samples to score every point on");
    const alphas = String(f.alphas ?? "0,0.25,0.5,0.75,1").split(",").map((a) => a.trim());
    for (const a of alphas) {
      if (a === "" || !(Number(a) >= 0 && Number(a) <= 1)) throw new InputError(`Option --alphas must list numbers in [0, 1], got "${a}"`);
    }
    if (f.metric !== undefined && !Object.hasOwn(METRICS, f.metric)) throw new InputError(`Option --metric must be one of ${Object.keys(METRICS).join(", ")}, got "${f.metric}"`);
    const taskMetric = f.metric ? METRICS[f.metric](f.dictionary) : undefined;
    const out = f.out ?? `${path.basename(file).replace(/\.onnx$/i, "")}.sweep.html`;
    if (path.resolve(out) === path.resolve(file)) throw new InputError(`Refusing to overwrite the input "${file}": choose another --out`);
    const profile = f.target ? loadTarget(f.target) : loadTarget("cpu-mixed");
    const granularities = f.perChannel ? ["per-channel"] : f.perTensor || !profile.weights.perChannel ? ["per-tensor"] : ["per-channel", "per-tensor"];
    const metricName = taskMetric ? `${f.metric} ${METRIC_KEYS[f.metric!]}` : "top-1 agreement with FP32";
    const progress = progressLine();
    const total = granularities.length * (alphas.length + 1);
    let done = 0, data: Dataset | undefined;
    type Point = { granularity: string; alpha: number | null; value: number; model: Model; evaluation: Awaited<ReturnType<typeof compareModels>> };
    const points: Point[] = [];
    for (const g of granularities) {
      // null: the recipe without SmoothQuant, the line each α is measured against.
      for (const alpha of [null, ...alphas.map(Number)]) {
        progress("sweeping", done, total);
        const flags: QuantizeFlags = { ...f, eval: undefined, perChannel: g === "per-channel", perTensor: g === "per-tensor", smoothquantAlpha: alpha === null ? undefined : String(alpha), withoutSmoothquant: alpha === null };
        const q = await quantizeFile(file, flags, { write: false, keepFp32: true, noEval: true });
        data ??= await openDataset(f.eval, q.model.graph.inputs.filter((v) => !q.model.graph.initializers.has(v.name)), { preprocess: q.preprocess });
        const evaluation = await compareModels(q.fp32!, q.model, data, { metrics: taskMetric ? { [f.metric!]: taskMetric } : {} });
        const value = taskMetric ? evaluation.metrics.find((m) => m.name === METRIC_KEYS[f.metric!])?.quantized ?? NaN : evaluation.outputs[0]?.top1Agreement ?? NaN;
        points.push({ granularity: g, alpha, value, model: q.model, evaluation });
        done++;
      }
    }
    progress("");
    const best = points.filter((p) => p.alpha !== null).reduce((a, b) => (b.value > a.value ? b : a));
    const fp32Value = taskMetric ? best.evaluation.metrics.find((m) => m.name === METRIC_KEYS[f.metric!])?.fp32 : 1;
    const html = renderReport({
      title: `${path.basename(file)}: SmoothQuant α sweep`,
      model: best.model,
      target: f.target ? profile.name : undefined,
      edgeq: VERSION,
      eval: reportEval(best.evaluation),
      sweep: granularities.map((g) => ({ label: g, points: points.filter((p) => p.granularity === g && p.alpha !== null).map((p) => [p.alpha!, p.value] as [number, number]) })),
      validation: f.target ? reportValidation(validateModel(best.model, profile, { file })) : undefined,
    });
    try {
      atomicWrite(out, (fd) => fs.writeSync(fd, html));
    } catch (e) {
      throw new InputError(`Cannot write report "${out}": ${(e as Error).message}`);
    }
    const rows = points.map((p) => ({ granularity: p.granularity, alpha: p.alpha, value: p.value }));
    if (f.json) {
      print(JSON.stringify({ model: file, target: f.target ? profile.name : undefined, metric: metricName, fp32: fp32Value, samples: data!.size, points: rows, best: { granularity: best.granularity, alpha: best.alpha, value: best.value }, out }, jsonNumbers, 2));
      return;
    }
    const pct = (x: number) => (100 * x).toFixed(2);
    print(`${file}: ${metricName} on ${data!.size} samples of ${f.eval}${fp32Value !== undefined ? ` (FP32 ${pct(fp32Value)})` : ""}, SmoothQuant α against the recipe without it`);
    const head = ["α", ...granularities];
    const body = [null, ...alphas.map(Number)].map((a) => [a === null ? "off" : String(a), ...granularities.map((g) => pct(points.find((p) => p.granularity === g && p.alpha === a)!.value))]);
    const w = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
    print([head, ...body].map((r) => "  " + r.map((x, c) => x.padEnd(w[c])).join("  ").trimEnd()).join("\n"));
    print(`best: α ${best.alpha} with ${best.granularity} weights, ${pct(best.value)}; chart in ${out}`);
  });

recipeOptions(cli.command("bundle <model>", "Quantize (or take --quantized), evaluate on --eval, and pack a verifiable bundle .tar"))
  .option("--eval <dir>", "Held-out samples: the eval and the golden set (the first --golden of them)")
  .option("-o, --out <file>", "Bundle to write (default: <name>.bundle.tar in the current folder)")
  .option("--quantized <file>", "Bundle this INT8 model instead of quantizing MODEL (MODEL, the FP32 one, makes the references)")
  .option("--metric <name>", `Task metric on the eval labels: ${Object.keys(METRICS).join(", ")} (default: output agreement and SQNR only)`)
  .option("--dictionary <file>", "--metric recognizer: the character dictionary (one per line)")
  .option("--golden <n>", "Golden samples kept in the bundle (default 4)")
  .option("--split", "Ops the target lacks at the start or end run on the host: the bundle holds float host-head/host-tail.onnx beside model.onnx")
  .option("--json", "Print the manifest as one JSON document")
  .example("edgeq bundle cls.onnx --target npu-int8-only --calib calib/ --eval eval/ --metric classifier -o cls.tar")
  .example("edgeq bundle cls.onnx --target npu-int8-only --quantized cls.int8.onnx --eval eval/ -o cls.tar")
  .action(async (file: string, f: QuantizeFlags & { quantized?: string; metric?: string; dictionary?: string; golden?: string | number }) => {
    if (!f.eval) throw new InputError("Missing option --eval: a folder of held-out samples for the eval and the golden set");
    if (!f.target) throw new InputError("Missing option --target: the bundle embeds the target it was made for (see edgeq targets)");
    if (f.split && f.quantized) throw new InputError("Options --split and --quantized exclude each other: bundle quantizes a split model itself (give --calib)");
    const golden = f.golden === undefined ? 4 : Number(f.golden);
    if (!(Number.isInteger(golden) && golden >= 1)) throw new InputError(`Option --golden must be a positive integer, got "${f.golden}"`);
    if (f.metric !== undefined && !Object.hasOwn(METRICS, f.metric)) {
      throw new InputError(`Option --metric must be one of ${Object.keys(METRICS).join(", ")}, got "${f.metric}"`);
    }
    const metric = f.metric ? METRICS[f.metric](f.dictionary) : undefined;
    const out = f.out ?? `${path.basename(file).replace(/\.onnx$/i, "")}.bundle.tar`;
    for (const input of [file, f.quantized]) {
      if (input && path.resolve(out) === path.resolve(input)) throw new InputError(`Refusing to overwrite the input "${input}": choose another --out`);
    }
    const progress = progressLine();
    let fp32: Uint8Array, int8: Uint8Array, profile: TargetProfile, quantization: Manifest["quantization"], preprocess: Partial<PreprocessSpec> | undefined;
    let quantizeReport: Record<string, unknown> | undefined;
    let split: { head?: Uint8Array; tail?: Uint8Array; whole: Uint8Array; cut: Record<string, string[]> } | undefined;
    let reference: Uint8Array | undefined, passes: { pass: string; summary: string; nodes: string[] }[] | undefined;
    if (f.quantized) {
      if (f.calib) throw new InputError("Options --quantized and --calib exclude each other: the model is already quantized");
      profile = loadTarget(f.target);
      const model = readModel(file);
      const inputValues = freezeInputs(model, parseInputValues(list(f.inputValue)));
      fp32 = encodeModel(model).bytes;
      int8 = encodeModel(readModel(f.quantized)).bytes;
      preprocess = f.preprocess ? readPreprocess(f.preprocess) : undefined;
      quantization = { by: "given", passes: [], ...(Object.keys(inputValues).length ? { inputValues } : {}) };
    } else {
      const q = await quantizeFile(file, f, { write: false, keepFp32: true, keepFloat: true, noEval: true });
      reference = q.floatGraph && encodeModel(q.floatGraph).bytes;
      passes = q.report.passes.map((p) => ({ pass: p.pass, summary: p.summary, nodes: p.nodes }));
      fp32 = encodeModel(q.fp32!).bytes;
      int8 = encodeModel(q.parts?.device ?? q.model).bytes;
      if (q.parts) {
        const { head, tail, cut } = q.parts;
        split = { head: head && encodeModel(head).bytes, tail: tail && encodeModel(tail).bytes, whole: encodeModel(q.model).bytes, cut };
      }
      profile = q.profile!;
      preprocess = q.preprocess;
      const r = q.report;
      quantization = {
        by: "edgeq",
        options: { ...r.quantize.options } as Record<string, unknown>,
        calibration: { ...r.calibration } as Record<string, unknown>,
        samples: r.samples,
        passes: r.passes.map((p) => ({ pass: p.pass, params: p.params, summary: p.summary })),
        ...(Object.keys(q.inputValues).length ? { inputValues: q.inputValues } : {}),
        ...(Object.keys(q.fixedShapes).length ? { inputShapes: q.fixedShapes } : {}),
      };
      // What report.json keeps of the quantize report: no times, no paths (the same inputs give the same bytes).
      const { ms: _ms, ...rest } = r;
      quantizeReport = { quantize: rest };
    }
    const graph = decodeModel(split?.whole ?? int8).graph;
    const evalData = await openDataset(f.eval, graph.inputs.filter((v) => !graph.initializers.has(v.name)), { preprocess });
    const result = await bundle({
      fp32,
      model: int8,
      profile,
      eval: evalData,
      metrics: metric ? { [f.metric!]: metric } : {},
      golden,
      quantization,
      preprocessing: "preprocess" in evalData ? { ...(evalData as { preprocess: object }).preprocess } as Record<string, unknown> : null,
      report: quantizeReport,
      split,
      reference,
      passes,
      title: path.basename(file),
      onProgress: (step, done, total) => progress(step === "evaluate" ? "evaluating" : "golden samples", done, total),
    });
    progress("");
    try {
      atomicWrite(out, (fd) => fs.writeSync(fd, result.bytes));
    } catch (e) {
      throw new InputError(`Cannot write bundle "${out}": ${(e as Error).message}`);
    }
    const m = result.manifest;
    if (f.json) {
      print(JSON.stringify({ model: file, out, bytes: result.bytes.length, manifest: m }, jsonNumbers, 2));
      return;
    }
    print(`${file} → ${out} for target ${profile.name}: ${Object.keys(m.entries).length + 1} entries, ${mib(result.bytes.length)}; model validates clean`);
    if (split) print(`  split: the device runs model.onnx, the host ${[m.files.hostHead, m.files.hostTail].filter(Boolean).join(" and ")}`);
    for (const line of accuracyLines(m)) print(`  ${line}`);
    print(`  golden: ${m.golden.length} samples; verify tolerances from ${m.tolerances.derivedFrom.join(" vs ")}`);
  });

cli
  .command("verify <bundle>", "Check a bundle's entries, manifest and target, and run its golden samples: exit 0 pass, 1 fail, 2 unreadable")
  .option("--runtime <r>", "node (default), web (onnxruntime-web, wasm) or a module path exporting edgeq's Runtime as `runtime` or default")
  .option("--max-entry-size <bytes>", `Largest entry accepted (default ${DEFAULT_TAR_LIMITS.maxEntryBytes}; K/M/G suffixes)`)
  .option("--max-bundle-size <bytes>", `Largest bundle accepted (default ${DEFAULT_TAR_LIMITS.maxTotalBytes}; K/M/G suffixes)`)
  .option("--extract <dir>", "Also write the bundle's entries into DIR (a new or empty folder), after the safety checks")
  .option("--json", "Print the report as one JSON document")
  .example("edgeq verify cls.tar")
  .example("edgeq verify cls.tar --runtime web --json")
  .example("edgeq verify cls.tar --runtime ./vendor-runtime.mjs")
  .action(async (file: string, f: { runtime?: string; maxEntrySize?: string | number; maxBundleSize?: string | number; extract?: string; json?: boolean }) => {
    if (f.extract && fs.existsSync(f.extract) && (!fs.statSync(f.extract).isDirectory() || fs.readdirSync(f.extract).length)) {
      throw new InputError(`Refusing to extract into "${f.extract}": not an empty folder`);
    }
    const limits = {
      maxEntryBytes: bytesOption("--max-entry-size", f.maxEntrySize, DEFAULT_TAR_LIMITS.maxEntryBytes),
      maxTotalBytes: bytesOption("--max-bundle-size", f.maxBundleSize, DEFAULT_TAR_LIMITS.maxTotalBytes),
    };
    const runtime = await runtimeOption(f.runtime);
    let size: number;
    try {
      const st = fs.statSync(file);
      if (!st.isFile()) throw new InputError(`Cannot read bundle "${file}": not a regular file`);
      size = st.size;
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`Cannot read bundle "${file}": no such file`);
    }
    if (size > limits.maxTotalBytes) throw new InputError(`Cannot read bundle "${file}": ${size} bytes, over the bundle limit of ${limits.maxTotalBytes} (--max-bundle-size)`);
    // A vendor's runtime runs the device model; the float host parts of a split bundle run on onnxruntime-node.
    const hostRuntime = typeof runtime === "string" ? runtime : "node";
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = await verifyBundle(bytes, { runtime, hostRuntime, limits, source: file });
    if (f.extract) extractEntries(await readTar(bytes, file, limits), f.extract);
    if (f.json) print(JSON.stringify({ bundle: file, ...report }, jsonNumbers, 2));
    else print(formatVerifyReport(report, file));
    if (f.extract && !f.json) print(`extracted ${report.entries} entries to ${f.extract}`);
    process.exitCode = report.ok ? 0 : 1;
  });

/** The accuracy lines of a bundle's eval: task metrics, then agreement and SQNR per output. */
function accuracyLines(m: Manifest): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines = m.eval.metrics.map((x) =>
    `accuracy (${x.metric} ${x.name}, ${m.eval.samples} held-out samples): FP32 ${pct(x.fp32)} → INT8 ${pct(x.int8)} (${x.drop === 0 ? "no change" : `${x.drop > 0 ? "−" : "+"}${(100 * Math.abs(x.drop)).toFixed(2)} points`})`
  );
  for (const o of m.eval.outputs) {
    lines.push(`output "${o.name}": SQNR ${o.sqnrDb.toFixed(1)} dB, cosine ${o.cosine.toFixed(4)}${o.top1Agreement !== undefined ? `, top-1 agreement ${pct(o.top1Agreement)}` : ""}`);
  }
  return lines;
}

/**
 * Writes checked entries (safe relative names, see readTar) under `dir`:
 * into a sibling temporary folder first, renamed into place when complete.
 */
function extractEntries(entries: ReadonlyMap<string, Uint8Array>, dir: string): void {
  const target = path.resolve(dir);
  const tmp = `${target}.${process.pid}.partial`;
  try {
    for (const [name, data] of entries) {
      const file = path.join(tmp, ...name.split("/"));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, data);
    }
    if (fs.existsSync(target)) fs.rmdirSync(target);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new InputError(`Cannot extract into "${dir}": ${(e as Error).message}`);
  }
}

/** A byte count option: an integer with an optional K/M/G (binary) suffix. */
function bytesOption(flag: string, v: string | number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(String(v).trim());
  const n = m ? Number(m[1]) * 1024 ** " KMG".indexOf((m[2] || " ").toUpperCase()) : NaN;
  if (!(n >= 1)) throw new InputError(`Option ${flag} must be a byte count such as 500000, 64M or 2G, got "${v}"`);
  return n;
}

/** `--runtime`: a built-in backend's name, or a module that exports a Runtime as `runtime` or default. */
async function runtimeOption(v: string | undefined): Promise<Runtime | RuntimeName> {
  if (v === undefined || (RUNTIME_NAMES as readonly string[]).includes(v)) return (v ?? "node") as RuntimeName;
  if (!/[\\/.]/.test(v)) throw new InputError(`Option --runtime must be ${RUNTIME_NAMES.join(", ")} or a module path, got "${v}"`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path.resolve(v)).href);
  } catch (e) {
    throw new InputError(`Cannot load runtime module "${v}": ${(e as Error).message.split("\n")[0]}`);
  }
  const rt = (mod.runtime ?? mod.default) as Partial<Runtime> | undefined;
  if (!rt || typeof rt.createSession !== "function" || typeof rt.name !== "string") {
    throw new InputError(`Runtime module "${v}" exports no Runtime: export { runtime } (or a default) with a name and createSession(model, options)`);
  }
  return rt as Runtime;
}

cli
  .command("report <model>", "Write the HTML report of a quantized model or of a bundle (.tar): one self-contained page with charts")
  .option("-o, --out <file>", "Report to write (default: <name>.report.html in the current folder)")
  .option("--target <name|path>", "MODEL: validate against this target and show the result")
  .option("--fp32 <file>", "MODEL: the FP32 model it was made from (sizes; with --eval, metrics and latency)")
  .option("--eval <dir>", "MODEL: held-out samples to compare FP32 and INT8 on (needs --fp32)")
  .option("--metric <name>", `MODEL with --eval: task metric on the labels: ${Object.keys(METRICS).join(", ")}`)
  .option("--dictionary <file>", "--metric recognizer: the character dictionary")
  .option("--json", "Print what was written as one JSON document")
  .example("edgeq report cls.tar -o cls.html            # the bundle's own report (per-layer SQNR included)")
  .example("edgeq report cls.int8.onnx --target npu-int8-only --fp32 cls.onnx --eval eval/ -o cls.html")
  .action(async (file: string, f: { out?: string; target?: string; fp32?: string; eval?: string; metric?: string; dictionary?: string; json?: boolean }) => {
    const out = f.out ?? `${path.basename(file).replace(/\.(onnx|tar)$/i, "")}.report.html`;
    for (const input of [file, f.fp32]) {
      if (input && path.resolve(out) === path.resolve(input)) throw new InputError(`Refusing to overwrite the input "${input}": choose another --out`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(file));
    } catch {
      throw new InputError(`Cannot read "${file}": no such file`);
    }
    let html: string;
    // A tar's first header has "ustar" at offset 257.
    if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
      if (f.target || f.fp32 || f.eval) throw new InputError("Options --target, --fp32 and --eval are for a model: a bundle's report was made with the bundle");
      const entries = await readTar(bytes, file);
      const page = entries.get("report.html");
      if (!page) throw new InputError(`Cannot report on bundle "${file}": it has no report.html (made by an edgeq before reports)`);
      html = new TextDecoder().decode(page);
    } else {
      if (f.eval && !f.fp32) throw new InputError("Option --eval needs --fp32: the FP32 model to compare with");
      if (f.metric !== undefined && !Object.hasOwn(METRICS, f.metric)) throw new InputError(`Option --metric must be one of ${Object.keys(METRICS).join(", ")}, got "${f.metric}"`);
      const model = readModel(file);
      const profile = f.target ? loadTarget(f.target) : undefined;
      const validation = profile ? validateModel(model, profile, { file }) : undefined;
      let evaluation: Awaited<ReturnType<typeof compareModels>> | undefined;
      if (f.eval && f.fp32) {
        const progress = progressLine();
        const data = await openDataset(f.eval, model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)));
        const metric = f.metric ? METRICS[f.metric](f.dictionary) : undefined;
        evaluation = await compareModels(f.fp32, bytes, data, { metrics: metric ? { [f.metric!]: metric } : {}, onProgress: (d, t) => progress("evaluating", d, t) });
        progress("");
      }
      html = renderReport({
        title: path.basename(file),
        model,
        target: profile?.name,
        edgeq: VERSION,
        eval: evaluation && reportEval(evaluation),
        sizes: { int8: bytes.length, ...(f.fp32 ? { fp32: fs.statSync(f.fp32).size } : {}) },
        latency: evaluation && { fp32Ms: evaluation.timing.fp32Ms / evaluation.samples, int8Ms: evaluation.timing.quantizedMs / evaluation.samples, runtime: "onnxruntime-node, mean per sample" },
        validation: validation && reportValidation(validation),
      });
    }
    try {
      atomicWrite(out, (fd) => fs.writeSync(fd, html));
    } catch (e) {
      throw new InputError(`Cannot write report "${out}": ${(e as Error).message}`);
    }
    const charts = [...html.matchAll(/<svg class="chart" id="([^"]+)"/g)].map((m) => m[1]);
    if (f.json) print(JSON.stringify({ input: file, out, bytes: html.length, charts }, null, 2));
    else print(`${file} → ${out} (${(html.length / 1024).toFixed(0)} KiB, ${charts.length} charts)`);
  });

cli
  .command("validate <model>", "Check a model against a target profile: exit 0 clean, 1 with violations")
  .option("--target <name|path>", "Target profile: a built-in name (see edgeq targets) or a .json path")
  .option("--format <format>", "text (default), json, sarif or junit")
  .option("-o, --out <file>", "Write the report to a file; stdout then gets the text report")
  .option("--json", "Same as --format json")
  .example("edgeq validate model.int8.onnx --target npu-int8-only")
  .example("edgeq validate model.int8.onnx --target npu-int8-only --format sarif -o edgeq.sarif")
  .action((file: string, f: { target?: string; format?: string; out?: string; json?: boolean }) => {
    if (!f.target) throw new InputError("Missing option --target: a built-in target name (see edgeq targets) or a profile .json");
    const format = f.format ?? (f.json ? "json" : "text");
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
      throw new InputError(`Option --format must be one of ${REPORT_FORMATS.join(", ")}, got "${format}"`);
    }
    if (f.out && path.resolve(f.out) === path.resolve(file)) {
      throw new InputError(`Refusing to overwrite the model "${file}" with the report: choose another --out`);
    }
    const profile = loadTarget(f.target);
    const report = validateModel(readModel(file), profile, { file });
    const out = formatReport(report, format as ReportFormat);
    if (f.out) {
      try {
        fs.writeFileSync(f.out, `${out}\n`);
      } catch (e) {
        throw new InputError(`Cannot write report "${f.out}": ${(e as Error).message}`);
      }
      print(formatReport(report, "text"));
    } else print(out);
    // Warnings alone pass: only errors fail a release.
    process.exitCode = report.summary.errors ? 1 : 0;
  });

cli.option("--quiet", "No progress lines on stderr (errors still print)");
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
      // ONNX Runtime saw bytes edgeq made from the file: name the file.
      const file = cli.args[0];
      const message = e instanceof RuntimeModelError && file
        ? e.message.replace(/^Cannot (open|run) model \(\d+ bytes\)/, (_, verb) => `Cannot ${verb} model ${JSON.stringify(file)}`)
        : e.message;
      process.stderr.write(`edgeq: ${message}\n`);
      process.exitCode = 2;
      return;
    }
    if (e instanceof TargetViolationError) {
      process.stderr.write(`edgeq: ${e.message}\n${e.details.map((d) => `  ${d}\n`).join("")}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

await main();
