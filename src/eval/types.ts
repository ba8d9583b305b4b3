/**
 * Evaluation contracts: task metrics as plug-ins that see one sample's
 * outputs (and its label) at a time.
 *
 * @module
 */
import type { TensorValue } from "../runtime/types.ts";

/**
 * A task metric, fed one sample at a time so memory stays flat.
 *
 * @example
 * ```ts
 * const top1: TaskMetric<number> = {
 *   name: "top1",
 *   update(outputs, label) { … },
 *   result() { return { top1: hits / n }; },
 * };
 * ```
 */
export interface TaskMetric<L = unknown> {
  /** Short name used in reports. */
  readonly name: string;
  /** Accounts for one sample's model outputs and its label. */
  update(outputs: Readonly<Record<string, TensorValue>>, label: L): void;
  /** Metric values so far, by name (fractions in [0, 1] for accuracies). */
  result(): Record<string, number>;
}

/** Makes a fresh metric for one model's run. */
export type MetricFactory<L = unknown> = () => TaskMetric<L>;
