import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { tinyPng } from '../fixtures/images.js';

// Arbitraries for the fuzz specs: hostile strings, JSON as text (duplicate keys, odd numbers, deep
// nesting, escaped keys), near-valid WeCom messages of every msgtype, credentials in the shapes the
// shipped guardrails (policies/20-guardrails.yaml) look for, and multipart bodies.

// ------------------------------------------------------------------------------------------------
// strings
// ------------------------------------------------------------------------------------------------

/** Characters that break things: zero-width and bidi controls, surrogate halves, NUL, quotes, markup. */
export const SPECIAL_CHARS = [
  '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u180E', '\u202E', '\u2066', '\u034F',
  '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\u0000', '\u0001', '\u001F', '\u007F', '\r', '\n', '\t',
  '"', "'", '\\', '/', '%', '%00', '%2F', '&', '=', '?', '#', ';', '<', '>', '</script>', '${env:HOME}',
  '@all', '@ALL', '|', '😀', '👩‍👩‍👧', '部署', '长', '\u2028', '\u2029', 'é', 'e\u0301', '\uFFFD', '\uFFFF',
];

export const special = fc.constantFrom(...SPECIAL_CHARS);

/** Short strings of any kind: printable, any code point, ASCII controls, or the specials above. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }), weight: 1 },
  { arbitrary: fc.string({ unit: special, maxLength: 6 }), weight: 2 },
  { arbitrary: fc.string({ unit: fc.oneof(special, fc.string({ minLength: 1, maxLength: 3 })), maxLength: 8 }), weight: 2 },
);

/** A string repeated past WeCom's byte limits (2048, 4096) and sometimes past the fuzz stack's 64 KiB body limit. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(fc.constantFrom('x', '长', '😀', '\u200B', 'ab"\\'), nastyString.filter((s) => s.length > 0)), fc.constantFrom(700, 1025, 2049, 4097, 9000, 40_000))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n));

export const anyString = fc.oneof({ arbitrary: nastyString, weight: 8 }, { arbitrary: hugeString, weight: 1 });

/** Object keys: prototype-polluting names, WeCom field names, empties, odd strings. */
export const keyString = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'msgtype', 'text', 'content', 'markdown', 'articles', 'mentioned_list', 'agentid', 'touser', '', ' ', 'Content', '__proto__ ', '\u0000'),
  nastyString,
);

// ------------------------------------------------------------------------------------------------
// JSON as text
// ------------------------------------------------------------------------------------------------

/** A JSON document as written, not as parsed: objects keep duplicate keys, numbers keep their spelling. */
export type JNode =
  | { t: 'obj'; entries: Array<[string, JNode]> }
  | { t: 'arr'; items: JNode[] }
  | { t: 'str'; v: string }
  | { t: 'num'; text: string }
  | { t: 'lit'; text: 'true' | 'false' | 'null' };

export interface Style {
  /** JSON whitespace written between tokens. */
  ws: string;
  /** Write every string character as \uXXXX (so "__proto__" arrives as "\u005f\u005fproto\u005f\u005f"). */
  escapeAll: boolean;
}

export const style: fc.Arbitrary<Style> = fc.record({
  ws: fc.constantFrom('', '', '', ' ', '\n', '\t \r\n', '  '),
  escapeAll: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
});

// Everything below that walks a document (fromValue, serialize, clone, nodes, the envelope model)
// does so with an explicit stack, never by recursion: a `nest` mutation of depth 1000, applied twice,
// makes documents thousands of levels deep, and the harness must not overflow the call stack where
// the firewall would simply refuse (regression: seed 1161663494, spec/fuzz/arbitraries.test.ts).

const NULL: JNode = { t: 'lit', text: 'null' };

/** A JSON value (as JSON.parse or a literal gives it) as a document. Iterative: any depth. */
export function fromValue(v: unknown): JNode {
  const leaf = (x: unknown): JNode | undefined => {
    if (x === null || x === undefined) return { t: 'lit', text: 'null' };
    if (typeof x === 'boolean') return { t: 'lit', text: x ? 'true' : 'false' };
    if (typeof x === 'number') return { t: 'num', text: JSON.stringify(x) };
    if (typeof x === 'string') return { t: 'str', v: x };
    return undefined;
  };
  let root: JNode | undefined;
  const todo: Array<[unknown, (n: JNode) => void]> = [[v, (n) => (root = n)]];
  while (todo.length) {
    const [x, put] = todo.pop()!;
    const n = leaf(x);
    if (n) put(n);
    else if (Array.isArray(x)) {
      const items: JNode[] = x.map(() => NULL);
      put({ t: 'arr', items });
      x.forEach((y: unknown, i) => todo.push([y, (c) => (items[i] = c)]));
    } else {
      const values = Object.entries(x as object);
      const entries: Array<[string, JNode]> = values.map(([k]) => [k, NULL]);
      put({ t: 'obj', entries });
      values.forEach(([, y], i) => todo.push([y, (c) => (entries[i]![1] = c)]));
    }
  }
  return root!;
}

