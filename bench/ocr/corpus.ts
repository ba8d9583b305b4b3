/**
 * Text for the OCR generator's held-out style: another source than vocab.ts
 * (faker's zh_CN and en data: person, company, street and city names,
 * products, book and song titles, job titles, e-mail and domain names,
 * ISBNs, plates, flights) and number, date and money formats vocab.ts never
 * writes (month names in full, M/D/YY, ISO date-times, 12-hour clock, Chinese
 * weekdays, European decimals, currency codes, quantities × prices). About
 * half the lines are Chinese, half Latin and numeric, as in vocab.ts.
 *
 * Every string is a pure function of the `Rng` passed in: each faker call
 * reseeds faker from that stream first, so the text never depends on what
 * was drawn before in the process. Only faker's fixed word lists are used
 * (no faker.date.*, which reads the clock). The caller still filters on the
 * recognizer dictionary and on font coverage, as for vocab.ts.
 *
 * @module
 */
import { base, en, Faker, zh_CN } from "@faker-js/faker";
import type { Rng } from "./_prng.ts";

let fakers: { zh: Faker; en: Faker } | undefined;

/** The zh_CN or en faker, reseeded from `rng`. zh has no en fallback, so it never answers in English. */
function fake(rng: Rng, locale: "zh" | "en"): Faker {
  fakers ??= { zh: new Faker({ locale: [zh_CN, base] }), en: new Faker({ locale: [en, base] }) };
  const f = fakers[locale];
  f.seed(Math.floor(rng.next() * 2 ** 32));
  return f;
}

const pad2 = (n: number) => String(n).padStart(2, "0");
const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.int(0, 9)).join("");
const withCommas = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const withDots = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function cased(rng: Rng, s: string): string {
  const r = rng.next();
  if (r < 0.6) return s;
  if (r < 0.8) return s.toUpperCase();
  return s.replace(/\b[a-z]/g, (c) => c.toUpperCase());
}

// ---- Chinese -------------------------------------------------------------

const PEOPLE_ZH = ["收货人", "联系人", "经办人", "收款人", "申请人", "主讲人", "值班员", "负责人", "医师", "教师", "代表", "作者"];
const PRICE_ZH = ["售价", "原价", "会员价", "运费", "押金", "定金", "余额", "应收", "退款", "税额"];
const UNITS_ZH = ["毫升", "克", "台", "套", "份", "袋", "支", "箱", "罐", "双", "条", "间", "人", "天"];
const ORDINAL_ZH = ["期", "批", "届", "卷", "版", "排", "号楼", "单元", "车厢", "站台", "窗口", "考场"];
const HOUR_ZH = ["上午", "下午", "晚上", "凌晨"];

function zhAmount(rng: Rng): string {
  const v = rng.chance(0.7) ? rng.int(1, 2999) : rng.int(3000, 999999);
  return rng.chance(0.4) ? `${v}.${pad2(rng.int(0, 99))}` : rng.chance(0.5) ? `${v}.00` : String(v);
}

function zhDate(rng: Rng): string {
  const y = rng.int(1985, 2035), m = rng.int(1, 12), d = rng.int(1, 28);
  switch (rng.int(0, 5)) {
    case 0: return rng.chance(0.5) ? `${y}年${m}月` : `${y}年第${rng.pick(["一", "二", "三", "四"])}季度`;
    case 1: return `${m}月${d}日 ${fake(rng, "zh").date.weekday()}`;
    case 2: return `${y}年${fake(rng, "zh").date.month()}`;
    case 3: return `${m}月${d}日${rng.pick(HOUR_ZH)}${rng.int(1, 12)}点`;
    case 4: return `${rng.int(0, 23)}时${pad2(rng.int(0, 59))}分`;
    default: return `${rng.pick(HOUR_ZH)} ${rng.int(1, 12)}:${pad2(rng.int(0, 59))}`;
  }
}

function zhPlace(rng: Rng): string {
  const f = fake(rng, "zh");
  switch (rng.int(0, 4)) {
    case 0: return `${f.location.state()}${f.location.city()}`;
    case 1: return `${f.location.city()}${f.location.street()}`;
    case 2: return f.location.streetAddress();
    case 3: return `${f.location.street()}${rng.int(1, 400)}号${rng.pick(["院", "楼", "大厦", "广场", "小区"])}`;
    default: return `邮编：${f.location.zipCode()}`;
  }
}

