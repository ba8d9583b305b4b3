/**
 * `bundle`: an INT8 model packed with what proves it works — the manifest
 * (target, settings, I/O, eval, tolerances), golden inputs with their FP32
 * and INT8 outputs, and the full report — as one deterministic tar.
 *
 * @module
 */
import { encodeNpy } from "../data/npy.ts";
import type { Dataset } from "../data/types.ts";
import { TargetViolationError } from "../errors.ts";
import { compareModels, type EvalReport } from "../eval/compare.ts";
import { layerErrors } from "../eval/layer_errors.ts";
import { renderReport, reportEval, reportValidation } from "../report/report.ts";
import { feedsOf, floatData, resolveRuntime } from "../eval/_session.ts";
import { maxAbsDiff, sqnrDb } from "../eval/metrics.ts";
import type { MetricFactory } from "../eval/types.ts";
import type { Model } from "../ir/model.ts";
import { decodeModel } from "../onnx/decode.ts";
import type { Runtime, RuntimeName, Session, TensorValue } from "../runtime/types.ts";
import type { TargetProfile } from "../targets/types.ts";
import type { Report } from "../validate/report.ts";
import { validateModel } from "../validate/validate.ts";
import { VERSION } from "../version.ts";
import { capDb, DB_CAP, encodeManifest, type GoldenFiles, type IoSpec, type Manifest, type OutputTolerance, sha256Hex } from "./manifest.ts";
import { type TarEntry, writeTar } from "./tar.ts";
import { openChain } from "./chain.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** What {@linkcode bundle} packs; each optional field's default is in its doc. */
export interface BundleOptions {
  /** The FP32 model the INT8 one was made from: the reference outputs come from it. */
  fp32: Uint8Array;
  /** The INT8 model the device runs. */
  model: Uint8Array;
  /** The target it was quantized for; the bundle embeds it and refuses a model that violates it. */
  profile: TargetProfile;
  /** Held-out samples for the eval and the golden set (the first `golden` of them). */
  eval: Dataset;
  /** Task metrics by name, computed on both models with the samples' labels. Default: none (agreement and SQNR only). */
  metrics?: Readonly<Record<string, MetricFactory>>;
  /** Golden samples kept in the bundle. Default 4. */
  golden?: number;
  /**
   * Runtimes whose INT8 outputs on the golden samples are compared to derive
   * the tolerances; the first also runs the eval and makes the references.
   * Default `["node", "web"]` (in a browser `["web"]`).
   */
  runtimes?: readonly (Runtime | RuntimeName)[];
  /** How the model was quantized. Default `{ by: "given", passes: [] }`. */
  quantization?: Manifest["quantization"];
  /** The preprocessing the eval data went through. Default: none (`null`). */
  preprocessing?: Record<string, unknown> | null;
  /**
   * A split model (`quantize --split`): `model` is then the device part, and
   * these are the float host parts, the whole quantized model the parts cut
   * from (the eval runs it: the parts in sequence compute it), and the values
   * passed between the parts. Default: not split.
   */
  split?: { head?: Uint8Array; tail?: Uint8Array; whole: Uint8Array; cut: Record<string, string[]> };
  /**
   * The float model as the quantizer read it (after the graph passes, see
   * `QuantizeModelOptions.onFloatGraph`): with it, the report has per-layer
   * SQNR, measured on the first 8 eval samples. Default: none.
   */
  reference?: Uint8Array;
  /** The passes that ran with the nodes each changed, for the report. Default: none. */
  passes?: readonly { pass: string; summary: string; nodes: readonly string[] }[];
  /** Extra JSON for `report.json` (e.g. the quantize report). Default: none. */
  report?: Record<string, unknown>;
  /** How the report names the model (e.g. its file's base name). Default `"model.onnx"`. */
  title?: string;
  /** Progress of the long steps. Default: none. */
  onProgress?: (step: "evaluate" | "golden", done: number, total: number) => void;
}

