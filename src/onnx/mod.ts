/**
 * ONNX I/O: bytes ↔ IR, and model files with external data.
 *
 * @module
 */
export { decodeModel, type DecodeOptions, type ExternalLoader } from "./decode.ts";
export { type Encoded, encodeModel, type ExternalFile, type ExternalPlan } from "./encode.ts";
export { atomicWrite, type ReadOptions, readModel, type WriteOptions, writeModel } from "./file.ts";