const escapeAll = (s: string) => `"${[...Array(s.length).keys()].map((i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;

/** The document as text, written in `st`'s style. Iterative: any depth. */
export function serialize(n: JNode, st: Style = { ws: '', escapeAll: false }): string {
  const w = st.ws;
  const str = (s: string) => (st.escapeAll ? escapeAll(s) : JSON.stringify(s));
  const out: string[] = [];
  // What is left to write, the next on top: a node, or text between nodes.
  const todo: Array<JNode | string> = [n];
  while (todo.length) {
    const item = todo.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    switch (item.t) {
      case 'lit':
      case 'num':
        out.push(item.text);
        break;
      case 'str':
        out.push(str(item.v));
        break;
      case 'arr':
        out.push(`[${w}`);
        todo.push(`${w}]`);
        for (let i = item.items.length - 1; i >= 0; i--) {
          todo.push(item.items[i]!);
          if (i > 0) todo.push(`${w},${w}`);
        }
        break;
      case 'obj':
        out.push(`{${w}`);
        todo.push(`${w}}`);
        for (let i = item.entries.length - 1; i >= 0; i--) {
          const [k, x] = item.entries[i]!;
          todo.push(x, `${str(k)}${w}:${w}`);
          if (i > 0) todo.push(`${w},${w}`);
        }
        break;
    }
  }
  return out.join('');
}

/** Number spellings: ordinary, -0, past 2^53, overflowing to Infinity, underflowing to 0, and invalid JSON ones. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0', '-0', '-0.0', '0e0', '1000002', '1e2', '1E+2', '0.1', '1e999', '-1e999', '2e308', '1E400', '9007199254740991', '9007199254740992',
    '9007199254740993', '-9007199254740993', '18446744073709551616', '1e300', '1.5', '1e-400', '5e-324', '1.7976931348623157e308',
    '00', '01', '+1', '.5', '1.', '0x10', 'NaN', 'Infinity', '-', '1e', '--1',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);

const { jnode } = fc.letrec<{ jnode: JNode; leaf: JNode; obj: JNode; arr: JNode }>((tie) => ({
  jnode: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('obj'), tie('arr')),
  leaf: fc.oneof(
    anyString.map((v): JNode => ({ t: 'str', v })),
    numberText.map((text): JNode => ({ t: 'num', text })),
    fc.constantFrom<JNode>({ t: 'lit', text: 'true' }, { t: 'lit', text: 'false' }, { t: 'lit', text: 'null' }),
  ),
  obj: fc.array(fc.tuple(keyString, tie('jnode')), { maxLength: 4 }).map((entries): JNode => ({ t: 'obj', entries })),
  arr: fc.array(tie('jnode'), { maxLength: 4 }).map((items): JNode => ({ t: 'arr', items })),
}));
export { jnode };

/** Nesting `depth` containers around a node: arrays, objects or a mix. */
export function nest(inner: JNode, depth: number, kind: 'arr' | 'obj' | 'mix'): JNode {
  let n = inner;
  for (let i = 0; i < depth; i++) {
    const asArr = kind === 'arr' || (kind === 'mix' && i % 2 === 0);
    n = asArr ? { t: 'arr', items: [n] } : { t: 'obj', entries: [['a', n]] };
  }
  return n;
}

// ------------------------------------------------------------------------------------------------
// near-valid WeCom messages
// ------------------------------------------------------------------------------------------------

/** Text that fits every byte limit it is used in (≤ 128 UTF-8 bytes) and is not empty. */
export const shortText = fc
  .oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.constantFrom('deploy finished 部署完成', 'ok', '告警: disk 91%'))
  .filter((s) => s.trim().length > 0 && Buffer.byteLength(s) <= 120 && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')));

const url = fc.constantFrom('https://example.com/a', 'https://example.com/r?id=1&x=%E4%B8%AD', 'http://intranet.local/b');
const png = tinyPng();
const pngB64 = png.toString('base64');
const pngMd5 = createHash('md5').update(png).digest('hex');

export const ROBOT_MSGTYPES = ['text', 'markdown', 'markdown_v2', 'image', 'news', 'file', 'voice', 'template_card'] as const;

/** A group-robot message WeCom's contract (policies/10-wecom-contract.yaml) accepts. No @all: that is parked. */
export function validRobotMessage(msgtype?: (typeof ROBOT_MSGTYPES)[number]): fc.Arbitrary<Record<string, unknown>> {
  const byType: Record<(typeof ROBOT_MSGTYPES)[number], fc.Arbitrary<Record<string, unknown>>> = {
    text: fc
      .record({ content: shortText, mentioned_list: fc.array(fc.constantFrom('zhangsan', 'lisi'), { maxLength: 2 }), mentioned_mobile_list: fc.array(fc.constantFrom('13800001111'), { maxLength: 1 }) }, { requiredKeys: ['content'] })
      .map((text) => ({ msgtype: 'text', text })),
    markdown: shortText.map((content) => ({ msgtype: 'markdown', markdown: { content: `**${content}**` } })),
    markdown_v2: shortText.map((content) => ({ msgtype: 'markdown_v2', markdown_v2: { content: `# ${content}` } })),
    image: fc.constant({ msgtype: 'image', image: { base64: pngB64, md5: pngMd5 } }),
    news: fc
      .array(fc.record({ title: shortText, url, description: shortText, picurl: url }, { requiredKeys: ['title', 'url'] }), { minLength: 1, maxLength: 8 })
      .map((articles) => ({ msgtype: 'news', news: { articles } })),
    file: shortText.map((media_id) => ({ msgtype: 'file', file: { media_id } })),
    voice: shortText.map((media_id) => ({ msgtype: 'voice', voice: { media_id } })),
    template_card: fc
      .record({ title: shortText, desc: shortText, url, news: fc.boolean(), jump: fc.array(fc.record({ title: shortText, url }), { maxLength: 3 }), kv: fc.array(fc.record({ keyname: shortText, value: shortText }), { maxLength: 6 }) })
      .map(({ title, desc, url: u, news, jump, kv }) => ({
        msgtype: 'template_card',
        template_card: {
          card_type: news ? 'news_notice' : 'text_notice',
          source: { icon_url: u, desc, desc_color: 0 },
          main_title: { title, desc },
          ...(news ? { card_image: { url: u, aspect_ratio: 1.5 } } : { sub_title_text: desc, emphasis_content: { title: '100', desc } }),
          horizontal_content_list: kv,
          jump_list: jump.map((j) => ({ type: 1, ...j })),
          card_action: { type: 1, url: u },
        },
      })),
  };
  return msgtype ? byType[msgtype] : fc.oneof(...ROBOT_MSGTYPES.map((m) => byType[m]));
}

