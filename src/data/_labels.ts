/**
 * Labels from a folder's `labels.json`, attached to a dataset.
 *
 * @module
 */
import { checkIndex } from "./_limit.ts";
import type { Dataset } from "./types.ts";

/** Adds `label(i)` when the folder has labels; a label is looked up by file name, then by name without extension. */
export function withLabels(ds: Dataset, names: readonly string[], labels: ReadonlyMap<string, unknown> | undefined): Dataset {
  if (!labels) return ds;
  return {
    ...ds,
    label(index: number): unknown {
      checkIndex(index, names.length);
      const name = names[index];
      return labels.has(name) ? labels.get(name) : labels.get(name.replace(/\.[^.]*$/, ""));
    },
  };
}