/** What {@linkcode bundle} made. */
export interface BundleResult {
  bytes: Uint8Array;
  manifest: Manifest;
  evaluation: EvalReport;
  validation: Report;
}

/**
 * Validates `model` against the profile (a violation throws a
 * {@linkcode TargetViolationError}), evaluates it against the FP32 model on
 * the eval samples, records golden inputs and outputs, derives verify's
 * tolerances from how far the INT8 outputs of two runtimes differ, and
 * writes the tar. The same inputs give the same bytes: nothing in it
 * depends on the time, the machine or the working directory.
 *
 * @example
 * ```ts
 * const { bytes, manifest } = await bundle({ fp32, model: int8, profile: loadTarget("npu-int8-only"), eval: data });
 * await Deno.writeFile("cls.tar", bytes);
 * ```
 */
export async function bundle(opts: BundleOptions): Promise<BundleResult> {
  const decoded = decodeModel(opts.model);
  const validation = validateModel(decoded, opts.profile, { file: "model.onnx" });
  if (validation.summary.errors) {
    const lines = validation.rules.flatMap((r) => r.violations.filter((v) => v.severity === "error").map((v) => `${r.id}: ${v.message}`));
    throw new TargetViolationError(
      `Cannot bundle: the model violates target "${opts.profile.name}" (${validation.summary.errors} errors)`,
      [...lines.slice(0, 8), ...(lines.length > 8 ? [`… and ${lines.length - 8} more (edgeq validate lists them all)`] : [])],
    );
  }
  const runtimes = await Promise.all((opts.runtimes ?? (DEFAULT_RUNTIME === "web" ? ["web" as const] : ["node", "web"] as const)).map(resolveRuntime));
  if (!runtimes.length) throw new RangeError("bundle: runtimes must name at least one runtime");
  const split = opts.split;
  const whole = split ? decodeModel(split.whole) : decoded;
  const outputNames = whole.graph.outputs.map((v) => v.name);
  const open = (rt: Runtime): Promise<Session> =>
    split ? openChain({ head: split.head, device: opts.model, tail: split.tail }, { device: rt, host: rt }, outputNames) : rt.createSession(opts.model);
  const evaluation = await compareModels(opts.fp32, split?.whole ?? opts.model, opts.eval, {
    runtime: runtimes[0],
    metrics: opts.metrics ?? {},
    onProgress: (d, t) => opts.onProgress?.("evaluate", d, t),
  });

  const count = Math.min(opts.golden ?? 4, opts.eval.size);
  const entries: TarEntry[] = [{ name: "model.onnx", data: opts.model }];
  if (split?.head) entries.push({ name: "host-head.onnx", data: split.head });
  if (split?.tail) entries.push({ name: "host-tail.onnx", data: split.tail });
  const golden: Manifest["golden"] = [];
  const spread = new Map<string, { maxAbs: number; minSqnr: number; quantSqnr: number; maxRef: number; minPower: number }>();
  const outputDims = new Map<string, number[]>();
  const inputDims = new Map<string, number[]>();
  const fp32 = await runtimes[0].createSession(opts.fp32);
  const int8: Session[] = [];
  try {
    for (const rt of runtimes) int8.push(await open(rt));
    const names = outputNames;
    for (let i = 0; i < count; i++) {
      const feeds = await feedsOf(opts.eval, i, int8[0]);
      const ref = await fp32.run(feeds, names);
      const outs: Record<string, TensorValue>[] = [];
      for (const s of int8) outs.push(await s.run(feeds, names));
      const g = { id: opts.eval.id(i), inputs: {} as GoldenFiles, fp32: {} as GoldenFiles, int8: {} as GoldenFiles };
      int8[0].inputNames.forEach((name, k) => {
        const file = `golden/${i}/input-${k}.npy`;
        entries.push({ name: file, data: npy(feeds[name]) });
        g.inputs[name] = file;
        if (!inputDims.has(name)) inputDims.set(name, [...feeds[name].dims]);
      });
      names.forEach((name, k) => {
        entries.push({ name: `golden/${i}/fp32-${k}.npy`, data: npy(ref[name]) });
        entries.push({ name: `golden/${i}/int8-${k}.npy`, data: npy(outs[0][name]) });
        g.fp32[name] = `golden/${i}/fp32-${k}.npy`;
        g.int8[name] = `golden/${i}/int8-${k}.npy`;
        if (!outputDims.has(name)) outputDims.set(name, [...outs[0][name].dims]);
        const a = asFloat(outs[0][name]);
        const s = spread.get(name) ?? { maxAbs: 0, quantSqnr: Infinity, maxRef: 0, minPower: Infinity, minSqnr: Infinity };
        for (const other of outs.slice(1)) {
          const b = asFloat(other[name]);
          s.maxAbs = Math.max(s.maxAbs, maxAbsDiff(a, b));
          s.minSqnr = Math.min(s.minSqnr, capDb(sqnrDb(a, b)));
        }
        s.quantSqnr = Math.min(s.quantSqnr, capDb(sqnrDb(asFloat(ref[name]), a)));
        let power = 0;
        for (const v of a) {
          s.maxRef = Math.max(s.maxRef, Math.abs(v));
          power += v * v;
        }
        s.minPower = Math.min(s.minPower, power / Math.max(1, a.length));
        spread.set(name, s);
      });
      golden.push(g);
      opts.onProgress?.("golden", i + 1, count);
    }
  } finally {
    await Promise.all([fp32.release(), ...int8.map((s) => s.release())]);
  }

  const tolerances: Record<string, OutputTolerance> = {};
  // A float host tail makes the outputs it produces float.
  const tail = split?.tail ? decodeModel(split.tail) : undefined;
  for (const [name, s] of spread) {
    const step = tail?.graph.nodes.some((n) => n.outputs.includes(name)) ? 0 : outputStep(decoded, name);
    const spreadSqnrDb = capDb(s.minSqnr);
    // Twice what two runtimes were seen to differ by, and never below one output step: a runtime that
    // rounds the last requantization the other way is still right. A float output gets float32 noise.
    const maxAbs = Math.max(2 * s.maxAbs, step, 1e-5 * s.maxRef);
    // A runtime's own error must stay 10 dB under the quantization error, unless it is within maxAbs
    // everywhere: the SQNR an error of maxAbs on every element would give is the most asked.
    const uniform = s.minPower > 0 ? 10 * Math.log10(s.minPower / (maxAbs * maxAbs)) : -DB_CAP;
    tolerances[name] = {
      maxAbsDiff: maxAbs,
      minSqnrDb: capDb(Math.min(capDb(s.quantSqnr) + 10, uniform)),
      spreadMaxAbsDiff: s.maxAbs,
      spreadSqnrDb,
      outputStep: step,
      quantizationSqnrDb: capDb(s.quantSqnr),
    };
  }

  const layers = opts.reference
    ? (await layerErrors(decodeModel(opts.reference), whole, opts.eval, { runtime: runtimes[0], samples: Math.min(8, opts.eval.size) })).layers
    : undefined;
  const html = renderReport({
    title: opts.title ?? "model.onnx",
    model: decoded,
    target: opts.profile.name,
    edgeq: VERSION,
    passes: opts.passes,
    layers,
    eval: reportEval(evaluation),
    sizes: { fp32: opts.fp32.length, int8: opts.model.length + (split?.head?.length ?? 0) + (split?.tail?.length ?? 0) },
    validation: reportValidation(validation),
  });
  entries.push({ name: "report.html", data: new TextEncoder().encode(html) });
  const report = {
    ...(opts.report ?? {}),
    ...(layers ? { layers: layers.map((l) => ({ node: l.node, opType: l.opType, value: l.value, sqnrDb: l.sqnrDb, dropDb: l.dropDb })) } : {}),
    evaluation: { samples: evaluation.samples, outputs: evaluation.outputs, metrics: evaluation.metrics },
    validation: { summary: validation.summary, rules: validation.rules.map((r) => ({ id: r.id, violations: r.violations })) },
  };
  entries.push({ name: "report.json", data: new TextEncoder().encode(`${JSON.stringify(report, finite, 2)}\n`) });

  const table: Manifest["entries"] = {};
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : 1))) table[e.name] = { sha256: await sha256Hex(e.data), size: e.data.length };
  const io = (name: string, dims: Map<string, number[]>, declared: Model["graph"]["inputs"]): IoSpec => {
    const v = declared.find((x) => x.name === name);
    return { name, dtype: v?.dtype ?? "float32", shape: dims.get(name) ?? [] };
  };
  const { manifest, bytes } = await encodeManifest({
    formatVersion: 1,
    edgeq: VERSION,
    files: {
      model: "model.onnx",
      ...(split?.head ? { hostHead: "host-head.onnx" as const } : {}),
      ...(split?.tail ? { hostTail: "host-tail.onnx" as const } : {}),
      report: "report.json",
      reportHtml: "report.html",
    },
    ...(split ? { split: { cut: split.cut } } : {}),
    target: opts.profile,
    quantization: opts.quantization ?? { by: "given", passes: [] },
    inputs: int8Names(whole.graph.inputs, whole).map((n) => io(n, inputDims, whole.graph.inputs)),
    outputs: whole.graph.outputs.map((v) => io(v.name, outputDims, whole.graph.outputs)),
    preprocessing: opts.preprocessing ?? null,
    entries: table,
    eval: {
      samples: evaluation.samples,
      runtime: runtimes[0].name,
      metrics: evaluation.metrics.map((m) => ({ metric: m.metric, name: m.name, fp32: m.fp32, int8: m.quantized, drop: m.drop })),
      outputs: evaluation.outputs.map((o) => ({
        name: o.name,
        sqnrDb: capDb(o.sqnrDb),
        cosine: o.cosine,
        maxAbsDiff: o.maxAbsDiff,
        ...(o.top1Agreement !== undefined ? { top1Agreement: o.top1Agreement } : {}),
      })),
    },
    golden,
    tolerances: { derivedFrom: runtimes.map((r) => r.name), outputs: tolerances },
  });
  entries.push({ name: "manifest.json", data: bytes });
  return { bytes: await writeTar(entries), manifest, evaluation, validation };
}