export const APP_MSGTYPES = ['text', 'markdown', 'textcard', 'news', 'mpnews', 'file', 'image', 'voice', 'video'] as const;

/** An app message (message/send when `agentid` is given, else appchat/send) the app contract accepts. */
export function validAppMessage(target: { agentid: number } | { chatid: string }): fc.Arbitrary<Record<string, unknown>> {
  const recipients = 'agentid' in target ? fc.record({ touser: fc.constantFrom('zhangsan', 'lisi', 'wangwu', 'zhangsan|lisi', 'nobody') }).map((r) => ({ ...r, agentid: target.agentid })) : fc.constant({ chatid: target.chatid });
  const body = fc.oneof(
    shortText.map((content) => ({ msgtype: 'text', text: { content } })),
    shortText.map((content) => ({ msgtype: 'markdown', markdown: { content } })),
    fc.record({ title: shortText, description: shortText, url }).map((textcard) => ({ msgtype: 'textcard', textcard })),
    fc.array(fc.record({ title: shortText, url, description: shortText }, { requiredKeys: ['title', 'url'] }), { minLength: 1, maxLength: 8 }).map((articles) => ({ msgtype: 'news', news: { articles } })),
    fc.array(fc.record({ title: shortText, thumb_media_id: shortText, content: shortText }), { minLength: 1, maxLength: 3 }).map((articles) => ({ msgtype: 'mpnews', mpnews: { articles } })),
    fc.tuple(fc.constantFrom('file', 'image', 'voice', 'video'), shortText).map(([m, media_id]) => ({ msgtype: m, [m]: { media_id } })),
  );
  return fc.tuple(recipients, body, fc.option(fc.constantFrom(0, 1), { nil: undefined })).map(([r, b, safe]) => ({ ...r, ...b, ...(safe === undefined ? {} : { safe }) }));
}

