/**
 * NumPy `.npz` archives (`numpy.savez` and `numpy.savez_compressed`): a zip
 * of `.npy` files, one per array name.
 *
 * @module
 */
import { unzipSync } from "fflate";
import { InputError } from "../errors.ts";
import { type Npy, readNpy } from "./npy.ts";

/**
 * Reads every array of a `.npz` archive, by name (the entry name without
 * `.npy`). Each array must be float32 as {@linkcode readNpy} requires; its
 * errors name it as `"<source>/<entry>"`.
 *
 * @example
 * ```ts
 * const arrays = readNpz(fs.readFileSync("sample.npz"), "sample.npz");
 * arrays.get("x")?.shape;
 * ```
 */
export function readNpz(bytes: Uint8Array, source: string): Map<string, Npy> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new InputError(`Cannot read "${source}": not a valid .npz (zip) file (${(e as Error).message})`);
  }
  const out = new Map<string, Npy>();
  for (const [entry, data] of Object.entries(entries)) {
    if (entry.endsWith("/")) continue; // a folder entry
    if (!entry.endsWith(".npy")) throw new InputError(`Cannot read "${source}": entry "${entry}" is not a .npy array`);
    out.set(entry.slice(0, -4), readNpy(data, `${source}/${entry}`));
  }
  if (out.size === 0) throw new InputError(`Cannot read "${source}": no arrays`);
  return out;
}