function zhCompany(rng: Rng): string {
  const name = fake(rng, "zh").company.name();
  // Half the time without the leading province or city, as letterheads often print it.
  return rng.chance(0.5) ? name.replace(/^.{2,3}[省市]/, "") : name;
}

function zhThing(rng: Rng): string {
  const f = fake(rng, "zh");
  switch (rng.int(0, 6)) {
    case 0: return f.commerce.productName();
    case 1: return `${f.commerce.department()}${rng.pick(["专柜", "区", "部", "类"])}`;
    case 2: return `《${f.book.title()}》`;
    case 3: return `《${f.music.songName()}》`;
    case 4: return `${f.color.human()}${f.animal.type()}`;
    case 5: return `${f.word.sample()}${f.word.sample()}`;
    default: return `${f.commerce.productName()} ×${rng.int(1, 12)}`;
  }
}

function zhValue(rng: Rng): string {
  const f = fake(rng, "zh");
  switch (rng.int(0, 5)) {
    case 0: return `${rng.pick(PRICE_ZH)}：￥${zhAmount(rng)}`;
    case 1: return `${rng.pick(PRICE_ZH)}：${zhAmount(rng)}元`;
    case 2: return `${rng.int(1, 500)}${rng.pick(UNITS_ZH)}`;
    case 3: return `第${rng.int(1, 99)}${rng.pick(ORDINAL_ZH)}`;
    case 4: return `${rng.pick(["手机", "座机", "传真"])}：${f.phone.number()}`;
    default: return `${rng.int(1, 30)}楼${rng.int(1, 30)}${pad2(rng.int(1, 40))}室`;
  }
}

const zhPerson = (rng: Rng) => {
  const name = fake(rng, "zh").person.fullName();
  return rng.chance(0.6) ? `${rng.pick(PEOPLE_ZH)}：${name}` : name;
};

// ---- Latin and numbers ---------------------------------------------------

function enPerson(rng: Rng): string {
  const f = fake(rng, "en");
  switch (rng.int(0, 3)) {
    case 0: return f.person.fullName();
    case 1: return `${f.person.lastName()}, ${f.person.firstName()}`;
    case 2: return `${rng.pick(["Attn:", "Dear", "Cashier:", "Signed", "c/o"])} ${f.person.firstName()} ${f.person.lastName()}`;
    default: return `${f.person.prefix()} ${f.person.lastName()}`;
  }
}

function enPlace(rng: Rng): string {
  const f = fake(rng, "en");
  switch (rng.int(0, 4)) {
    case 0: return f.location.streetAddress();
    case 1: return `${f.location.city()}, ${f.location.state({ abbreviated: true })} ${f.location.zipCode("#####")}`;
    case 2: return f.location.city();
    case 3: return `${f.location.secondaryAddress()}, ${f.location.buildingNumber()} ${f.location.street()}`;
    default: return `${f.location.country()}`;
  }
}

function enBusiness(rng: Rng): string {
  const f = fake(rng, "en");
  switch (rng.int(0, 5)) {
    case 0: return f.company.name();
    case 1: return cased(rng, f.commerce.productName());
    case 2: return cased(rng, f.company.catchPhrase());
    case 3: return f.person.jobTitle();
    case 4: return rng.chance(0.5) ? `${f.commerce.department()} Dept.` : `Aisle ${rng.int(1, 30)}: ${f.commerce.department()}`;
    default: return cased(rng, f.food.dish());
  }
}

function enCode(rng: Rng): string {
  const f = fake(rng, "en");
  switch (rng.int(0, 7)) {
    case 0: return f.internet.email().toLowerCase();
    case 1: return `www.${f.internet.domainName()}`;
    case 2: return `ISBN ${f.commerce.isbn()}`;
    case 3: return f.vehicle.vrm();
    case 4: return `${f.airline.airline().iataCode}${rng.int(10, 9999)} Seat ${f.airline.seat()}`;
    case 5: return f.internet.ipv4();
    case 6: return `Gate ${String.fromCharCode(65 + rng.int(0, 7))}${rng.int(1, 60)}`;
    default: return `#${digits(rng, rng.int(3, 6))}-${f.string.alphanumeric({ length: 3, casing: "upper" })}`;
  }
}

