/**
 * The size limits a bundle reader enforces, apart from the reader, so the CLI
 * can show the defaults without loading tar-stream.
 *
 * @module
 */

/** Size limits a reader enforces; each field's default is in its doc. */
export interface TarLimits {
  /** Largest entry accepted, in bytes. Default 1 GiB. */
  maxEntryBytes: number;
  /** Largest archive accepted (all entries and headers), in bytes. Default 2 GiB. */
  maxTotalBytes: number;
  /** Most entries accepted. Default 10 000. */
  maxEntries: number;
}

/** Defaults of {@linkcode TarLimits}. */
export const DEFAULT_TAR_LIMITS: Readonly<TarLimits> = {
  maxEntryBytes: 2 ** 30,
  maxTotalBytes: 2 ** 31,
  maxEntries: 10_000,
};
