/**
 * Bundles: an INT8 model with its manifest, golden data and report in one
 * deterministic tar ({@linkcode bundle}), and the proof that it still
 * behaves on a runtime ({@linkcode verifyBundle}). Runs in Node, Deno and
 * browsers: everything works on bytes in memory.
 *
 * @example
 * ```ts
 * import { bundle, verifyBundle } from "edgeq";
 * const { bytes } = await bundle({ fp32, model, profile, eval: data });
 * const report = await verifyBundle(bytes, { runtime: "web" });
 * report.ok; // true
 * ```
 *
 * @module
 */
export { bundle, type BundleOptions, type BundleResult } from "./bundle.ts";
export {
  capDb,
  DB_CAP,
  encodeManifest,
  type IoSpec as BundleIoSpec,
  type Manifest,
  MANIFEST_FORMAT_VERSION,
  MANIFEST_SCHEMA,
  manifestProblems,
  type OutputTolerance,
  sha256Hex,
} from "./manifest.ts";
export { DEFAULT_TAR_LIMITS, readTar, type TarEntry, type TarLimits, UnsafeBundleError, unsafeName, writeTar } from "./tar.ts";
export { formatVerifyReport, type GoldenComparison, type VerifyCheck, verifyBundle, type VerifyOptions, type VerifyReport } from "./verify.ts";