function enMoney(rng: Rng): string {
  const v = rng.chance(0.7) ? rng.int(1, 999) : rng.int(1000, 999999);
  const cents = pad2(rng.int(0, 99));
  switch (rng.int(0, 4)) {
    case 0: return `${withDots(v)},${cents} EUR`;
    case 1: return `${fake(rng, "en").finance.currencyCode()} ${withCommas(v)}.${cents}`;
    case 2: return `${rng.int(1, 12)} x ${rng.int(1, 99)}.${cents}`;
    case 3: return `-${rng.int(1, 99)}.${cents}`;
    default: return `${rng.chance(0.5) ? "+" : "-"}${rng.int(0, 40)}.${rng.int(0, 9)}%`;
  }
}

function enDate(rng: Rng): string {
  const y = rng.int(1985, 2035), m = rng.int(1, 12), d = rng.int(1, 28);
  const h = rng.int(0, 23), min = pad2(rng.int(0, 59));
  switch (rng.int(0, 6)) {
    case 0: return `${d} ${MONTHS[m - 1]} ${y}`;
    case 1: return `${m}/${d}/${pad2(y % 100)}`;
    case 2: return `${y}-${pad2(m)}-${pad2(d)}T${pad2(h)}:${min}`;
    case 3: return `${rng.pick(DAYS)} ${pad2(d)} ${MONTHS[m - 1].slice(0, 3).toUpperCase()} ${y}`;
    case 4: return `${(h % 12) + 1}:${min} ${h < 12 ? "AM" : "PM"}`;
    case 5: return `Q${rng.int(1, 4)} ${y}`;
    default: return `${y}${pad2(m)}${pad2(d)}`;
  }
}

function enPhone(rng: Rng): string {
  const number = fake(rng, "en").phone.number();
  return rng.chance(0.4) ? `${rng.pick(["Fax", "Mobile", "Ph."])} ${number}` : number;
}

function enWords(rng: Rng): string {
  const f = fake(rng, "en");
  switch (rng.int(0, 3)) {
    case 0: return cased(rng, `${f.word.adjective()} ${f.word.noun()}`);
    case 1: return cased(rng, f.word.words(rng.int(2, 3)));
    case 2: return f.book.title();
    default: return cased(rng, `${f.word.verb()} ${f.word.noun()}`);
  }
}

// Weights chosen so that about half of the lines that fit the recognizer's
// 320 columns are Chinese: long Latin lines are refused more often.
const KINDS: readonly [weight: number, make: (rng: Rng) => string][] = [
  // Chinese: 7 of 17.
  [1.4, zhPerson],
  [1, zhCompany],
  [1.4, zhPlace],
  [1.4, zhThing],
  [1.1, zhValue],
  [0.7, zhDate],
  // Latin and numbers: 10 of 17.
  [1.5, enPerson],
  [1.5, enPlace],
  [1.5, enBusiness],
  [1.2, enCode],
  [1.2, enMoney],
  [1.1, enDate],
  [0.5, enPhone],
  [1.5, enWords],
];
const TOTAL = KINDS.reduce((s, [w]) => s + w, 0);

/**
 * Longest line in columns, a Chinese character counting two: the default
 * style's lines reach ~20 characters, and longer ones rarely fit the
 * recognizer's 320 columns anyway.
 */
const MAX_WIDTH = 20;
const width = (s: string) => [...s].reduce((w, ch) => w + (ch.codePointAt(0)! >= 0x2e80 ? 2 : 1), 0);

/**
 * One held-out text line from the mixture of kinds above, at most 20
 * columns wide. A kind is drawn first and then retried until it gives a
 * short enough line, so long-winded kinds keep their share of the mix.
 */
export function sampleHeldoutText(rng: Rng): string {
  for (;;) {
    let r = rng.next() * TOTAL;
    let make = KINDS[KINDS.length - 1][1];
    for (const [w, m] of KINDS) {
      r -= w;
      if (r < 0) {
        make = m;
        break;
      }
    }
    for (let tries = 0; tries < 20; tries++) {
      const text = make(rng).replace(/\s+/g, " ").trim();
      if (text.length > 0 && width(text) <= MAX_WIDTH) return text;
    }
  }
}
