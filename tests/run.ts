/**
 * Runs every uvu suite, the same files under Node and Deno:
 *
 * ```sh
 * node --import tsx tests/run.ts [FILTER...]
 * deno run -A tests/run.ts [FILTER...]
 * ```
 *
 * Test files are `*.test.ts` under `tests/` and `*_test.ts` under `src/`, at
 * any depth; a FILTER keeps the files whose path (relative to the
 * repository, with `/`) contains it.
 * The last line printed is `N passed, N failed`; the exit code is 1 when a
 * test or a file failed, or when no test ran at all.
 *
 * @module
 */

import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PATTERNS = [
  { dir: "tests", suffix: ".test.ts" },
  { dir: "src", suffix: "_test.ts" },
] as const;

/** What one queued uvu suite resolves to: errors (or true), passed, skipped, total. */
type Outcome = [errors: string | true, passed: number, skipped: number, total: number];
type QueuedSuite = () => Promise<Outcome>;
type Group = [file: string | null, ...suites: QueuedSuite[]];

// uvu's hand-off points. They are globals because a test file and this
// runner only share uvu through them.
const uvuGlobals = globalThis as typeof globalThis & {
  UVU_DEFER?: number;
  UVU_INDEX?: number;
  UVU_QUEUE?: Group[];
};

async function findTestFiles(filters: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const { dir, suffix } of PATTERNS) {
    for (const path of await walk(join(ROOT, dir))) {
      if (path.endsWith(suffix)) files.push(relative(ROOT, path).split(sep).join("/"));
    }
  }
  return files
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
}

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // a pattern's folder may not exist yet
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...await walk(path));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

function isOutcome(x: unknown): x is Outcome {
  return Array.isArray(x) && x.length === 4 && typeof x[1] === "number" && typeof x[3] === "number";
}

async function main(): Promise<number> {
  // Must be set before uvu first loads: uvu decides at import time whether
  // to run suites itself on a timer (per file, racing our imports) or to
  // wait for exec().
  uvuGlobals.UVU_DEFER = 1;
  const uvu = await import("uvu");
  const queue = uvuGlobals.UVU_QUEUE ??= [];

  const filters = process.argv.slice(2);
  const files = await findTestFiles(filters);
  if (files.length === 0) {
    console.error(`No test files${filters.length ? ` match ${filters.map((f) => `"${f}"`).join(", ")}` : ""}`);
  }

  // The suite must leave the temp directory as it found it.
  const tempBefore = new Set(await edgeqTemps());
  let brokenFiles = 0;
  for (const file of files) {
    // A suite's run() queues itself in group UVU_INDEX; uvu prints the
    // group's first element as the file heading.
    uvuGlobals.UVU_INDEX = queue.length;
    queue.push([file]);
    try {
      await import(pathToFileURL(join(ROOT, file)).href);
    } catch (err) {
      brokenFiles++;
      console.error(`Cannot load test file "${file}":`, err);
    }
  }

  // uvu's exec() prints totals but returns nothing, so count through
  // wrappers around the queued suites instead of parsing its output.
  const outcomes: Outcome[] = [];
  for (const group of queue) {
    const file = group[0]; // read now: exec() shifts it off the group
    for (let i = 1; i < group.length; i++) {
      const run = group[i] as QueuedSuite;
      group[i] = async () => {
        const outcome = await run();
        if (!isOutcome(outcome)) {
          throw new TypeError("uvu's queue format changed: a suite did not return [errors, passed, skipped, total]");
        }
        const [errors, passed, , total] = outcome;
        // uvu swallows an error thrown by a before/after hook and reports
        // nothing; say at least where it happened.
        if (errors === true && passed < total) {
          console.error(`\n  ${total - passed} test(s) in "${file}" failed without a message: a before() or after() hook threw`);
        }
        outcomes.push(outcome);
        return outcome;
      };
    }
  }
  await uvu.exec();
  const { removeTempDirs } = await import("./fixtures/onnx_models.ts");
  removeTempDirs();
  const left = (await edgeqTemps()).filter((d) => !tempBefore.has(d));
  if (left.length) {
    console.error(`\n  The tests left ${left.length} entries in ${tmpdir()}: ${left.slice(0, 5).join(", ")}${left.length > 5 ? ", …" : ""}`);
    brokenFiles++;
  }

  const passed = outcomes.reduce((n, [, ok]) => n + ok, 0);
  // A throwing before() hook makes uvu report no errors for its suite, so a
  // suite's failures are the tests that did not pass, not its error text.
  const failed = outcomes.reduce((n, [, ok, , total]) => n + total - ok, 0) + brokenFiles;
  if (passed + failed === 0) console.error("No tests ran");
  await write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

/** Names in the temp directory that edgeq or its tests make (`edgeq-*`, and atomic writes' `.edgeq-*`). */
async function edgeqTemps(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => /^\.?edgeq/.test(n));
}

function write(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

// Exit explicitly: a backend's worker threads or native handles could
// otherwise keep the process alive after the last test.
main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(err);
    await write("0 passed, 1 failed\n");
    process.exit(1);
  },
);
