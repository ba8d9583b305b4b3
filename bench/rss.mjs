// Loaded with `node --import ./bench/rss.mjs …` by bench/perf.ts: at exit, the process appends
// its own peak resident set size (kilobytes) to the file named by EDGEQ_RSS_FILE. Portable
// (no GNU time needed) and costs the measured process nothing until it exits.
import * as fs from "node:fs";

const file = process.env.EDGEQ_RSS_FILE;
if (file) process.on("exit", () => fs.appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