// ------------------------------------------------------------------------------------------------
// mutations of a JSON document
// ------------------------------------------------------------------------------------------------

export type Mutation =
  | { op: 'set'; pick: number; value: JNode }
  | { op: 'delete'; pick: number; which: number }
  | { op: 'addKey'; pick: number; key: string; value: JNode }
  | { op: 'dupKey'; pick: number; which: number; value: JNode; before: boolean }
  | { op: 'nest'; pick: number; depth: number; kind: 'arr' | 'obj' | 'mix' }
  | { op: 'huge'; pick: number; value: string }
  | { op: 'number'; pick: number; text: string }
  | { op: 'msgtype'; value: string };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: jnode }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat(), which: fc.nat() }),
  fc.record({ op: fc.constant('addKey' as const), pick: fc.nat(), key: keyString, value: jnode }),
  fc.record({ op: fc.constant('dupKey' as const), pick: fc.nat(), which: fc.nat(), value: jnode, before: fc.boolean() }),
  fc.record({ op: fc.constant('nest' as const), pick: fc.nat(), depth: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(15, 16, 17, 1000)), kind: fc.constantFrom('arr' as const, 'obj' as const, 'mix' as const) }),
  fc.record({ op: fc.constant('huge' as const), pick: fc.nat(), value: hugeString }),
  fc.record({ op: fc.constant('number' as const), pick: fc.nat(), text: numberText }),
  fc.record({ op: fc.constant('msgtype' as const), value: fc.oneof(fc.constantFrom(...ROBOT_MSGTYPES, ...APP_MSGTYPES, 'miniprogram_notice', 'voice_call', '', 'TEXT', '__proto__', 'constructor'), nastyString) }),
);

/** A deep copy. Iterative: any depth. */
function clone(n: JNode): JNode {
  const copyOf = (x: JNode): JNode => (x.t === 'obj' ? { t: 'obj', entries: x.entries.map(([k, v]) => [k, v]) } : x.t === 'arr' ? { t: 'arr', items: [...x.items] } : { ...x });
  const root = copyOf(n);
  const todo: JNode[] = [root];
  while (todo.length) {
    const c = todo.pop()!;
    if (c.t === 'obj') for (const e of c.entries) todo.push((e[1] = copyOf(e[1])));
    else if (c.t === 'arr') for (let i = 0; i < c.items.length; i++) todo.push((c.items[i] = copyOf(c.items[i]!)));
  }
  return root;
}

/** Every node of a document, depth first (the root first). Iterative: any depth. */
function nodes(root: JNode): JNode[] {
  const out: JNode[] = [];
  const todo: JNode[] = [root];
  while (todo.length) {
    const n = todo.pop()!;
    out.push(n);
    if (n.t === 'obj') for (let i = n.entries.length - 1; i >= 0; i--) todo.push(n.entries[i]![1]);
    else if (n.t === 'arr') for (let i = n.items.length - 1; i >= 0; i--) todo.push(n.items[i]!);
  }
  return out;
}

/** Applies mutations to a copy: picks are taken modulo the candidates, so every mutation applies somewhere. */
export function mutate(doc: JNode, mutations: Mutation[]): JNode {
  let root = clone(doc);
  for (const m of mutations) {
    const all = nodes(root);
    const replace = (target: JNode, by: JNode) => {
      if (target === root) {
        root = by;
        return;
      }
      for (const p of all) {
        if (p.t === 'obj') for (const e of p.entries) if (e[1] === target) e[1] = by;
        if (p.t === 'arr') p.items = p.items.map((x) => (x === target ? by : x));
      }
    };
    const pick = <T extends JNode>(list: T[], i: number): T | undefined => list[i % Math.max(1, list.length)];
    switch (m.op) {
      case 'set': {
        const t = pick(all, m.pick);
        if (t) replace(t, clone(m.value));
        break;
      }
      case 'delete': {
        const t = pick(all.filter((x) => (x.t === 'obj' && x.entries.length) || (x.t === 'arr' && x.items.length)), m.pick);
        if (t?.t === 'obj') t.entries.splice(m.which % t.entries.length, 1);
        if (t?.t === 'arr') t.items.splice(m.which % t.items.length, 1);
        break;
      }
      case 'addKey': {
        const t = pick(all.filter((x) => x.t === 'obj'), m.pick);
        if (t?.t === 'obj') t.entries.push([m.key, clone(m.value)]);
        break;
      }
      case 'dupKey': {
        const t = pick(all.filter((x) => x.t === 'obj' && x.entries.length), m.pick);
        if (t?.t === 'obj') {
          const key = t.entries[m.which % t.entries.length]![0];
          if (m.before) t.entries.unshift([key, clone(m.value)]);
          else t.entries.push([key, clone(m.value)]);
        }
        break;
      }
      case 'nest': {
        const t = pick(all, m.pick);
        if (t) replace(t, nest(t, m.depth, m.kind));
        break;
      }
      case 'huge': {
        const t = pick(all.filter((x) => x.t === 'str'), m.pick);
        if (t?.t === 'str') t.v = m.value;
        break;
      }
      case 'number': {
        const t = pick(all.filter((x) => x.t === 'num' || x.t === 'str' || x.t === 'lit'), m.pick);
        if (t) replace(t, { t: 'num', text: m.text });
        break;
      }
      case 'msgtype': {
        if (root.t === 'obj') {
          const e = root.entries.find(([k]) => k === 'msgtype');
          if (e) e[1] = { t: 'str', v: m.value };
        }
        break;
      }
    }
  }
  return root;
}

