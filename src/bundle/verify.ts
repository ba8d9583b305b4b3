/**
 * `verifyBundle`: proves a bundle still is what it says and still behaves —
 * entries intact, manifest unedited, model valid for the embedded target,
 * golden outputs reproduced on the chosen runtime within the tolerances.
 * Reads everything from memory; runs in Node, Deno and browsers.
 *
 * @module
 */
import { readNpy } from "../data/npy.ts";
import { InputError } from "../errors.ts";
import { floatData, resolveRuntime } from "../eval/_session.ts";
import { maxAbsDiff, sqnrDb } from "../eval/metrics.ts";
import { decodeModel } from "../onnx/decode.ts";
import type { Runtime, RuntimeName, SessionOptions, TensorValue } from "../runtime/types.ts";
import { profileProblems } from "../targets/check.ts";
import { schemaErrors } from "../targets/schema.ts";
import { TARGET_SCHEMA } from "../targets/target_schema.ts";
import type { TargetProfile } from "../targets/types.ts";
import { validateModel } from "../validate/validate.ts";
import { capDb, type Manifest, manifestProblems, sha256Hex } from "./manifest.ts";
import { readTar, type TarLimits } from "./tar.ts";
import { openChain } from "./chain.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** Options of {@linkcode verifyBundle}; each field's default is in its doc. */
export interface VerifyOptions {
  /** The runtime that runs the golden inputs, or its name. Default `"node"`. */
  runtime: Runtime | RuntimeName;
  /** Size limits of the archive. Default: {@linkcode DEFAULT_TAR_LIMITS}. */
  limits: Partial<TarLimits>;
  /** How messages name the bundle, e.g. its file. Default `"bundle"`. */
  source: string;
  /** The runtime that runs a split model's float host parts, or its name. Default: `runtime`. */
  hostRuntime: Runtime | RuntimeName;
  /** Session options for the runtime. Default `{}`. */
  session: Partial<SessionOptions>;
}

/** One check and its outcome. */
export interface VerifyCheck {
  /** `entries`, `manifest`, `target`, `golden`. */
  check: string;
  /** The entry it concerns, when one. */
  entry?: string;
  ok: boolean;
  detail: string;
}

/** One output of one golden sample on the runtime, against the INT8 reference. */
export interface GoldenComparison {
  sample: string;
  output: string;
  maxAbsDiff: number;
  sqnrDb: number;
  /** Against the FP32 reference, for information (not checked). */
  fp32SqnrDb: number;
  tolerance: { maxAbsDiff: number; minSqnrDb: number };
  ok: boolean;
}

/** What {@linkcode verifyBundle} found. `ok` only when every check passed. */
export interface VerifyReport {
  ok: boolean;
  runtime: string;
  /** Target name and model's edgeq version, when the manifest could be read. */
  target?: string;
  edgeq?: string;
  entries: number;
  bytes: number;
  checks: VerifyCheck[];
  golden: GoldenComparison[];
  /** Wall time of the whole verification (ms); not part of any decision. */
  ms: number;
}

/**
 * Verifies the bundle in `bytes`. An archive that cannot be read safely (an
 * unsafe entry, a limit, truncation, trailing data) or holds no manifest
 * throws an {@linkcode InputError}; everything else is a check in the
 * report, which fails (`ok: false`) naming the entry at fault: a changed
 * byte, an edited manifest, an entry removed or added, a model the embedded
 * target rejects, an output out of tolerance.
 *
 * @example
 * ```ts
 * const report = await verifyBundle(await Deno.readFile("cls.tar"), { runtime: "web" });
 * console.log(formatVerifyReport(report));
 * ```
 */
