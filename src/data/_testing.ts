/**
 * Helpers for this folder's tests: temporary folders of files, and the
 * one-line InputError a call raises.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as assert from "uvu/assert";
import { InputError } from "../errors.ts";
import { tempDir } from "../../tests/fixtures/onnx_models.ts";

let root: string | undefined;

/** A fresh temporary folder holding `files` (relative path → bytes or text). */
export function folder(files: Record<string, Uint8Array | string> = {}): string {
  if (!root || !fs.existsSync(root)) root = tempDir("edgeq-data-");
  const dir = fs.mkdtempSync(path.join(root, "d"));
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

/** Removes every folder made by {@linkcode folder}; pass to `test.after`. */
export function removeFolders(): void {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
}

/** The message of the InputError `fn` throws or rejects with; fails unless it is one line. */
export async function inputError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    assert.not.match(e.message, /\n/);
    return e.message;
  }
  assert.unreachable("no error thrown");
  return "";
}
