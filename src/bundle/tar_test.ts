import { test } from "uvu";
import * as assert from "uvu/assert";
import { pack } from "tar-stream";
import { readTar, UnsafeBundleError, unsafeName, writeTar } from "./tar.ts";

const enc = new TextEncoder();
const text = (s: string) => enc.encode(s);

/** An archive written by tar-stream itself, with whatever headers a hostile or careless tool would write. */
async function rawTar(entries: { header: Record<string, unknown>; data?: Uint8Array }[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve) => {
    p.on("data", (c) => chunks.push(c as Uint8Array));
    p.on("end", () => resolve());
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mtime: new Date(0), ...e.header } as never, (e.data ?? new Uint8Array(0)) as never, (err) => (err ? reject(err) : resolve()))
    );
  }
  p.finalize();
  await done;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

async function refusal(bytes: Uint8Array, limits = {}): Promise<string> {
  try {
    await readTar(bytes, "b.tar", limits);
  } catch (e) {
    assert.instance(e, UnsafeBundleError);
    return (e as Error).message;
  }
  assert.unreachable("readTar accepted the archive");
  return "";
}

test("writeTar: sorted entries, fixed headers, the same bytes whatever the order given", async () => {
  const a = await writeTar([{ name: "b/x.npy", data: text("hello") }, { name: "a.json", data: new Uint8Array(700) }]);
  const b = await writeTar([{ name: "a.json", data: new Uint8Array(700) }, { name: "b/x.npy", data: text("hello") }]);
  assert.equal(a, b);
  // header + 2 blocks for a.json, header + 1 block for b/x.npy, 2 end blocks
  assert.is(a.length, 512 * 7);
  const field = (at: number, len: number) => new TextDecoder().decode(a.subarray(at, at + len)).replace(/\0+$/, "");
  assert.is(field(0, 100), "a.json");
  assert.is(field(100, 8), "000644 ");
  assert.is(field(108, 8), "000000 ");
  assert.is(field(116, 8), "000000 ");
  assert.is(field(136, 12), "00000000000 ");
  assert.is(field(265, 32), "");
  assert.is(field(1536, 100), "b/x.npy");
  assert.ok(a.subarray(512 * 5).every((x) => x === 0), "ends with two zero blocks");
  const back = await readTar(a, "a.tar");
  assert.equal([...back.keys()], ["a.json", "b/x.npy"]);
  assert.equal(back.get("b/x.npy"), text("hello"));
});

test("writeTar refuses names a reader would refuse", async () => {
  for (const [name, why] of [["/etc/x", "an absolute path"], ["a/../b", 'a ".." segment'], ["a//b", 'an empty or "." segment'], ["x".repeat(101), "a name over 100 bytes"]]) {
    try {
      await writeTar([{ name, data: new Uint8Array(1) }]);
      assert.unreachable(name);
    } catch (e) {
      assert.is((e as Error).message, `writeTar: entry "${name}" has ${why}`);
    }
  }
  assert.is(unsafeName("golden/0/input-0.npy"), undefined);
  assert.is(unsafeName("C:/x"), "an absolute path");
  assert.is(unsafeName("a\\b"), "a backslash in the path");
});