export async function verifyBundle(bytes: Uint8Array, opts: Partial<VerifyOptions> = {}): Promise<VerifyReport> {
  const t0 = performance.now();
  const source = opts.source ?? "bundle";
  const entries = await readTar(bytes, source, opts.limits);
  const text = entries.get("manifest.json");
  if (!text) throw new InputError(`Cannot verify "${source}": not an edgeq bundle (no manifest.json among its ${entries.size} entries)`);
  const runtime = await resolveRuntime(opts.runtime ?? DEFAULT_RUNTIME);
  const report: VerifyReport = { ok: false, runtime: runtime.name, entries: entries.size, bytes: bytes.length, checks: [], golden: [], ms: 0 };
  const done = () => {
    report.ok = report.checks.every((c) => c.ok) && report.golden.every((g) => g.ok);
    report.ms = performance.now() - t0;
    return report;
  };
  const check = (c: VerifyCheck) => report.checks.push(c);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (e) {
    check({ check: "manifest", entry: "manifest.json", ok: false, detail: `not valid JSON (${(e as Error).message})` });
    return done();
  }
  const problems = await manifestProblems(json);
  if (problems.length) {
    check({ check: "manifest", entry: "manifest.json", ok: false, detail: problems.slice(0, 3).join("; ") + (problems.length > 3 ? `; … ${problems.length - 3} more` : "") });
    return done();
  }
  const m = json as Manifest;
  report.target = m.target.name;
  report.edgeq = m.edgeq;
  check({ check: "manifest", entry: "manifest.json", ok: true, detail: `format ${m.formatVersion}, written by edgeq ${m.edgeq}, digest matches` });

  // Every entry the manifest lists, byte for byte; nothing it does not list.
  let intact = true;
  for (const [name, want] of Object.entries(m.entries)) {
    const data = entries.get(name);
    const fail = (detail: string) => {
      intact = false;
      check({ check: "entries", entry: name, ok: false, detail });
    };
    if (!data) fail("listed in the manifest but missing from the bundle");
    else if (data.length !== want.size) fail(`${data.length} bytes, the manifest says ${want.size}`);
    else if ((await sha256Hex(data)) !== want.sha256) fail("sha256 differs from the manifest's: the entry was changed");
  }
  for (const name of entries.keys()) {
    if (name !== "manifest.json" && !Object.hasOwn(m.entries, name)) {
      intact = false;
      check({ check: "entries", entry: name, ok: false, detail: "in the bundle but not in the manifest: an added entry" });
    }
  }
  const referenced = [m.files.model, m.files.hostHead, m.files.hostTail, m.files.report, m.files.reportHtml, ...m.golden.flatMap((g) => [g.inputs, g.fp32, g.int8].flatMap(Object.values))];
  for (const name of referenced) {
    if (name !== undefined && !Object.hasOwn(m.entries, name)) {
      intact = false;
      check({ check: "entries", entry: name, ok: false, detail: "the manifest names it but lists no checksum for it" });
    }
  }
  if (!intact) return done();
  check({ check: "entries", ok: true, detail: `${Object.keys(m.entries).length} entries, sizes and sha256 match` });

  // The model against the target it claims.
  const profile = m.target as TargetProfile;
  const schemaBad = schemaErrors(profile, TARGET_SCHEMA);
  const bad = schemaBad.length ? schemaBad : profileProblems(profile);
  if (bad.length) {
    check({ check: "target", entry: "manifest.json", ok: false, detail: `the embedded profile is not a valid profile: ${bad[0]}` });
    return done();
  }
  let model;
  try {
    model = decodeModel(entries.get(m.files.model)!);
  } catch (e) {
    check({ check: "target", entry: m.files.model, ok: false, detail: `not a readable model: ${(e as Error).message}` });
    return done();
  }
  const validation = validateModel(model, profile, { file: m.files.model });
  const errors = validation.rules.flatMap((r) => r.violations.filter((v) => v.severity === "error").map((v) => `${r.id}: ${v.message}`));
  check({
    check: "target",
    entry: m.files.model,
    ok: errors.length === 0,
    detail: errors.length ? `${errors.length} violations of "${profile.name}": ${errors[0]}` : `no violations of "${profile.name}"`,
  });

  // The golden inputs on this runtime against the INT8 references.
  const host = m.files.hostHead || m.files.hostTail ? await resolveRuntime(opts.hostRuntime ?? runtime) : undefined;
  const session = host
    ? await openChain(
      { head: m.files.hostHead && entries.get(m.files.hostHead), device: entries.get(m.files.model)!, tail: m.files.hostTail && entries.get(m.files.hostTail) },
      { device: runtime, host },
      m.outputs.map((o) => o.name),
      { ...opts.session, modelName: `${source}:` },
    )
    : await runtime.createSession(entries.get(m.files.model)!, { ...opts.session, modelName: `${source}:${m.files.model}` });
  try {
    for (const g of m.golden) {
      const feeds: Record<string, TensorValue> = {};
      for (const [name, file] of Object.entries(g.inputs)) {
        const x = readNpy(entries.get(file)!, `${source}:${file}`);
        feeds[name] = { dtype: "float32", dims: x.shape, data: x.data };
      }
      const outs = await session.run(feeds, Object.keys(g.int8));
      for (const [name, file] of Object.entries(g.int8)) {
        const want = readNpy(entries.get(file)!, `${source}:${file}`);
        const fp32 = readNpy(entries.get(g.fp32[name])!, `${source}:${g.fp32[name]}`);
        const got = outs[name];
        const tol = m.tolerances.outputs[name];
        const sameShape = got !== undefined && got.dims.length === want.shape.length && got.dims.every((d, i) => d === want.shape[i]);
        const y = got ? floatData(got) ?? Float32Array.from(got.data as ArrayLike<number>, Number) : undefined;
        const diff = sameShape && y ? maxAbsDiff(want.data, y) : Infinity;
        const sqnr = sameShape && y ? capDb(sqnrDb(want.data, y)) : -Infinity;
        report.golden.push({
          sample: g.id,
          output: name,
          maxAbsDiff: diff,
          sqnrDb: sqnr,
          fp32SqnrDb: sameShape && y ? capDb(sqnrDb(fp32.data, y)) : -Infinity,
          tolerance: tol ? { maxAbsDiff: tol.maxAbsDiff, minSqnrDb: tol.minSqnrDb } : { maxAbsDiff: 0, minSqnrDb: Infinity },
          ok: Boolean(tol) && sameShape && diff <= tol.maxAbsDiff && sqnr >= tol.minSqnrDb,
        });
      }
    }
  } finally {
    await session.release();
  }
  const failed = report.golden.filter((g) => !g.ok);
  check({
    check: "golden",
    ok: failed.length === 0,
    detail: failed.length
      ? `${failed.length} of ${report.golden.length} outputs out of tolerance on ${runtime.name}, first: "${failed[0].output}" of sample ${failed[0].sample}`
      : `${m.golden.length} samples × ${Object.keys(m.tolerances.outputs).length} outputs within tolerance on ${runtime.name}${host ? ` (host parts on ${host.name})` : ""}`,
  });
  return done();
}

