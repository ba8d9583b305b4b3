// Profiles and passes agree: every pass a profile may name is registered,
// every registered pass can be named, and a profile naming a pass nobody
// implements is refused on load.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { targetSchema } from "../targets/builtin.ts";
import { loadTarget } from "../targets/load.ts";
import { PASSES, passByName } from "./registry.ts";

const Registry = suite("pass registry");

Registry("the profile schema names exactly the registered passes", () => {
  const schema = targetSchema() as { $defs: { passes: { properties: Record<string, unknown> } } };
  assert.equal(Object.keys(schema.$defs.passes.properties).sort(), PASSES.map((p) => p.name).sort());
  for (const p of PASSES) assert.is(passByName(p.name), p);
});

Registry("the pipeline order puts each stage after the one before", () => {
  const order = ["graph", "statistics", "plan", "calibrated", "quantize", "lower"];
  const stages = PASSES.map((p) => order.indexOf(p.stage));
  assert.ok(stages.every((s, i) => s >= 0 && (i === 0 || s >= stages[i - 1])), PASSES.map((p) => `${p.name}:${p.stage}`).join(" "));
});

Registry("a profile that enables a pass no pass implements fails to load, naming it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-pass-"));
  try {
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, JSON.stringify({ extends: "cpu-mixed", passes: { "adaround": { allowed: true, default: true } } }));
    assert.throws(() => loadTarget(file), (e: Error) => e.name === "InputError" && /Cannot load target ".*bad\.json": .*adaround/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

Registry.run();