/** Graph inputs that are not initializers, in order. */
function int8Names(inputs: Model["graph"]["inputs"], m: Model): string[] {
  return inputs.filter((v) => !m.graph.initializers.has(v.name)).map((v) => v.name);
}

/** A float view of any numeric output (golden files are float32 .npy). */
function asFloat(v: TensorValue): Float32Array {
  const f = floatData(v);
  if (f) return f;
  if (v.dtype === "string") throw new RangeError(`bundle: string outputs cannot be golden references`);
  return Float32Array.from(v.data as ArrayLike<number | bigint>, Number);
}

const npy = (v: TensorValue) => encodeNpy(v.dims, asFloat(v));

/** The scale of the DequantizeLinear that produces output `name` (its largest, if per channel), else 0. */
function outputStep(m: Model, name: string): number {
  const node = m.graph.nodes.find((n) => n.outputs.includes(name));
  if (!node || node.opType !== "DequantizeLinear") return 0;
  const scale = m.graph.initializers.get(node.inputs[1]);
  if (!scale || scale.dtype === "string") return 0;
  return scale.toFloat32().reduce((a, b) => Math.max(a, b), 0);
}

/**
 * JSON cannot hold ±Infinity or NaN: write them as strings. Wall times
 * (`ms`, `timing`) are left out: the same inputs must give the same bytes.
 */
function finite(key: string, v: unknown): unknown {
  if (key === "ms" || key === "timing") return undefined;
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}