/**
 * A verify report for a terminal: one line per check, the golden table, and
 * the verdict last.
 *
 * @example
 * ```ts
 * console.log(formatVerifyReport(await verifyBundle(bytes), "cls.tar"));
 * // cls.tar: 13 entries, 886784 bytes, target npu-int8-only, edgeq 0.1.0; runtime node
 * //   ok    manifest manifest.json: format 1, written by edgeq 0.1.0, digest matches
 * // …
 * // PASS in 0.21 s
 * ```
 */
export function formatVerifyReport(r: VerifyReport, source = "bundle"): string {
  const lines = [`${source}: ${r.entries} entries, ${r.bytes} bytes${r.target ? `, target ${r.target}` : ""}${r.edgeq ? `, edgeq ${r.edgeq}` : ""}; runtime ${r.runtime}`];
  for (const c of r.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.check.padEnd(8)} ${c.entry ? `${c.entry}: ` : ""}${c.detail}`);
  if (r.golden.length) {
    const head = ["sample", "output", "max |Δ|", "tol", "SQNR dB", "min", "vs FP32", ""];
    const num = (x: number) => (x === 0 ? "0" : Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(4));
    const db = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
    const rows = r.golden.map((g) => [g.sample, g.output, num(g.maxAbsDiff), num(g.tolerance.maxAbsDiff), db(g.sqnrDb), db(g.tolerance.minSqnrDb), db(g.fp32SqnrDb), g.ok ? "ok" : "FAIL"]);
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    for (const row of [head, ...rows]) lines.push(`  ${row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")}`.trimEnd());
  }
  lines.push(`${r.ok ? "PASS" : "FAIL"} in ${(r.ms / 1000).toFixed(2)} s`);
  return lines.join("\n");
}
