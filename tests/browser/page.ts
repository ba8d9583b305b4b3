/**
 * The page script of the browser tests, bundled by esbuild: edgeq's
 * verifyBundle with the onnxruntime-web backend, as a deployment in a
 * browser would run it. The wasm files are served under `/ort/`.
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { verifyBundle } from "../../src/bundle/verify.ts";
import { runtime } from "../../src/runtime/web.ts";

ort.env.wasm.wasmPaths = "/ort/";

/** Fetches the bundle at `url` and verifies it in this page. */
async function edgeqVerify(url: string): Promise<unknown> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  try {
    return await verifyBundle(bytes, { runtime, source: url });
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

(globalThis as { edgeqVerify?: typeof edgeqVerify }).edgeqVerify = edgeqVerify;
