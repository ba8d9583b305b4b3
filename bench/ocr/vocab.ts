/**
 * Text for the OCR generator: the kinds of strings a document or a receipt
 * holds (words, numbers, dates, times, prices, phone numbers, codes, short
 * Chinese phrases and Chinese labels with values). Every string is drawn
 * from a seeded stream, and only strings made of recognizer dictionary
 * characters (or a space) are ever produced.
 *
 * @module
 */
import type { Rng } from "./_prng.ts";

const WORDS = (
  "the of and to in for on with at by from about after before under over between into through " +
  "time year day week month people way world life hand part place case point group number fact " +
  "water room area money story work home school family student city country market price order " +
  "total amount invoice receipt payment account balance change cash card credit item quantity " +
  "unit tax discount service delivery address phone email date name company street road avenue " +
  "north south east west central park station airport hotel office center hospital library museum " +
  "open closed daily hours welcome thank you please exit entrance floor level parking free sale " +
  "new best quality fresh organic coffee tea milk bread water juice rice chicken beef soup salad " +
  "small medium large extra hot cold sweet green red blue black white yellow orange " +
  "report chapter section page table figure summary result method data model system value " +
  "design energy light power network control signal public private general special local " +
  "morning evening today tomorrow monday tuesday friday saturday sunday january march june october"
).split(" ");

const PHRASES = (
  "欢迎光临 谢谢惠顾 营业时间 有限公司 北京市 上海市 广州市 深圳市 杭州市 南京市 成都市 武汉市 " +
  "人民路 中山路 解放路 建设路 和平街 科技园 开发区 购物中心 超市 便利店 餐厅 咖啡 奶茶 面包 牛奶 " +
  "鸡蛋 苹果 香蕉 西瓜 大米 食用油 矿泉水 啤酒 可乐 纸巾 洗发水 牙膏 收银员 会员卡 积分 找零 现金 " +
  "微信支付 支付宝 银行卡 发票 收据 合计 总计 小计 数量 单价 金额 折扣 优惠 实收 应付 日期 时间 地址 " +
  "电话 邮编 姓名 性别 年龄 出生日期 身份证号 联系人 手机号码 电子邮箱 备注 说明书 注意事项 使用方法 " +
  "保质期 生产日期 产地 规格 型号 重量 净含量 配料表 营养成分表 储存条件 禁止吸烟 安全出口 请勿触摸 " +
  "小心地滑 停车场 入口 出口 洗手间 电梯 楼梯 办公室 会议室 前台 服务台 问讯处 售票处 候车室 火车站 " +
  "飞机场 地铁站 公交车站 人民医院 第一中学 实验小学 图书馆 博物馆 体育馆 人民公园 市政府 派出所 " +
  "邮政局 中国银行 工商银行 建设银行 农业银行 招商银行 快递 包裹 收件人 寄件人 订单号 运单号 签收 " +
  "退货 换货 客服热线 免费送货 限时特价 新品上市 全场八折 买一送一 清仓处理 今日特价 早餐 午餐 晚餐 " +
  "外卖 堂食 打包 米饭 面条 饺子 包子 豆浆 油条 宫保鸡丁 红烧肉 麻婆豆腐 鱼香肉丝 西红柿炒鸡蛋 青菜 " +
  "天气预报 多云转晴 小雨 气温 学习 工作 生活 健康 快乐 中国 人民 经济 发展 社会 科学技术 教育 文化 " +
  "新闻 报告 会议 通知 公告 第一章 第二节 目录 参考文献 附录 合同 甲方 乙方 签字 盖章 有效期 负责人 " +
  "审核 批准 编号 页码 共计 产品名称 生产厂家 销售部 财务部 人力资源部 技术支持 质量检验 合格证"
).split(" ");

const LABELS_ZH = ["合计", "总计", "小计", "数量", "单价", "金额", "实收", "找零", "日期", "时间", "电话", "编号", "订单号", "重量"];
const UNITS_ZH = ["元", "件", "个", "张", "瓶", "盒", "包", "斤", "公斤", "千克", "米", "厘米", "小时", "分钟"];
const LABELS_EN = ["Total", "Subtotal", "Qty", "Price", "Amount", "Tax", "Change", "Date", "Time", "Tel", "Order No.", "Invoice No.", "Ref", "Room"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad2 = (n: number) => String(n).padStart(2, "0");
const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.int(0, 9)).join("");
const withCommas = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

function word(rng: Rng): string {
  const w = rng.pick(WORDS);
  const style = rng.next();
  if (style < 0.5) return w;
  if (style < 0.85) return w[0].toUpperCase() + w.slice(1);
  return w.toUpperCase();
}