/** Raw body bytes, sometimes with a BOM, invalid UTF-8, or a surrogate half encoded as WTF-8. */
export type Encoding = 'utf8' | 'bom' | 'latin1' | 'wtf8' | 'trailing-garbage' | 'truncated';
export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { arbitrary: fc.constant<Encoding>('utf8'), weight: 12 },
  { arbitrary: fc.constantFrom<Encoding>('bom', 'latin1', 'wtf8', 'trailing-garbage', 'truncated'), weight: 3 },
);

export function encode(text: string, enc: Encoding): Buffer {
  switch (enc) {
    case 'utf8':
      return Buffer.from(text, 'utf8');
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'latin1':
      return Buffer.from(`${text}é`, 'latin1');
    case 'wtf8': {
      // A lone surrogate written as its 3 UTF-8-style bytes: not valid UTF-8.
      const b = Buffer.from(text, 'utf8');
      const at = text.lastIndexOf('"') >= 0 ? b.lastIndexOf(0x22) : b.length;
      return Buffer.concat([b.subarray(0, at), Buffer.from([0xed, 0xa0, 0x80]), b.subarray(at)]);
    }
    case 'trailing-garbage':
      return Buffer.from(`${text} }`, 'utf8');
    case 'truncated': {
      const b = Buffer.from(text, 'utf8');
      return b.subarray(0, Math.max(0, b.length - 1));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// credentials, one generator per rule of policies/20-guardrails.yaml
// ------------------------------------------------------------------------------------------------

const chars = (set: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...set), minLength: min, maxLength: max });
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = `${UPPER_DIGITS}abcdefghijklmnopqrstuvwxyz`;
const HEX = '0123456789abcdef';

export const CREDENTIAL_KINDS = ['private-key', 'aws', 'aliyun', 'tencent', 'google', 'bearer', 'jwt', 'github', 'slack', 'wecom-webhook'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** A credential shaped as the guardrail for its kind expects (≤ 110 characters, ASCII). */
export const credential: fc.Arbitrary<{ kind: CredentialKind; value: string }> = fc.oneof(
  fc
    .oneof(
      fc.tuple(fc.constantFrom('', ' RSA', ' EC', ' DSA', ' OPENSSH', ' ENCRYPTED', ' PGP'), fc.constantFrom('', ' BLOCK')).map(([k, b]) => `-----BEGIN${k} PRIVATE KEY${b}-----`),
      fc.constantFrom('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----', 'PuTTY-User-Key-File-2: ', 'PuTTY-User-Key-File-3: '),
    )
    .map((value) => ({ kind: 'private-key' as const, value })),
  fc.tuple(fc.constantFrom('AKIA', 'ASIA'), chars(UPPER_DIGITS, 16, 16)).map(([p, s]) => ({ kind: 'aws' as const, value: p + s })),
  chars(ALNUM, 12, 28).map((s) => ({ kind: 'aliyun' as const, value: `LTAI${s}` })),
  chars(ALNUM, 13, 40).map((s) => ({ kind: 'tencent' as const, value: `AKID${s}` })),
  chars(`${ALNUM}_-`, 35, 35).map((s) => ({ kind: 'google' as const, value: `AIza${s}` })),
  fc.tuple(fc.constantFrom('Bearer', 'bearer'), fc.constantFrom(' ', '\t', '  '), chars(`${ALNUM}._~+/-`, 20, 60)).map(([b, sp, t]) => ({ kind: 'bearer' as const, value: `${b}${sp}${t}` })),
  fc.tuple(chars(`${ALNUM}_-`, 8, 24), chars(`${ALNUM}_-`, 8, 30), chars(`${ALNUM}_-`, 0, 30)).map(([h, p, s]) => ({ kind: 'jwt' as const, value: `eyJ${h}.eyJ${p}.${s}` })),
  fc.oneof(fc.tuple(fc.constantFrom('ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'), chars(ALNUM, 36, 36)), fc.tuple(fc.constant('github_pat_'), chars(`${ALNUM}_`, 40, 50))).map(([p, s]) => ({ kind: 'github' as const, value: p + s })),
  fc.tuple(fc.constantFrom('xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'xapp-'), chars(`${ALNUM}-`, 10, 40)).map(([p, s]) => ({ kind: 'slack' as const, value: p + s })),
  fc
    .tuple(fc.constantFrom('send', 'upload_media'), fc.constantFrom('', 'type=file&', 'debug=1&x=y&'), fc.tuple(chars(HEX, 8, 8), chars(HEX, 4, 4), chars(HEX, 4, 4), chars(HEX, 4, 4), chars(HEX, 12, 12)))
    .map(([path, pre, parts]) => ({ kind: 'wecom-webhook' as const, value: `https://qyapi.weixin.qq.com/cgi-bin/webhook/${path}?${pre}key=${parts.join('-')}` })),
);

/** Characters that are not word characters for any guardrail's look-behind or look-ahead. */
const BOUNDARY = [' ', '\n', '\t', ':', '=', '"', "'", '(', ')', ',', '，', '。', '中', '【', '】', '\u3000', '<', '>', '`'];
/** Invisible characters the guardrails strip before matching (lib/policy/keywords.ts INVISIBLE). */
export const STRIPPED_INVISIBLES = ['\u00AD', '\u180E', '\u200B', '\u200C', '\u200D', '\u200E', '\u200F', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\uFEFF'];

/**
 * A credential inside prose: random text, a boundary character, the credential (sometimes split by
 * invisible characters the guardrails strip), a boundary character, random text.
 */
export const embeddedCredential = fc
  .record({
    cred: credential,
    before: fc.oneof(fc.constant(''), nastyString, fc.constantFrom('export AWS_ACCESS_KEY_ID', 'curl -H "Authorization', 'config:', '密钥是')),
    after: fc.oneof(fc.constant(''), nastyString),
    b1: fc.constantFrom(...BOUNDARY),
    b2: fc.constantFrom(...BOUNDARY),
    invisible: fc.option(fc.tuple(fc.nat(), fc.constantFrom(...STRIPPED_INVISIBLES)), { nil: undefined, freq: 4 }),
  })
  .map(({ cred, before, after, b1, b2, invisible }) => {
    let value = cred.value;
    if (invisible) {
      const at = 1 + (invisible[0] % (value.length - 1));
      value = value.slice(0, at) + invisible[1] + value.slice(at);
    }
    return { kind: cred.kind, credential: cred.value, bare: value, text: `${before}${b1}${value}${b2}${after}` };
  });

// ------------------------------------------------------------------------------------------------
// multipart
// ------------------------------------------------------------------------------------------------

export interface Part {
  /** Header lines as written (without the line ending). */
  headers: string[];
  body: Buffer;
}

export interface Multipart {
  /** The boundary named in Content-Type (undefined: no boundary parameter). */
  declared: string | undefined;
  /** The boundary used in the body (usually the declared one). */
  used: string;
  quoted: boolean;
  parts: Part[];
  preamble: string;
  epilogue: string;
  closed: boolean;
  eol: '\r\n' | '\n';
}

export function multipartBody(m: Multipart): Buffer {
  const chunks: Buffer[] = [Buffer.from(m.preamble ? `${m.preamble}${m.eol}` : '', 'utf8')];
  for (const p of m.parts) {
    chunks.push(Buffer.from(`--${m.used}${m.eol}${p.headers.map((h) => `${h}${m.eol}`).join('')}${m.eol}`, 'utf8'), p.body, Buffer.from(m.eol, 'utf8'));
  }
  chunks.push(Buffer.from(m.closed ? `--${m.used}--${m.eol}${m.epilogue}` : '', 'utf8'));
  return Buffer.concat(chunks);
}

export function multipartContentType(m: Multipart, base = 'multipart/form-data'): string {
  if (m.declared === undefined) return base;
  return `${base}; boundary=${m.quoted ? `"${m.declared}"` : m.declared}`;
}

/** Filenames: ordinary, unicode, hostile (quotes, CR/LF, backslashes, paths), huge. */
export const filename: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('report.txt', '报告.pdf', 'a b.txt', 'résumé.doc', '😀.png', '.hidden', 'x'), weight: 3 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: fc.constantFrom('a"b.txt', 'a\\b.txt', '../../etc/passwd', 'C:\\Windows\\x.exe', 'a\r\nContent-Type: text/html', 'a%22b', '%E6%8A%A5.txt', ''), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom('a', '长', '😀'), fc.constantFrom(254, 255, 256, 300, 3000)).map(([c, n]) => c.repeat(n)), weight: 1 },
);

/** The file name the firewall should forward for a simple quoted filename (lib/request/parse-upload.ts sanitizeFilename). */
export function forwardedFilename(name: string): string {
  if (name === '.' || name === '..') return 'file'; // busboy drops these as path components
  const clean = name.replace(/["\r\n\\]/g, '_').slice(0, 255).replace(/[\uD800-\uDBFF]$/, '');
  return Buffer.from(clean || 'file', 'utf8').toString('utf8');
}

/** A name busboy reads back unchanged from filename="...": no quote, backslash, line break, slash or leading/trailing blank. */
export const isSimpleFilename = (name: string) => name.length > 0 && !/["\\\r\n/\u0000-\u001f\u007f%]/.test(name) && name.trim() === name && !/[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

export const boundaryString = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 40 }), weight: 6 },
  { arbitrary: fc.constantFrom('', ' ', 'a b', '----', 'x'.repeat(71), 'x'.repeat(200), 'é', 'a"b', 'a;b', 'a=b', '--x', 'x\r\n'), weight: 2 },
  { arbitrary: nastyString, weight: 1 },
);

export const partBody = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((u) => Buffer.from(u)), weight: 3 },
  { arbitrary: fc.constantFrom(Buffer.from('quarterly numbers\n'), Buffer.from('#!AMR\n\u0000\u0001\u0002'), Buffer.from('--not-the-boundary\r\n'), Buffer.alloc(0), Buffer.from('12345')), weight: 3 },
  { arbitrary: fc.constantFrom(1000, 70_000).map((n) => Buffer.alloc(n, 0x61)), weight: 1 },
);

