/**
 * `manifest.json`, the bundle's table of contents and contract: what the
 * model is, how it was quantized, what it was measured to do, and the
 * tolerances `verify` applies. Its JSON Schema is `manifest.schema.json`
 * beside this file (format version 1).
 *
 * @module
 */
import type { TargetProfile } from "../targets/types.ts";
import { type JsonSchema, schemaErrors } from "../targets/schema.ts";
import schema from "./manifest.schema.json" with { type: "json" };

/** The format version this edgeq writes and reads. */
export const MANIFEST_FORMAT_VERSION = 1;

/** The manifest's JSON Schema (draft 2020-12). */
export const MANIFEST_SCHEMA: JsonSchema = schema as JsonSchema;

/** A model input or output: name, element type and static dims. */
export interface IoSpec {
  name: string;
  dtype: string;
  shape: number[];
}

/** Entry name → tensor name → golden file. */
export type GoldenFiles = Record<string, string>;

/** What verify may let a runtime's output differ from the INT8 reference, and what it was derived from. */
export interface OutputTolerance {
  /** Largest |runtime − reference| accepted on any element. */
  maxAbsDiff: number;
  /** Smallest SQNR (dB) of the runtime's output against the reference accepted, per sample. */
  minSqnrDb: number;
  /** Largest |a − b| measured between the INT8 outputs of the `derivedFrom` runtimes. */
  spreadMaxAbsDiff: number;
  /** Smallest SQNR (dB) measured between them (capped at {@linkcode DB_CAP}). */
  spreadSqnrDb: number;
  /** The output's quantization step (the scale of the DequantizeLinear that makes it), 0 for a float output. */
  outputStep: number;
  /** SQNR (dB) of the INT8 against the FP32 output on the golden samples (the quantization error). */
  quantizationSqnrDb: number;
}

/** Format version 1 of `manifest.json`. */
export interface Manifest {
  formatVersion: 1;
  /** The edgeq version that wrote it. */
  edgeq: string;
  files: { model: "model.onnx"; hostHead?: "host-head.onnx"; hostTail?: "host-tail.onnx"; report?: "report.json"; reportHtml?: "report.html" };
  /** For a split model: the values the parts pass (head → device, device → tail, head → tail). */
  split?: { cut: Record<string, string[]> };
  /** The target profile, resolved. */
  target: TargetProfile;
  quantization: {
    /** `"edgeq"`: quantized by this bundle run; `"given"`: from `--quantized`, settings unknown. */
    by: "edgeq" | "given";
    options?: Record<string, unknown>;
    calibration?: Record<string, unknown>;
    samples?: number;
    passes: { pass: string; params: Record<string, unknown>; summary: string }[];
    inputValues?: Record<string, number[]>;
    inputShapes?: Record<string, unknown>;
  };
  inputs: IoSpec[];
  outputs: IoSpec[];
  /** The image preprocessing the eval data went through, or `null` for tensor folders. */
  preprocessing: Record<string, unknown> | null;
  /** sha256 (hex) and size of every entry but `manifest.json`. */
  entries: Record<string, { sha256: string; size: number }>;
  eval: {
    samples: number;
    /** The runtime the eval ran on. */
    runtime: string;
    metrics: { metric: string; name: string; fp32: number; int8: number; drop: number }[];
    outputs: { name: string; sqnrDb: number; cosine: number; maxAbsDiff: number; top1Agreement?: number }[];
  };
  golden: { id: string; inputs: GoldenFiles; fp32: GoldenFiles; int8: GoldenFiles }[];
  tolerances: { derivedFrom: string[]; outputs: Record<string, OutputTolerance> };
  integrity: { manifestSha256: string };
}

/** dB values are written capped here: JSON has no Infinity, and identical outputs give +∞. */
export const DB_CAP = 200;

/** `x` clamped to ±{@linkcode DB_CAP}; NaN (two zero signals) as the cap too. */
export const capDb = (x: number): number => (Number.isNaN(x) ? DB_CAP : Math.max(-DB_CAP, Math.min(DB_CAP, x)));

/** Lowercase hex sha256 of `bytes` (WebCrypto: Node, Deno and browsers alike). *
 * @example
 * ```ts
 * await sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf8f01cfea…"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The manifest's text without its `integrity` field: what {@linkcode Manifest.integrity} hashes. */
function unsealedText(m: Omit<Manifest, "integrity"> | Manifest): string {
  const { integrity: _, ...rest } = m as Manifest;
  return JSON.stringify(rest, null, 2);
}

/**
 * `manifest.json`'s bytes for `m`, with `integrity.manifestSha256` set to the
 * hash of the rest, so an edit anywhere in the manifest shows.
 *
 * @example
 * ```ts
 * const { manifest, bytes } = await encodeManifest(draft);
 * (await manifestProblems(JSON.parse(new TextDecoder().decode(bytes)))).length; // 0
 * ```
 */
export async function encodeManifest(m: Omit<Manifest, "integrity">): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const manifestSha256 = await sha256Hex(new TextEncoder().encode(unsealedText(m)));
  const manifest = { ...m, integrity: { manifestSha256 } } as Manifest;
  return { manifest, bytes: new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`) };
}

/**
 * What is wrong with a parsed `manifest.json`: schema violations (one line
 * each, naming the field), a format version this edgeq does not read, or a
 * digest that no longer matches (the manifest was edited). Empty when sound.
 *
 * @example
 * ```ts
 * await manifestProblems({ formatVersion: 2 }); // ['formatVersion 2 is not one this edgeq reads (1)']
 * ```
 */
export async function manifestProblems(json: unknown): Promise<string[]> {
  if (typeof json === "object" && json !== null && "formatVersion" in json && (json as Manifest).formatVersion !== MANIFEST_FORMAT_VERSION) {
    return [`formatVersion ${JSON.stringify((json as Manifest).formatVersion)} is not one this edgeq reads (${MANIFEST_FORMAT_VERSION})`];
  }
  const errors = schemaErrors(json, MANIFEST_SCHEMA);
  if (errors.length) return errors;
  const m = json as Manifest;
  const digest = await sha256Hex(new TextEncoder().encode(unsealedText(m)));
  if (digest !== m.integrity.manifestSha256) return ["edited after it was written: its content no longer matches integrity.manifestSha256"];
  return [];
}