function money(rng: Rng): string {
  const v = rng.chance(0.6) ? rng.int(1, 999) : rng.int(1000, 99999);
  const cents = pad2(rng.int(0, 99));
  return `${rng.chance(0.5) ? withCommas(v) : v}.${cents}`;
}

function date(rng: Rng): string {
  const y = rng.int(1990, 2030), m = rng.int(1, 12), d = rng.int(1, 28);
  switch (rng.int(0, 4)) {
    case 0: return `${y}-${pad2(m)}-${pad2(d)}`;
    case 1: return `${pad2(d)}/${pad2(m)}/${y}`;
    case 2: return `${y}.${pad2(m)}.${pad2(d)}`;
    case 3: return `${y}年${m}月${d}日`;
    default: return `${MONTHS[m - 1]} ${d}, ${y}`;
  }
}

const time = (rng: Rng) => `${pad2(rng.int(0, 23))}:${pad2(rng.int(0, 59))}` + (rng.chance(0.3) ? `:${pad2(rng.int(0, 59))}` : "");

function phone(rng: Rng): string {
  switch (rng.int(0, 2)) {
    case 0: return `0${rng.int(10, 999)}-${digits(rng, 8)}`;
    case 1: return `1${rng.int(30, 89)} ${digits(rng, 4)} ${digits(rng, 4)}`;
    default: return `(${rng.int(200, 989)}) ${digits(rng, 3)}-${digits(rng, 4)}`;
  }
}

function number(rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0: return String(rng.int(0, 9999));
    case 1: return withCommas(rng.int(1000, 9999999));
    case 2: return `${rng.int(0, 99)}.${rng.int(0, 99)}%`;
    default: return `${rng.int(0, 999)}.${digits(rng, rng.int(1, 3))}`;
  }
}

function code(rng: Rng): string {
  const L = () => String.fromCharCode(65 + rng.int(0, 25));
  switch (rng.int(0, 3)) {
    case 0: return `No. ${digits(rng, rng.int(4, 8))}`;
    case 1: return `${L()}${L()}-${digits(rng, 4)}`;
    case 2: return `${L()}${digits(rng, 3)}${L()}${digits(rng, 2)}`;
    default: return `${word(rng).toLowerCase()}@${rng.pick(WORDS)}.${rng.pick(["com", "cn", "net", "org"])}`;
  }
}

function chinese(rng: Rng): string {
  const a = rng.pick(PHRASES);
  return rng.chance(0.3) ? a + rng.pick(PHRASES) : a;
}

function chineseWithValue(rng: Rng): string {
  // Full-width colon and yen sign after Chinese text: the forms PP-OCR's
  // training labels use, and the half-width ones look almost the same.
  const sep = "：";
  switch (rng.int(0, 4)) {
    case 0: return `${rng.pick(LABELS_ZH)}${sep}${money(rng)}`;
    case 1: return `${rng.pick(["合计", "实收", "金额", "单价"])}${sep}￥${money(rng)}`;
    case 2: return `${rng.int(1, 99)}${rng.pick(UNITS_ZH)}`;
    case 3: return `${rng.pick(["日期", "生产日期", "有效期"])}${sep}${date(rng)}`;
    default: return `${rng.pick(PHRASES)}${rng.int(1, 999)}号`;
  }
}

function englishWithValue(rng: Rng): string {
  const label = rng.pick(LABELS_EN);
  const make = rng.pick([money, number, date, time, phone]);
  const value = make === money && rng.chance(0.5) ? `$${money(rng)}` : make(rng);
  return `${label}${rng.chance(0.7) ? ":" : ""} ${value}`;
}

const KINDS: readonly [weight: number, make: (rng: Rng) => string][] = [
  [3, (rng) => Array.from({ length: rng.int(1, 3) }, () => word(rng)).join(" ")],
  [1, number],
  [1, date],
  [0.5, time],
  [1, (rng) => `${rng.pick(["$", "￥", "", ""])}${money(rng)}`],
  [0.7, phone],
  [0.8, code],
  [3, chinese],
  [2, chineseWithValue],
  [2, englishWithValue],
];
const TOTAL = KINDS.reduce((s, [w]) => s + w, 0);

/** One text line from the mixture of kinds above. */
export function sampleText(rng: Rng): string {
  let r = rng.next() * TOTAL;
  for (const [w, make] of KINDS) {
    r -= w;
    if (r < 0) return make(rng);
  }
  return KINDS[0][1](rng);
}