/** RFC 5987 percent-encoding, or the name as it is where it cannot be encoded (a surrogate half). */
function percent(s: string): string {
  try {
    return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  } catch {
    return s;
  }
}

export const part: fc.Arbitrary<Part> = fc.oneof(
  // the media file part, with a few header variants
  {
    weight: 6,
    arbitrary: fc
      .record({ name: fc.constantFrom('media', 'media', 'media', 'Media', 'file', ''), filename, ctype: fc.option(fc.constantFrom('text/plain', 'application/octet-stream', 'audio/amr', 'image/png; x="y"', 'text/html\u0000', ''), { nil: undefined }), body: partBody, star: fc.boolean() })
      .map(({ name, filename: f, ctype, body, star }) => ({
        headers: [
          star ? `Content-Disposition: form-data; name="${name}"; filename*=UTF-8''${percent(f)}` : `Content-Disposition: form-data; name="${name}"; filename="${f}"`,
          ...(ctype === undefined ? [] : [`Content-Type: ${ctype}`]),
        ],
        body,
      })),
  },
  // a plain field
  { weight: 2, arbitrary: fc.record({ name: fc.constantFrom('type', 'key', 'media', 'x'), value: nastyString }).map(({ name, value }) => ({ headers: [`Content-Disposition: form-data; name="${name}"`], body: Buffer.from(value, 'utf8') })) },
  // broken headers
  { weight: 1, arbitrary: fc.record({ headers: fc.array(fc.oneof(nastyString, fc.constantFrom('Content-Disposition: attachment', 'Content-Disposition: form-data', 'Content-Disposition: form-data; filename="x.txt"', 'Content-Disposition: form-data; name=media; filename=a.txt', 'Content-Disposition', ': x', 'X: ' + 'y'.repeat(20_000))), { maxLength: 3 }), body: partBody }) },
);

