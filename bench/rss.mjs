// Loaded with `node --import ./bench/rss.mjs …` by bench/perf.ts: at exit, the process appends
// its own peak resident set size (kilobytes) to the file named by EDGEQ_RSS_FILE. On Linux it
// reads VmHWM from /proc/self/status, the high-water mark of this process's own memory:
// getrusage's ru_maxrss also counts the parent's size at fork (Linux carries it into the child),
// which would credit the bench's own memory to every process it starts.
import * as fs from "node:fs";

const file = process.env.EDGEQ_RSS_FILE;
function peakKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}
if (file) process.on("exit", () => fs.appendFileSync(file, `${peakKb()}\n`));
