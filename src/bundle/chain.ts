/**
 * A split model run as one: the float host head, the device model and the
 * float host tail in sequence, each part reading what the parts before it
 * (or the caller) produced, behind the {@linkcode Session} interface.
 *
 * @module
 */
import type { Runtime, Session, SessionOptions, TensorValue } from "../runtime/types.ts";

/** The parts of a split model, as bytes; `head` and `tail` are optional. */
export interface SplitParts {
  head?: Uint8Array;
  device: Uint8Array;
  tail?: Uint8Array;
}

/**
 * Opens the parts (the device model on `device`, the host parts on `host`)
 * as one session (`options.modelName` prefixes the part names in errors) whose inputs are what the caller must feed and whose
 * outputs are the whole model's (`outputNames`, in its order).
 *
 * @example
 * ```ts
 * const rt = await getRuntime("node");
 * const s = await openChain({ device, tail }, { device: rt, host: rt }, ["scores"]);
 * const { scores } = await s.run({ x });
 * await s.release();
 * ```
 */
export async function openChain(
  parts: SplitParts,
  runtimes: { device: Runtime; host: Runtime },
  outputNames: readonly string[],
  options: Partial<SessionOptions> = {},
): Promise<Session> {
  const opened: Session[] = [];
  try {
    const head = parts.head ? await runtimes.host.createSession(parts.head, { ...options, modelName: `${options.modelName ?? ""}host-head.onnx` }) : undefined;
    if (head) opened.push(head);
    const device = await runtimes.device.createSession(parts.device, { ...options, modelName: `${options.modelName ?? ""}model.onnx` });
    opened.push(device);
    const tail = parts.tail ? await runtimes.host.createSession(parts.tail, { ...options, modelName: `${options.modelName ?? ""}host-tail.onnx` }) : undefined;
    if (tail) opened.push(tail);
    const made = new Set(opened.flatMap((s) => s.outputNames));
    const inputNames = [...new Set(opened.flatMap((s) => s.inputNames))].filter((n) => !made.has(n));
    const meta = new Map(opened.flatMap((s) => s.inputNames.map((n, i) => [n, s.inputMetadata[i]] as const)));
    const outMeta = new Map(opened.flatMap((s) => s.outputNames.map((n, i) => [n, s.outputMetadata[i]] as const)));
    return {
      inputNames,
      outputNames: [...outputNames],
      inputMetadata: inputNames.map((n) => meta.get(n)!),
      outputMetadata: outputNames.map((n) => outMeta.get(n) ?? { name: n, isTensor: true, dtype: null, shape: null }),
      async run(feeds, fetches) {
        const values: Record<string, TensorValue> = { ...feeds };
        for (const s of opened) {
          const mine = Object.fromEntries(s.inputNames.map((n) => [n, values[n]]));
          Object.assign(values, await s.run(mine));
        }
        return Object.fromEntries((fetches ?? outputNames).map((n) => [n, values[n]]));
      },
      async release() {
        await Promise.all(opened.map((s) => s.release()));
      },
    };
  } catch (e) {
    await Promise.all(opened.map((s) => s.release()));
    throw e;
  }
}