/** A multipart body: usually well-formed with one media part; sometimes none, several, or a broken frame. */
export const multipart: fc.Arbitrary<Multipart> = fc
  .record({
    declared: fc.option(boundaryString, { nil: undefined, freq: 12 }),
    mismatch: fc.option(boundaryString, { nil: undefined, freq: 8 }),
    quoted: fc.boolean(),
    parts: fc.array(part, { minLength: 0, maxLength: 4 }),
    preamble: fc.oneof({ arbitrary: fc.constant(''), weight: 5 }, { arbitrary: nastyString, weight: 1 }),
    epilogue: fc.oneof({ arbitrary: fc.constant(''), weight: 5 }, { arbitrary: nastyString, weight: 1 }),
    closed: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }),
    eol: fc.oneof({ arbitrary: fc.constant('\r\n' as const), weight: 8 }, { arbitrary: fc.constant('\n' as const), weight: 1 }),
  })
  .map(({ declared, mismatch, quoted, parts, preamble, epilogue, closed, eol }) => ({
    declared,
    used: mismatch ?? declared ?? 'none',
    quoted,
    parts,
    preamble,
    epilogue,
    closed,
    eol,
  }));

/** A well-formed upload: one media part with a simple filename, maybe plain fields around it. */
export const cleanUpload = fc
  .record({
    boundary: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 8, maxLength: 30 }),
    filename: filename.filter(isSimpleFilename),
    body: fc.uint8Array({ minLength: 6, maxLength: 300 }).map((u) => Buffer.from(u)),
    fieldsBefore: fc.array(fc.record({ name: fc.constantFrom('type', 'x', 'note'), value: nastyString }), { maxLength: 2 }),
  })
  .map(({ boundary, filename: f, body, fieldsBefore }) => {
    const m: Multipart = {
      declared: `fz${boundary}`,
      used: `fz${boundary}`,
      quoted: false,
      parts: [
        ...fieldsBefore.map(({ name, value }) => ({ headers: [`Content-Disposition: form-data; name="${name}"`], body: Buffer.from(value.replace(/--fz/g, ''), 'utf8') })),
        { headers: [`Content-Disposition: form-data; name="media"; filename="${f}"`, 'Content-Type: application/octet-stream'], body },
      ],
      preamble: '',
      epilogue: '',
      closed: true,
      eol: '\r\n',
    };
    return { multipart: m, filename: f, size: body.length };
  });