test("readTar refuses unsafe and non-regular entries, naming them", async () => {
  const ok = { header: { name: "model.onnx", size: 3 }, data: text("abc") };
  const cases: [Record<string, unknown>, string][] = [
    [{ name: "/abs.txt" }, 'entry "/abs.txt": an absolute path'],
    [{ name: "../up.txt" }, 'entry "../up.txt": a ".." segment'],
    [{ name: "a/./b" }, 'entry "a/./b": an empty or "." segment'],
    [{ name: "link", type: "symlink", linkname: "/etc/passwd" }, 'entry "link": a symlink entry, not a regular file'],
    [{ name: "hard", type: "link", linkname: "model.onnx" }, 'entry "hard": a link entry, not a regular file'],
    [{ name: "dev", type: "character-device" }, 'entry "dev": a character-device entry, not a regular file'],
    [{ name: "blk", type: "block-device" }, 'entry "blk": a block-device entry, not a regular file'],
    [{ name: "fifo", type: "fifo" }, 'entry "fifo": a fifo entry, not a regular file'],
    [{ name: "dir", type: "directory" }, 'entry "dir": a directory entry, not a regular file'],
  ];
  for (const [header, why] of cases) {
    const bytes = await rawTar([ok, { header: { size: 0, ...header } }]);
    assert.is(await refusal(bytes), `Cannot read bundle "b.tar": ${why}`, String(header.name));
  }
  assert.is(await refusal(await rawTar([ok, ok])), 'Cannot read bundle "b.tar": entry "model.onnx": a duplicate name');
  // A name over 100 bytes needs a pax header: refused as the extension header it is.
  const long = `golden/${"x".repeat(120)}.npy`;
  assert.is(await refusal(await rawTar([ok, { header: { name: long, size: 1 }, data: text("z") }])), `Cannot read bundle "b.tar": entry "${long}": an extension (pax) header`);
});

test("readTar enforces the entry, total and count limits", async () => {
  const bytes = await writeTar([{ name: "a", data: new Uint8Array(2000) }, { name: "b", data: new Uint8Array(10) }]);
  assert.is(await refusal(bytes, { maxEntryBytes: 1999 }), 'Cannot read bundle "b.tar": entry "a": 2000 bytes, over the entry limit of 1999');
  assert.is(await refusal(bytes, { maxTotalBytes: bytes.length - 1 }), `Cannot read bundle "b.tar": ${bytes.length} bytes, over the bundle limit of ${bytes.length - 1}`);
  assert.is(await refusal(bytes, { maxEntries: 1 }), 'Cannot read bundle "b.tar": entry "b": more than 1 entries');
  assert.is((await readTar(bytes, "b.tar", { maxEntryBytes: 2000, maxTotalBytes: bytes.length })).size, 2);
});

test("readTar refuses truncated archives, trailing data, random bytes and empty files", async () => {
  const bytes = await writeTar([{ name: "model.onnx", data: new Uint8Array(1500).fill(7) }, { name: "z.json", data: text("{}") }]);
  const msg = (why: string) => `Cannot read bundle "b.tar": ${why}`;
  assert.is(await refusal(bytes.subarray(0, 1200)), msg("truncated archive"));
  assert.is(await refusal(bytes.subarray(0, bytes.length - 1024)), msg("truncated archive (no end marker)"));
  const trailing = new Uint8Array(bytes.length + 600);
  trailing.set(bytes);
  trailing.set(text("garbage"), bytes.length + 100);
  assert.is(await refusal(trailing), msg("600 bytes after the end of the archive (trailing data)"));
  const short = new Uint8Array(bytes.length + 10);
  short.set(bytes);
  short[bytes.length + 3] = 1;
  assert.is(await refusal(short), msg("10 bytes after the end of the archive (trailing data)"));
  // An entry hidden after the end marker.
  const hidden = await rawTar([{ header: { name: "evil.onnx", size: 1 }, data: text("x") }]);
  const appended = new Uint8Array(bytes.length + hidden.length);
  appended.set(bytes);
  appended.set(hidden, bytes.length);
  assert.is(await refusal(appended), msg('entry "evil.onnx": it follows the end of the archive or an extension header'));
  let seed = 1;
  const random = Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255);
  assert.is(await refusal(random), msg("corrupted or not a tar archive (bad header checksum)"));
  assert.is(await refusal(new Uint8Array(0)), msg("empty file"));
  assert.is(await refusal(new Uint8Array(2048)), msg("no entries"));
  // Zero padding after the end marker (as tar writes to fill a record) is fine.
  const padded = new Uint8Array(bytes.length + 8192);
  padded.set(bytes);
  assert.is((await readTar(padded, "b.tar")).size, 2);
});

test.run();