// ------------------------------------------------------------------------------------------------
// a reference model of the envelope (README "What the agent gets back", lib/request/parse-message.ts)
// ------------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What the firewall must do with a JSON body before any policy runs, written from the README:
 * not UTF-8, not JSON, not an object, numbers JSON cannot carry (1e999, integers past 2^53),
 * nesting deeper than 16 levels, more than 10,000 values, a __proto__/constructor/prototype key
 * anywhere, or the msgtype's object missing: 400/40058; msgtype missing: 400/40008. Otherwise the
 * parsed payload, whose JSON.stringify is exactly what may be forwarded.
 */
export function envelope(body: Buffer, opts: { msgtype: boolean } = { msgtype: true }): { refuse: number; why: string } | { payload: Record<string, unknown>; canonical: string } {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return { refuse: 40058, why: 'not UTF-8 JSON' };
  }
  // One walk, depth first with an explicit stack (any depth), in document order: the first problem
  // met ('too many values' as soon as the 10,001st value is reached; a poisoned key after the
  // values of the keys before it), else the nesting depth.
  type Item = { v: unknown; level: number } | { problem: string };
  const todo: Item[] = [{ v: value, level: 1 }];
  let count = 0;
  let deepest = 0;
  let bad: string | undefined;
  while (todo.length && !bad) {
    const item = todo.pop()!;
    if ('problem' in item) {
      bad = item.problem;
      break;
    }
    const { v, level } = item;
    if (++count > 10_000) bad = 'too many values';
    else if (typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))) bad = 'number out of range';
    else if (v !== null && typeof v === 'object') {
      deepest = Math.max(deepest, level);
      const entries = Object.entries(v);
      const poisoned = Array.isArray(v) ? -1 : entries.findIndex(([k]) => ['__proto__', 'constructor', 'prototype'].includes(k));
      if (poisoned >= 0) todo.push({ problem: `key ${entries[poisoned]![0]}` });
      for (let i = (poisoned >= 0 ? poisoned : entries.length) - 1; i >= 0; i--) todo.push({ v: entries[i]![1], level: level + 1 });
    }
  }
  bad ??= deepest > 16 ? 'too deep' : undefined;
  if (bad) return { refuse: 40058, why: bad };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { refuse: 40058, why: 'not an object' };
  const payload = value as Record<string, unknown>;
  if (opts.msgtype) {
    const { msgtype } = payload;
    if (typeof msgtype !== 'string' || !msgtype) return { refuse: 40008, why: 'no msgtype' };
    const inner = Object.hasOwn(payload, msgtype) ? payload[msgtype] : undefined;
    if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return { refuse: 40058, why: 'msgtype object missing' };
  }
  return { payload, canonical: JSON.stringify(payload) };
}
