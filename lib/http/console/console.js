// The approvals console: a static page over the admin API. No framework, no build step, nothing
// loaded from elsewhere.
//
// Safety rules for this file (payloads are written by an AI agent, i.e. attacker-controlled):
//   - DOM is built with createElement / textContent / append only. No innerHTML, outerHTML,
//     insertAdjacentHTML, document.write, eval, or string-built attributes with payload data.
//   - A link is made only for http: and https: URLs, opens in a new tab with
//     rel="noopener noreferrer", and shows its real target as visible text.
//   - Remote images are never loaded: a picture URL is shown as text. Only base64 image payloads are
//     drawn, through a data: URL whose type is chosen from the bytes' magic number (PNG or JPEG).
//   - Opening a page never decides anything: only the Approve / Reject buttons POST.
//   - A link token (from #t=... in a WeCom notification) is read once, removed from the address bar
//     and kept only in this module's memory. A sign-in JWT is kept in sessionStorage.

const SESSION_KEY = 'wecom-firewall.console.jwt';
const STATUSES = ['pending', 'approved', 'sending', 'sent', 'failed', 'rejected', 'expired'];
const FINAL = new Set(['sent', 'failed', 'rejected', 'expired']);
const UPLOAD_ROUTES = new Set(['webhook.upload_media', 'robot.upload_media', 'app.media_upload', 'app.media.upload']);
const MAX_DEPTH = 4;

// Where the admin API lives: the path before /console/ (empty unless a proxy adds a prefix).
const BASE = (() => {
  const i = location.pathname.indexOf('/console/');
  return i > 0 ? location.pathname.slice(0, i) : '';
})();

const state = {
  /** { token, sub } from a pasted JWT, mirrored in sessionStorage. */
  session: null,
  /** { token, sub, approvalId, used } from a notification link; memory only. */
  link: null,
  /** Bumped on every navigation so that late answers of an old view are dropped. */
  generation: 0,
  refreshTimer: 0,
  clockTimer: 0,
};

// ---------------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------------

/** createElement with attributes set one by one and children appended as nodes or text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const frag = (...children) => append(document.createDocumentFragment(), children);

/** replaceChildren that, like h(), skips null/undefined/false instead of printing "null". */
function put(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v) {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The http(s) URL as the browser will read it, or null for anything else (javascript:, data:, relative, …). */
function safeHttpUrl(raw) {
  if (typeof raw !== 'string') return null;
  const s = raw.trim();
  if (!/^https?:\/\//i.test(s)) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * A link from the payload: clickable only when http(s), in a new tab, with the real target shown.
 * A label that itself looks like a different URL is flagged (the text says one place, the link goes
 * to another).
 */
function extLink(raw, label) {
  const href = safeHttpUrl(raw);
  const text = label === undefined || label === null || label === '' ? null : label;
  if (!href) {
    return h('span', { class: 'link-blocked', title: 'Not an http(s) link: it is not clickable here' },
      text !== null ? h('span', { class: 'link-label' }, text) : null,
      h('code', { class: 'url' }, raw === undefined || raw === null || raw === '' ? '(no url)' : str(raw)),
      h('span', { class: 'flag flag-danger' }, raw ? 'not an http(s) link' : 'missing url'));
  }
  const a = h('a', { class: 'ext', href, target: '_blank', rel: 'noopener noreferrer', referrerpolicy: 'no-referrer', title: href }, text !== null ? text : href);
  if (text === null || text === href) return a;
  const parts = [a, ' ', h('span', { class: 'url-shown', title: 'where the link goes' }, '→ ', h('code', { class: 'url' }, href))];
  const labelUrl = /^\s*(?:https?:\/\/)?[a-z0-9.-]+\.[a-z]{2,}(?:[/:?#]|\s*$)/i.test(text) ? safeHttpUrl(/^https?:/i.test(text.trim()) ? text : `https://${text.trim()}`) : null;
  if (labelUrl && new URL(labelUrl).host !== new URL(href).host) parts.push(h('span', { class: 'flag flag-danger' }, 'text and target differ'));
  return frag(parts);
}

/** A remote picture is never loaded: shown as its URL, clickable if http(s). */
function remoteImage(raw, what = 'picture') {
  return h('span', { class: 'remote-img' }, h('span', { class: 'remote-img-icon', 'aria-hidden': 'true' }, '▧'), `${what} (not loaded): `, extLink(raw));
}

// ---------------------------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------------------------

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

function relative(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 45 * 60) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 36 * 3600) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

function absolute(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return str(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A time element whose relative part is refreshed every few seconds. */
function timeEl(iso, mode = 'both') {
  const el = h('time', { datetime: str(iso), title: `${absolute(iso)} (${str(iso)})`, class: 'reltime', dataset: { mode } });
  paintTime(el);
  return el;
}

function paintTime(el) {
  const iso = el.getAttribute('datetime');
  const mode = el.dataset.mode;
  if (mode === 'expires') {
    const past = Date.parse(iso) <= Date.now();
    el.textContent = past ? `expired ${relative(iso)}` : relative(iso);
    el.classList.toggle('past', past);
  } else if (mode === 'relative') el.textContent = relative(iso);
  else el.textContent = `${absolute(iso)} · ${relative(iso)}`;
}

function fmtBytes(n) {
  if (typeof n !== 'number') return '';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

function utf8Bytes(s) {
  return new TextEncoder().encode(s).length;
}

const approvalsSoFar = (a) => (a.decisions ?? []).filter((d) => d.verdict === 'approve').length;
const isApp = (a) => typeof a.route === 'string' && a.route.startsWith('app.');
const targetName = (a) => (isApp(a) ? a.app : a.robot) ?? a.robot ?? a.app ?? a.bot ?? '';
/** What kind of sender a record goes through: a robot, an app or a bot (the bot WebSocket). */
const kindOf = (a) => (isApp(a) ? 'app' : typeof a.route === 'string' && a.route.startsWith('bot.') ? 'bot' : 'robot');
const isUpload = (a) => UPLOAD_ROUTES.has(a.route) || /upload/.test(str(a.target).split('?')[0]);

function statusBadge(status, id) {
  return h('span', { class: `badge status-${STATUSES.includes(status) ? status : 'unknown'}`, dataset: { status: str(status) }, id }, str(status));
}

function mentionsAll(a) {
  const p = a.payload;
  if (!isObj(p)) return false;
  if (String(p.touser ?? '').split('|').includes('@all')) return true;
  const o = p[p.msgtype];
  if (isObj(o) && (arr(o.mentioned_list).includes('@all') || arr(o.mentioned_mobile_list).includes('@all'))) return true;
  return /<@all>/i.test(isObj(o) ? str(o.content) : '');
}

function arr(v) {
  return Array.isArray(v) ? v : [];
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = isObj(body) ? body : {};
    this.errcode = this.body.errcode;
    this.errmsg = this.body.errmsg;
  }
}

async function api(method, path, token, body) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'error' });
  } catch (err) {
    throw new ApiError(0, { errcode: null, errmsg: `the firewall could not be reached (${err instanceof Error ? err.message : String(err)})` });
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok || !isObj(json) || (json.errcode !== 0 && json.errcode !== undefined)) throw new ApiError(res.status, json ?? { errmsg: `unexpected answer (HTTP ${res.status})` });
  return json;
}

/** An API refusal as the reviewer should read it: HTTP status, errcode, errmsg and what it means. */
function errorBox(err, context) {
  const e = err instanceof ApiError ? err : new ApiError(0, { errmsg: err instanceof Error ? err.message : String(err) });
  const hint = {
    9900010: state.link && state.link.used ? 'This one-time link has already been used to decide (or it expired). Sign in with your own token to act again.' : 'The token was refused: missing, expired, already used, or not valid here.',
    9900011: 'You are not an approver of this record (or a link token was used for another record).',
    9900012: 'No approval with that id.',
    9900013: 'Already decided, expired, or you already voted on it.',
  }[e.errcode];
  return h('div', { class: 'api-error', role: 'alert', dataset: { status: String(e.status), errcode: str(e.errcode) } },
    h('div', { class: 'api-error-head' },
      context ? h('strong', null, context, ': ') : null,
      e.status ? `HTTP ${e.status}` : 'no answer',
      e.errcode !== undefined && e.errcode !== null ? frag(' · errcode ', h('code', null, String(e.errcode))) : null),
    e.errmsg ? h('div', { class: 'api-error-msg' }, str(e.errmsg)) : null,
    hint ? h('div', { class: 'api-error-hint' }, hint) : null,
    e.body.request_id ? h('div', { class: 'api-error-rid' }, 'request_id ', h('code', null, str(e.body.request_id))) : null);
}

// ---------------------------------------------------------------------------------------------
// identity
// ---------------------------------------------------------------------------------------------

function readLinkToken() {
  if (!location.hash || location.hash.length < 2) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  const t = params.get('t');
  // Out of the address bar (and so out of history, bookmarks and screenshots) before anything else.
  history.replaceState(history.state, '', location.pathname + location.search);
  return t && t.trim() ? t.trim() : null;
}

function tokenFor(approvalId) {
  if (state.link && approvalId && approvalId === state.link.approvalId) return state.link.token;
  return state.session ? state.session.token : null;
}

function jwtExpiry(token) {
  try {
    const part = token.split('.')[1];
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=')));
    return typeof json.exp === 'number' ? new Date(json.exp * 1000).toISOString() : null;
  } catch {
    return null;
  }
}

function renderIdentity() {
  const box = document.getElementById('identity');
  box.replaceChildren();
  const parts = [];
  if (state.link) {
    parts.push(h('span', { class: 'who who-link', id: 'identity-link', dataset: { via: 'link', sub: state.link.sub } },
      'Signed in as ', h('strong', null, state.link.sub), ' via a one-time link for ',
      h('a', { href: `/console/approvals/${encodeURIComponent(state.link.approvalId)}`, dataset: { nav: 'detail' } }, 'this approval'),
      state.link.used ? h('span', { class: 'flag' }, 'link used') : state.link.expiresAt ? frag(' · link expires ', timeEl(state.link.expiresAt, 'relative')) : null,
      ' ', h('button', { type: 'button', class: 'linkish', id: 'forget-link', onclick: () => { state.link = null; route(); } }, 'forget link')));
  }
  if (state.session) {
    const exp = jwtExpiry(state.session.token);
    parts.push(h('span', { class: 'who who-jwt', id: 'identity-jwt', dataset: { via: 'jwt', sub: state.session.sub } },
      'Signed in as ', h('strong', null, state.session.sub), ' (token',
      exp ? frag(', expires ', timeEl(exp, 'relative')) : null, ')',
      ' ', h('button', { type: 'button', class: 'linkish', id: 'sign-out', onclick: signOut }, 'sign out')));
  }
  if (!parts.length) parts.push(h('span', { class: 'who who-none' }, 'Not signed in'));
  append(box, parts);
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  state.session = null;
  navigate('/console/');
}

async function signIn(token) {
  const me = await api('GET', '/me', token);
  if (me.via === 'link') throw new ApiError(400, { errcode: null, errmsg: 'that is a one-time link token: open the link from the WeCom notification instead' });
  state.session = { token, sub: str(me.sub) };
  sessionStorage.setItem(SESSION_KEY, token);
  renderIdentity();
}

function signInForm(message, after) {
  const input = h('textarea', { id: 'token-input', name: 'token', rows: '4', spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', placeholder: 'eyJhbGciOi…', required: true, 'aria-describedby': 'token-help' });
  const out = h('div', { id: 'sign-in-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', id: 'sign-in' }, 'Sign in');
  const form = h('form', { class: 'card sign-in', id: 'sign-in-form', autocomplete: 'off' },
    h('h1', null, 'Sign in'),
    message ? h('p', { class: 'notice' }, message) : null,
    h('label', { for: 'token-input' }, 'Your approver token (JWT)'),
    input,
    h('p', { class: 'help', id: 'token-help' }, 'The same token the CLI uses (', h('code', null, 'WECOM_FIREWALL_TOKEN'), '). It is kept in this tab only (sessionStorage) until you sign out or close the tab.'),
    h('div', { class: 'actions' }, button),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!token) return;
    button.disabled = true;
    out.replaceChildren();
    try {
      await signIn(token);
      after ? after() : route();
    } catch (err) {
      put(out, errorBox(err, 'Sign-in refused'));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// ---------------------------------------------------------------------------------------------
// routing
// ---------------------------------------------------------------------------------------------

function navigate(url) {
  history.pushState(null, '', url);
  route();
}

document.addEventListener('click', (ev) => {
  const a = ev.target instanceof Element ? ev.target.closest('a[data-nav]') : null;
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());

function main() {
  return document.getElementById('main');
}

function setView(name, ...children) {
  clearInterval(state.refreshTimer);
  state.generation++;
  document.body.dataset.view = name;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === name);
  put(main(), ...children);
  return state.generation;
}

function route() {
  renderIdentity();
  const path = location.pathname.slice(BASE.length);
  const m = /^\/console\/approvals\/([^/]+)\/?$/.exec(path);
  if (m) return showDetail(decodeURIComponent(m[1]));
  const params = new URLSearchParams(location.search);
  if (params.get('view') === 'history') return showHistory(params);
  return showQueue();
}

function needSession(view, message) {
  const extra = state.link ? ` Your one-time link opens only approval ${state.link.approvalId}.` : '';
  setView(view, signInForm(`${message}${extra}`));
}

// ---------------------------------------------------------------------------------------------
// queue and history
// ---------------------------------------------------------------------------------------------

function stripMarkdown(s) {
  return s
    .replace(/```[\s\S]*?```/g, ' [code] ')
    .replace(/<font[^>]*>([\s\S]*?)<\/font>/gi, '$1')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '[image $1]')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/[*`|]/g, '')
    .replace(/<@([^>\s]+)>/g, '@$1');
}

/** One line of plain text saying what the message is. */
function summary(a) {
  if (a.purged) return 'payload erased after the retention period';
  const p = a.payload;
  if (!isObj(p)) {
    if (isUpload(a)) return `file upload · ${fmtBytes(a.size)}`;
    if (a.msgtype) return `${str(a.msgtype)} message · ${fmtBytes(a.size)} (too large for the list: open it)`;
    return `${str(a.method)} ${str(a.target)}`;
  }
  const t = str(p.msgtype);
  const o = isObj(p[t]) ? p[t] : {};
  let s;
  switch (t) {
    case 'text':
      s = str(o.content);
      break;
    case 'markdown':
    case 'markdown_v2':
      s = stripMarkdown(str(o.content));
      break;
    case 'news':
    case 'mpnews': {
      const list = arr(o.articles);
      s = `${str(list[0]?.title)}${list.length > 1 ? ` (+${list.length - 1} more)` : ''}`;
      break;
    }
    case 'template_card':
      s = str(o.main_title?.title) || str(o.sub_title_text) || str(o.card_type);
      break;
    case 'textcard':
      s = `${str(o.title)} — ${str(o.description)}`;
      break;
    case 'image':
      s = `image · ${fmtBytes(Math.floor((str(o.base64).length * 3) / 4))}`;
      break;
    case 'file':
    case 'voice':
    case 'video':
      s = `${t} · media_id ${str(o.media_id)}`;
      break;
    default:
      s = t ? `${t} message` : JSON.stringify(p);
  }
  if (isApp(a) && (p.touser !== undefined || p.toparty !== undefined || p.totag !== undefined || p.chatid !== undefined)) {
    const to = [p.touser && `users ${str(p.touser)}`, p.toparty && `parties ${str(p.toparty)}`, p.totag && `tags ${str(p.totag)}`, p.chatid && `chat ${str(p.chatid)}`].filter(Boolean).join(', ');
    s = `to ${to}: ${s}`;
  }
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
}

function approvalsTable(list, { showStatus }) {
  const head = h('tr', null,
    h('th', { scope: 'col' }, 'Created'),
    showStatus ? h('th', { scope: 'col' }, 'Status') : null,
    h('th', { scope: 'col' }, 'Robot / app'),
    h('th', { scope: 'col' }, 'Caller'),
    h('th', { scope: 'col' }, 'Rule'),
    h('th', { scope: 'col' }, 'Type'),
    h('th', { scope: 'col', class: 'col-summary' }, 'Message'),
    h('th', { scope: 'col' }, 'Approvals'),
    h('th', { scope: 'col' }, showStatus ? 'Expires' : 'Expires in'));
  const body = h('tbody');
  appendRows(body, list, showStatus);
  return h('table', { class: 'approvals', id: 'approvals-table' }, h('thead', null, head), body);
}

function appendRows(tbody, list, showStatus) {
  for (const a of list) {
    const href = `/console/approvals/${encodeURIComponent(a.id)}`;
    const tr = h('tr', { class: 'row-link', dataset: { id: a.id, status: a.status } },
      h('td', { class: 'nowrap' }, h('a', { href, dataset: { nav: 'detail' }, class: 'row-anchor', title: `open approval ${a.id}` }, timeEl(a.created_at, 'relative')), h('div', { class: 'small muted' }, absolute(a.created_at).slice(5, 16))),
      showStatus ? h('td', null, statusBadge(a.status)) : null,
      h('td', null, h('span', { class: 'kind' }, kindOf(a)), ' ', h('strong', null, targetName(a))),
      h('td', { class: 'mono nowrap' }, str(a.caller)),
      h('td', { class: 'mono rule', title: str(a.reason) }, str(a.rule)),
      h('td', { class: 'mono nowrap' }, a.msgtype ? str(a.msgtype) : isUpload(a) ? 'upload' : '—'),
      h('td', { class: 'col-summary' }, mentionsAll(a) ? h('span', { class: 'flag flag-danger' }, '@all') : null, h('span', { class: 'summary' }, summary(a))),
      h('td', { class: 'nowrap' }, `${approvalsSoFar(a)} of ${a.required}`,
        (a.decisions ?? []).some((d) => d.verdict === 'reject') ? h('div', { class: 'small bad' }, `rejected by ${(a.decisions ?? []).filter((d) => d.verdict === 'reject').map((d) => str(d.who)).join(', ')}`) : null,
        a.may_decide ? h('span', { class: 'flag flag-you', title: 'you can decide this one' }, 'you') : null),
      h('td', { class: 'nowrap' }, a.status === 'pending' ? timeEl(a.expires_at, 'expires') : h('span', { class: 'muted' }, '—')));
    tr.addEventListener('click', (ev) => {
      if (ev.target instanceof Element && ev.target.closest('a')) return;
      navigate(href);
    });
    tbody.append(tr);
  }
}

async function showQueue() {
  if (!state.session) return needSession('queue', 'Sign in to see the approval queue.');
  const status = h('p', { class: 'muted', id: 'queue-status' }, 'Loading…');
  const refresh = h('button', { type: 'button', class: 'btn', id: 'refresh', onclick: () => load() }, 'Refresh');
  const holder = h('div', { id: 'queue' });
  const gen = setView('queue',
    h('div', { class: 'page-head' }, h('h1', null, 'Pending approvals'), h('div', { class: 'page-tools' }, status, refresh)),
    h('p', { class: 'lede' }, 'Messages an agent tried to send that a policy parked for a human decision. Nothing here reaches WeCom unless enough approvers approve it. Newest first.'),
    holder);
  async function load() {
    try {
      const res = await api('GET', '/approvals?status=pending&limit=200', state.session.token);
      if (gen !== state.generation) return;
      const list = arr(res.approvals);
      status.textContent = `${list.length} pending${res.next_before ? ' (more: see History)' : ''} · updated ${absolute(new Date().toISOString()).slice(11)}`;
      put(holder, list.length ? approvalsTable(list, { showStatus: false }) : h('div', { class: 'empty card' }, 'Nothing is waiting for approval.'));
    } catch (err) {
      if (gen !== state.generation) return;
      if (await sessionRefused(err)) return;
      status.textContent = '';
      put(holder, errorBox(err, 'Could not load the queue'));
    }
  }
  await load();
  state.refreshTimer = setInterval(() => {
    if (document.visibilityState === 'visible') void load();
  }, 30_000);
}

/** A 401 on the session token: forget it and ask again. */
async function sessionRefused(err) {
  if (!(err instanceof ApiError) || err.status !== 401 || !state.session) return false;
  sessionStorage.removeItem(SESSION_KEY);
  state.session = null;
  renderIdentity();
  put(main(), signInForm(`Your token was refused (HTTP 401, errcode ${str(err.errcode)}: ${str(err.errmsg)}). Sign in again.`));
  return true;
}

function toLocalInput(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function showHistory(params) {
  if (!state.session) return needSession('history', 'Sign in to see the approval history.');
  const f = {
    status: params.get('status') || 'all',
    robot: params.get('robot') || '',
    rule: params.get('rule') || '',
    caller: params.get('caller') || '',
    since: params.get('since') || '',
    until: params.get('until') || '',
  };
  const statusSel = h('select', { id: 'f-status', name: 'status' }, ['all', ...STATUSES].map((s) => h('option', { value: s, selected: s === f.status }, s)));
  const robot = h('input', { id: 'f-robot', name: 'robot', value: f.robot, placeholder: 'exact name', autocomplete: 'off' });
  const rule = h('input', { id: 'f-rule', name: 'rule', value: f.rule, placeholder: 'exact rule name', autocomplete: 'off' });
  const caller = h('input', { id: 'f-caller', name: 'caller', value: f.caller, placeholder: 'e.g. 127.0.0.1', autocomplete: 'off' });
  const since = h('input', { id: 'f-since', name: 'since', type: 'datetime-local', value: toLocalInput(f.since) });
  const until = h('input', { id: 'f-until', name: 'until', type: 'datetime-local', value: toLocalInput(f.until) });
  const field = (label, input) => h('label', { class: 'field' }, h('span', null, label), input);
  const form = h('form', { class: 'filters card', id: 'history-filters' },
    field('Status', statusSel), field('Robot / app', robot), field('Rule', rule), field('Caller', caller), field('Created since', since), field('Created until', until),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'f-apply' }, 'Apply'), h('a', { href: '/console/?view=history', dataset: { nav: 'history' }, class: 'btn btn-plain' }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ view: 'history' });
    const toIso = (v) => (v ? new Date(v).toISOString() : '');
    const values = { status: statusSel.value, robot: robot.value.trim(), rule: rule.value.trim(), caller: caller.value.trim(), since: toIso(since.value), until: toIso(until.value) };
    for (const [k, v] of Object.entries(values)) if (v) q.set(k, v);
    navigate(`/console/?${q}`);
  });
  const holder = h('div', { id: 'history' });
  const more = h('div', { class: 'more' });
  const gen = setView('history', h('div', { class: 'page-head' }, h('h1', null, 'History')), form, holder, more);

  const limit = /^[1-9][0-9]{0,2}$/.test(params.get('limit') ?? '') && Number(params.get('limit')) <= 500 ? params.get('limit') : '50';
  const query = new URLSearchParams({ status: f.status, limit });
  for (const k of ['robot', 'rule', 'caller', 'since', 'until']) if (f[k]) query.set(k, f[k]);
  let tbody = null;
  let total = 0;
  async function page(before) {
    if (before) query.set('before', before);
    put(more, h('span', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api('GET', `/approvals?${query}`, state.session.token);
      if (gen !== state.generation) return;
      const list = arr(res.approvals);
      total += list.length;
      if (!tbody) {
        if (!list.length) put(holder, h('div', { class: 'empty card' }, 'No approvals match these filters.'));
        else {
          const table = approvalsTable(list, { showStatus: true });
          tbody = table.tBodies[0];
          put(holder, table);
        }
      } else appendRows(tbody, list, true);
      put(more,
        total ? h('span', { class: 'muted' }, res.next_before ? `${total} shown` : `${total} shown · no older records`) : null,
        res.next_before ? h('button', { type: 'button', class: 'btn', id: 'older', onclick: () => page(res.next_before) }, 'Older →') : null);
    } catch (err) {
      if (gen !== state.generation) return;
      if (await sessionRefused(err)) return;
      put(more, errorBox(err, 'Could not load the history'));
    }
  }
  await page();
}

// ---------------------------------------------------------------------------------------------
// detail
// ---------------------------------------------------------------------------------------------

async function showDetail(id) {
  const token = tokenFor(id);
  if (!token) {
    const msg = state.link ? `Your one-time link is for approval ${state.link.approvalId}, not this one. Sign in with your own token to open it.` : 'Sign in to open this approval. (A link from a WeCom notification carries its own one-time token: open that link again if you came from one.)';
    return setView('detail', signInForm(msg));
  }
  const gen = setView('detail', h('p', { class: 'loading' }, 'Loading approval…'));
  try {
    const res = await api('GET', `/approvals/${encodeURIComponent(id)}`, token);
    if (gen !== state.generation) return;
    paintDetail(res.approval);
  } catch (err) {
    if (gen !== state.generation) return;
    if (token !== state.link?.token && (await sessionRefused(err))) return;
    put(main(), h('div', { class: 'page-head' }, h('h1', null, 'Approval ', h('code', null, id))), errorBox(err, 'Could not load this approval'));
  }
}

function paintDetail(a, outcome) {
  setView('detail');
  const who = state.link && state.link.approvalId === a.id ? state.link.sub : state.session?.sub;
  const approvals = approvalsSoFar(a);
  const head = h('div', { class: 'page-head detail-head' },
    h('div', null,
      h('div', { class: 'crumbs' }, a.status === 'pending' ? h('a', { href: '/console/', dataset: { nav: 'queue' } }, 'Pending') : h('a', { href: '/console/?view=history', dataset: { nav: 'history' } }, 'History'), ' / approval'),
      h('h1', null, statusBadge(a.status, 'status-badge'), ' ', h('span', { class: 'mono id' }, a.id))),
    h('div', { class: 'head-facts' },
      h('div', null, h('span', { class: 'muted' }, 'to '), h('span', { class: 'kind' }, kindOf(a)), ' ', h('strong', null, targetName(a))),
      h('div', null, h('span', { class: 'muted' }, 'approvals '), h('strong', { id: 'approval-count' }, `${approvals} of ${a.required}`)),
      a.status === 'pending' ? h('div', null, h('span', { class: 'muted' }, 'expires '), timeEl(a.expires_at, 'expires')) : null));

  const why = h('section', { class: 'card why' },
    h('h2', null, 'Why it was parked'),
    h('p', null, 'Rule ', h('code', { id: 'rule' }, str(a.rule)), ': ', h('span', { class: 'reason' }, str(a.reason))));

  const decide = decisionPanel(a, who);
  const result = outcome ? h('div', { id: 'decision-result', class: 'card result', dataset: { status: a.status, ok: outcome.error ? 'false' : 'true' } }, outcome.error ? errorBox(outcome.error, 'Decision') : null, outcomeText(a, outcome)) : null;

  const raw = rawToggle(a);
  const left = h('div', { class: 'col-main' },
    h('section', { class: 'card message' },
      h('div', { class: 'section-head' }, h('h2', null, 'The message, as WeCom would show it'), raw.button),
      renderPayload(a),
      raw.pre));
  const right = h('div', { class: 'col-side' }, decide, metadata(a, who), decisionsList(a), upstreamBox(a));
  main().append(head, result ?? '', why, h('div', { class: 'detail-grid' }, left, right));
  state.refreshTimer = setInterval(() => {
    for (const el of main().querySelectorAll('time.reltime')) paintTime(el);
  }, 15_000);
}

function outcomeText(a, outcome) {
  if (!outcome) return null;
  const verb = outcome.verdict === 'approve' ? 'approved' : 'rejected';
  const s = {
    sent: 'The message was sent to WeCom.',
    failed: 'Approved, but sending to WeCom failed: see WeCom’s answer below.',
    rejected: 'The message was rejected: it will never be sent.',
    pending: `Your approval is recorded. It needs ${a.required - approvalsSoFar(a)} more approval(s) before it is sent.`,
    approved: a.expected_at ? `Approved. It waits (${str(a.waiting_because ?? 'for its robot’s limit')}) and is expected to go ${relative(a.expected_at)}; it fails if not sent by ${str(a.deliver_by ?? a.expires_at)}.` : 'Approved; sending is starting.',
    sending: 'Approved; sending is in progress.',
    expired: 'The message expired unsent.',
  }[a.status];
  return h('p', { class: 'result-text' }, outcome.error && outcome.error.status !== 502 ? null : h('strong', null, `You ${verb}. `), s ?? `Status: ${a.status}.`, state.link?.used && state.link.approvalId === a.id ? ' Your one-time link is now used up for deciding; it can still show this record until it expires.' : '');
}

function rawToggle(a) {
  const pre = h('pre', { class: 'raw', id: 'raw-json', hidden: true });
  pre.textContent = a.payload === null || a.payload === undefined ? 'null' : JSON.stringify(a.payload, null, 2);
  const button = h('button', { type: 'button', class: 'btn btn-small', id: 'raw-toggle', 'aria-expanded': 'false', 'aria-controls': 'raw-json' }, 'Raw JSON');
  button.addEventListener('click', () => {
    const show = pre.hidden;
    pre.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    button.textContent = show ? 'Hide raw JSON' : 'Raw JSON';
  });
  return { button, pre };
}

function decisionPanel(a, who) {
  if (!a.may_decide) {
    let why;
    const mine = (a.decisions ?? []).find((d) => d.who === who);
    if (a.status !== 'pending') why = `This approval is ${a.status}: there is nothing left to decide.`;
    else if (mine) why = `You already voted (${mine.verdict}) ${relative(mine.at)}. A vote counts once.`;
    else if (state.link && state.link.approvalId === a.id && state.link.used) why = 'Your one-time link was used to decide. Sign in with your own token to act again.';
    else if (who && !arr(a.approvers).includes(who)) why = `${who} is not one of this record’s approvers.`;
    else if (who && who === a.caller) why = 'The caller that made the request cannot decide it.';
    else why = 'You cannot decide this approval.';
    return h('section', { class: 'card decide decide-off', id: 'decide-off' }, h('h2', null, 'Decision'), h('p', { class: 'muted' }, why));
  }
  const remaining = a.required - approvalsSoFar(a);
  const comment = h('textarea', { id: 'comment', name: 'comment', rows: '3', maxlength: '2000', placeholder: 'Optional: why (recorded with your decision, shown to other approvers and in the audit trail)' });
  const approve = h('button', { type: 'button', class: 'btn btn-approve', id: 'approve' }, remaining <= 1 ? `Approve and send to ${targetName(a)}` : `Approve (${remaining - 1} more needed after you)`);
  const reject = h('button', { type: 'button', class: 'btn btn-reject', id: 'reject' }, 'Reject: never send');
  const status = h('div', { class: 'decide-status', 'aria-live': 'polite' });
  const act = async (verdict) => {
    approve.disabled = true;
    reject.disabled = true;
    status.textContent = verdict === 'approve' ? 'Approving…' : 'Rejecting…';
    const token = tokenFor(a.id);
    const viaLink = state.link && token === state.link.token;
    // The vote counts only for the bytes shown here: a parked stream that grew since is shown again.
    const body = { sha256: a.sha256, ...(comment.value.trim() ? { comment: comment.value.trim() } : {}) };
    try {
      const res = await api('POST', `/approvals/${encodeURIComponent(a.id)}/${verdict}`, token, body);
      if (viaLink) state.link.used = true;
      renderIdentity();
      paintDetail(res.approval, { verdict });
    } catch (err) {
      if (err instanceof ApiError && err.errcode === 9900032) {
        await showDetail(a.id);
        put(document.querySelector('.decide-status') ?? status, errorBox(err, 'The message changed while you looked at it: here it is as it is now'));
        return;
      }
      if (viaLink && err instanceof ApiError && [401, 409, 502].includes(err.status)) state.link.used = true;
      renderIdentity();
      if (err instanceof ApiError && isObj(err.body.approval)) {
        paintDetail(err.body.approval, { verdict, error: err });
      } else {
        put(status, errorBox(err, verdict === 'approve' ? 'Approve refused' : 'Reject refused'));
        approve.disabled = false;
        reject.disabled = false;
      }
    }
  };
  approve.addEventListener('click', () => act('approve'));
  reject.addEventListener('click', () => act('reject'));
  return h('section', { class: 'card decide', id: 'decide' },
    h('h2', null, 'Your decision'),
    h('p', { class: 'muted small' }, remaining <= 1
      ? kindOf(a) === 'bot'
        ? `Approving sends this message (sha256 ${str(a.sha256).slice(0, 12)}…) through bot ${targetName(a)} at once: a reply as its final state while its chat can still be answered, else as a new markdown message to the same chat.`
        : `Approving sends this exact message (sha256 ${str(a.sha256).slice(0, 12)}…) to ${kindOf(a)} ${targetName(a)} at once.`
      : `${a.required} approvals are needed; ${approvalsSoFar(a)} so far. One reject rejects it.`),
    h('label', { for: 'comment', class: 'small' }, 'Comment'),
    comment,
    h('div', { class: 'actions' }, approve, reject),
    status);
}

function dl(rows) {
  const el = h('dl', { class: 'meta' });
  for (const [k, v, id] of rows) {
    if (v === null || v === undefined || v === '') continue;
    el.append(h('dt', null, k), h('dd', { id }, v));
  }
  return el;
}

function metadata(a, who) {
  const approvers = h('span', { class: 'chips' }, arr(a.approvers).map((p) => h('span', { class: `chip${p === who ? ' chip-you' : ''}` }, str(p), p === who ? ' (you)' : '')));
  return h('section', { class: 'card' },
    h('h2', null, 'Record'),
    dl([
      ['Status', statusBadge(a.status)],
      ['Asked by (caller)', h('code', null, str(a.caller))],
      [{ app: 'App', bot: 'Bot', robot: 'Robot' }[kindOf(a)], h('strong', null, targetName(a))],
      ['Route', h('code', null, str(a.route))],
      ['Request', frag(h('code', null, str(a.method)), ' ', h('code', { class: 'break' }, str(a.target)))],
      ['Message type', a.msgtype ? h('code', null, str(a.msgtype)) : '—'],
      ['Created', timeEl(a.created_at)],
      a.status === 'pending'
        ? ['Expires', frag(timeEl(a.expires_at, 'expires'), h('span', { class: 'muted small block' }, absolute(a.expires_at)))]
        : ['Expiry', frag(absolute(a.expires_at), h('span', { class: 'muted small block' }, a.status === 'expired' ? 'it expired undecided' : 'applied only while it was pending'))],
      ['Size', typeof a.size !== 'number' ? '— (payload erased)' : a.size < 1024 ? fmtBytes(a.size) : `${fmtBytes(a.size)} (${a.size} bytes)`],
      ['SHA-256', h('code', { class: 'break small', id: 'sha256' }, str(a.sha256))],
      ['Approvers', approvers],
      ['Required', `${a.required} approval${a.required === 1 ? '' : 's'} (one reject rejects)`],
      ['Request id', h('code', { class: 'small break' }, str(a.request_id))],
    ]));
}

function decisionsList(a) {
  const list = arr(a.decisions);
  return h('section', { class: 'card', id: 'decisions' },
    h('h2', null, 'Decisions'),
    list.length
      ? h('ol', { class: 'decisions' }, list.map((d) =>
        h('li', { class: `decision verdict-${d.verdict === 'approve' ? 'approve' : 'reject'}`, dataset: { who: str(d.who), verdict: str(d.verdict) } },
          h('div', null, h('span', { class: `verdict verdict-${d.verdict === 'approve' ? 'approve' : 'reject'}` }, d.verdict === 'approve' ? 'approved' : d.verdict === 'reject' ? 'rejected' : str(d.verdict)), ' by ', h('strong', null, str(d.who)), ' ', h('span', { class: 'muted small' }, timeEl(d.at))),
          d.comment ? h('blockquote', { class: 'comment' }, str(d.comment)) : null)))
      : h('p', { class: 'muted' }, 'No decisions yet.'));
}

function upstreamBox(a) {
  const u = a.upstream;
  if (!isObj(u)) {
    const waiting = a.status === 'approved' && a.expected_at ? h('p', { id: 'waiting' }, 'Waiting: ', str(a.waiting_because ?? ''), '. Next attempt ', timeEl(a.expected_at), '; fails if not sent by ', timeEl(a.deliver_by ?? a.expires_at), '.') : null;
    return h('section', { class: 'card', id: 'upstream' }, h('h2', null, 'WeCom’s answer'), h('p', { class: 'muted' }, FINAL.has(a.status) && a.status !== 'failed' ? 'Not sent.' : 'Not sent yet.'), waiting);
  }
  let parsed = null;
  try {
    parsed = JSON.parse(str(u.body));
  } catch {
    /* not JSON */
  }
  const ok = u.status === 200 && isObj(parsed) && parsed.errcode === 0;
  return h('section', { class: 'card', id: 'upstream', dataset: { ok: String(ok) } },
    h('h2', null, 'WeCom’s answer'),
    dl([
      ['Result', h('span', { class: ok ? 'ok' : 'bad' }, ok ? 'accepted' : 'refused or failed')],
      ['HTTP status', u.status ? String(u.status) : 'no answer'],
      ['errcode', isObj(parsed) && parsed.errcode !== undefined ? h('code', null, str(parsed.errcode)) : null],
      ['errmsg', isObj(parsed) && parsed.errmsg !== undefined ? str(parsed.errmsg) : null],
      ['At', u.at ? timeEl(u.at) : null],
    ]),
    h('pre', { class: 'raw small' }, str(u.body)));
}

// ---------------------------------------------------------------------------------------------
// the message, rendered
// ---------------------------------------------------------------------------------------------

function renderPayload(a) {
  const wrap = h('div', { class: 'render', id: 'render' });
  if (a.purged) {
    wrap.append(h('div', { class: 'notice', id: 'purged' }, 'The payload was erased after the retention period. Only its SHA-256 remains: ', h('code', { class: 'break' }, str(a.sha256))));
    return wrap;
  }
  const p = a.payload;
  if (p === null || p === undefined) {
    if (isUpload(a)) {
      const type = new URLSearchParams(str(a.target).split('?')[1] ?? '').get('type');
      wrap.append(h('div', { class: 'notice upload', id: 'upload' },
        h('strong', null, `A file upload${type ? ` (type ${type})` : ''}.`),
        ' Its bytes are a file, not a message, and are not shown here. Approving uploads exactly these bytes: ',
        fmtBytes(a.size), ', SHA-256 ', h('code', { class: 'break' }, str(a.sha256)), '.'));
    } else {
      const [path, query = ''] = str(a.target).split('?');
      const params = [...new URLSearchParams(query)];
      append(wrap, [h('div', { class: 'notice', id: 'no-body' }, h('strong', null, `A ${str(a.method)} call without a body.`), ' Its arguments are in the target: ', h('code', { class: 'break' }, path)),
        params.length ? kvTable(params) : null]);
    }
    privileged(a, wrap);
    return wrap;
  }
  if (!isObj(p)) {
    wrap.append(h('p', { class: 'notice' }, 'The payload is not a JSON object:'), jsonBlock(p));
    return wrap;
  }
  privileged(a, wrap);
  if (isApp(a) && a.route !== 'app.message_send' && a.route !== 'app.message.send' && a.route !== 'app.appchat_send' && a.route !== 'app.appchat.send' && !p.msgtype) {
    wrap.append(h('p', { class: 'muted' }, 'An app API call; its JSON body:'), jsonBlock(p));
    return wrap;
  }
  if (isApp(a)) wrap.append(recipients(p));
  if (kindOf(a) === 'bot') {
    const q = new URLSearchParams(str(a.target).split('?')[1] ?? '');
    const chat = str(p.chatid) || q.get('chatid') || '';
    const type = q.get('chattype');
    wrap.append(h('p', { class: 'muted', id: 'bot-chat' }, `${q.get('req_id') ? 'A reply' : 'A message'} to `, h('strong', null, chat || 'an unknown chat'), type ? ` (${type === 'group' ? 'a group chat' : 'a single chat'})` : ''));
  }
  const t = str(p.msgtype);
  const o = p[t];
  const bubble = h('div', { class: 'bubble' });
  const chat = h('div', { class: 'chat' },
    h('div', { class: 'avatar', 'aria-hidden': 'true' }, (targetName(a) || '?').slice(0, 2).toUpperCase()),
    h('div', { class: 'chat-body' }, h('div', { class: 'chat-name' }, targetName(a), h('span', { class: 'kind' }, kindOf(a))), bubble));
  let known = null;
  if (!isObj(o) && t !== 'template_card') {
    bubble.append(h('p', { class: 'notice' }, t ? `No "${t}" object in the message.` : 'No msgtype.'), jsonBlock(p));
  } else {
    try {
      known = renderers[t] ? renderers[t](o, bubble, a) : null;
      if (!renderers[t]) bubble.append(h('p', { class: 'muted' }, `msgtype "${t}" has no preview here; its JSON:`), jsonBlock(o));
    } catch (err) {
      put(bubble, h('p', { class: 'notice' }, `This ${t} message could not be drawn (${err instanceof Error ? err.message : String(err)}); its JSON:`), jsonBlock(o));
    }
  }
  if (t === 'template_card' || t === 'news' || t === 'mpnews' || t === 'textcard' || t === 'miniprogram_notice') bubble.classList.add('bubble-card');
  wrap.append(chat);
  // Fields the preview did not draw: a reviewer must not miss data the agent smuggled in.
  const topKnown = new Set(['msgtype', t, ...(kindOf(a) === 'bot' ? ['chatid'] : []), ...(isApp(a) ? ['touser', 'toparty', 'totag', 'agentid', 'safe', 'enable_id_trans', 'enable_duplicate_check', 'duplicate_check_interval', 'chatid'] : [])]);
  const extraTop = Object.keys(p).filter((k) => !topKnown.has(k));
  const extraInner = known && isObj(o) ? Object.keys(o).filter((k) => !known.includes(k)) : [];
  if (extraTop.length || extraInner.length) {
    wrap.append(h('div', { class: 'notice notice-warn', id: 'undrawn' }, 'Not drawn above (see raw JSON): ',
      [...extraTop.map((k) => k), ...extraInner.map((k) => `${t}.${k}`)].map((k, i) => frag(i ? ', ' : '', h('code', null, k)))));
  }
  return wrap;
}

const PRIVILEGED = {
  '/cgi-bin/user/delete': 'deletes a member of the company',
  '/cgi-bin/user/batchdelete': 'deletes several members of the company',
  '/cgi-bin/department/delete': 'deletes a department',
  '/cgi-bin/user/update': 'changes a member’s profile',
  '/cgi-bin/tag/addtagusers': 'adds members to a tag (tags can grant permissions)',
  '/cgi-bin/tag/deltagusers': 'removes members from a tag',
  '/cgi-bin/agent/set': 'changes the app’s settings',
};

function privileged(a, wrap) {
  const path = str(a.target).split('?')[0];
  if (PRIVILEGED[path]) wrap.append(h('div', { class: 'alarm', id: 'privileged' }, h('strong', null, 'Privileged call: '), `${path} ${PRIVILEGED[path]}.`));
}

function kvTable(pairs) {
  return h('table', { class: 'kv' }, h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, h('code', { class: 'break' }, v))))));
}

function jsonBlock(v) {
  const pre = h('pre', { class: 'raw' });
  pre.textContent = JSON.stringify(v, null, 2);
  return pre;
}

function allFlag(label = '@all') {
  return h('span', { class: 'mention mention-all', title: 'notifies everyone' }, label, h('span', { class: 'flag flag-danger' }, 'everyone'));
}

function mention(id) {
  if (id === '@all' || id === 'all') return allFlag('@all');
  return h('span', { class: 'mention' }, `@${id}`);
}

function recipients(p) {
  const box = h('div', { class: 'recipients', id: 'recipients' }, h('h3', null, 'Recipients'));
  const rows = [];
  const users = str(p.touser).split('|').filter(Boolean);
  if (users.includes('@all')) {
    box.append(h('div', { class: 'alarm', id: 'to-all' }, h('strong', null, 'touser is @all: '), 'this goes to EVERY member in the app’s visible range', users.length > 1 || p.toparty || p.totag ? ' (toparty and totag are then ignored).' : '.'));
  }
  if (p.touser !== undefined) rows.push(['users (touser)', users.length ? h('span', { class: 'chips' }, users.map((u) => (u === '@all' ? allFlag('@all') : h('span', { class: 'chip' }, u))), h('span', { class: 'muted small' }, ` ${users.length} listed`)) : '—']);
  const parties = str(p.toparty).split('|').filter(Boolean);
  if (p.toparty !== undefined) rows.push(['departments (toparty)', parties.length ? h('span', { class: 'chips' }, parties.map((x) => h('span', { class: 'chip chip-wide' }, `dept ${x}`)), h('span', { class: 'flag flag-warn' }, 'whole departments')) : '—']);
  const tags = str(p.totag).split('|').filter(Boolean);
  if (p.totag !== undefined) rows.push(['tags (totag)', tags.length ? h('span', { class: 'chips' }, tags.map((x) => h('span', { class: 'chip chip-wide' }, `tag ${x}`)), h('span', { class: 'flag flag-warn' }, 'everyone tagged')) : '—']);
  if (p.chatid !== undefined) rows.push(['group chat (chatid)', h('code', null, str(p.chatid))]);
  if (p.agentid !== undefined) rows.push(['agentid', h('code', null, str(p.agentid))]);
  if (p.safe !== undefined) rows.push(['safe', `${str(p.safe)}${Number(p.safe) === 1 ? ' (confidential: no forwarding, watermarked)' : Number(p.safe) === 2 ? ' (share within the company only)' : ''}`]);
  if (p.enable_duplicate_check !== undefined) rows.push(['duplicate check', `${str(p.enable_duplicate_check)}${p.duplicate_check_interval !== undefined ? `, interval ${str(p.duplicate_check_interval)} s` : ''}`]);
  box.append(dl(rows));
  return box;
}

// Each renderer draws into `el` and returns the field names of the msgtype object it drew.
const renderers = {
  text(o, el) {
    el.append(h('div', { class: 'text-content' }, inlineText(str(o.content))));
    const list = [...arr(o.mentioned_list).map((m) => ['id', m]), ...arr(o.mentioned_mobile_list).map((m) => ['mobile', m])];
    if (list.length) {
      el.append(h('div', { class: 'mentions', id: 'mentions' }, h('span', { class: 'muted small' }, 'Mentions: '),
        list.map(([kind, m]) => (m === '@all' ? allFlag('@all') : h('span', { class: 'mention', title: kind === 'mobile' ? 'by mobile number' : 'by userid' }, `@${str(m)}`)))));
    }
    if (list.some(([, m]) => m === '@all')) el.prepend(h('div', { class: 'alarm', id: 'mentions-all' }, h('strong', null, '@all: '), 'this message notifies everyone in the group.'));
    return ['content', 'mentioned_list', 'mentioned_mobile_list'];
  },
  markdown(o, el) {
    el.append(renderMarkdown(str(o.content), false));
    if (/<@all>/i.test(str(o.content))) el.prepend(h('div', { class: 'alarm', id: 'mentions-all' }, h('strong', null, '<@all>: '), 'this message mentions everyone.'));
    el.append(h('div', { class: 'muted small meta-line' }, `markdown · ${utf8Bytes(str(o.content))} bytes`));
    return ['content'];
  },
  // A bot's stream reply (the bot WebSocket): its content so far is markdown; what is approved is its final state.
  stream(o, el) {
    el.append(renderMarkdown(str(o.content), false));
    if (/@all|<@all>|@所有人/i.test(str(o.content))) el.prepend(h('div', { class: 'alarm', id: 'mentions-all' }, h('strong', null, '@all: '), 'this reply mentions everyone in the chat.'));
    const images = arr(o.msg_item).filter((m) => isObj(m) && isObj(m.image));
    for (const m of images) renderers.image(m.image, el);
    el.append(h('div', { class: 'muted small meta-line' }, `stream reply · ${utf8Bytes(str(o.content))} bytes${images.length ? ` · ${images.length} image(s)` : ''}${o.finish === true ? ' · finished' : ' · not finished yet: it is sent as finished'}`));
    return ['id', 'content', 'finish', 'msg_item', 'feedback'];
  },
  markdown_v2(o, el) {
    el.append(renderMarkdown(str(o.content), true));
    el.append(h('div', { class: 'muted small meta-line' }, `markdown_v2 · ${utf8Bytes(str(o.content))} bytes (shown as plain text on WeCom clients older than 4.1.36)`));
    return ['content'];
  },
  image(o, el) {
    const b64 = str(o.base64).replace(/\s+/g, '');
    const mime = b64.startsWith('iVBORw0KGgo') ? 'image/png' : b64.startsWith('/9j/') ? 'image/jpeg' : null;
    const valid = /^[A-Za-z0-9+/]*={0,2}$/.test(b64);
    if (mime && valid) {
      el.append(h('img', { class: 'payload-img', alt: 'the image the agent sent', src: `data:${mime};base64,${b64}` }));
    } else el.append(h('div', { class: 'notice' }, 'Not a PNG or JPEG in base64: not drawn.'));
    el.append(h('div', { class: 'muted small meta-line' }, `${mime ?? 'unknown type'} · ${fmtBytes(Math.floor((b64.length * 3) / 4))} · md5 `, h('code', null, str(o.md5))));
    return ['base64', 'md5'];
  },
  news(o, el) {
    articles(arr(o.articles), el, false);
    return ['articles'];
  },
  mpnews(o, el) {
    articles(arr(o.articles), el, true);
    return ['articles'];
  },
  file(o, el) {
    return media('file', o, el);
  },
  voice(o, el) {
    return media('voice', o, el);
  },
  video(o, el) {
    return media('video', o, el);
  },
  textcard(o, el) {
    el.append(h('div', { class: 'tc' },
      h('div', { class: 'tc-title' }, str(o.title)),
      h('div', { class: 'tc-desc' }, textcardDescription(str(o.description))),
      h('div', { class: 'tc-foot' }, h('span', null, str(o.btntxt) || '详情'), ' ', extLink(o.url))));
    return ['title', 'description', 'url', 'btntxt'];
  },
  miniprogram_notice(o, el) {
    el.append(h('div', { class: 'tc' },
      h('div', { class: 'tc-title' }, str(o.title)),
      o.description ? h('div', { class: 'muted' }, str(o.description)) : null,
      o.emphasis_first_item ? h('div', { class: 'small muted' }, 'first item emphasised') : null,
      dl(arr(o.content_item).map((it) => [str(it?.key), str(it?.value)])),
      h('div', { class: 'tc-foot small' }, 'mini program ', h('code', null, str(o.appid)), o.page ? frag(' page ', h('code', null, str(o.page))) : null)));
    return ['appid', 'page', 'title', 'description', 'emphasis_first_item', 'content_item'];
  },
  template_card(o, el) {
    return templateCard(isObj(o) ? o : {}, el);
  },
};

function media(kind, o, el) {
  el.append(h('div', { class: 'file-msg' },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, kind === 'voice' ? '♪' : kind === 'video' ? '▶' : '▤'),
    h('div', null, h('div', null, h('strong', null, `A ${kind}`), ' uploaded earlier'), h('div', { class: 'small' }, 'media_id ', h('code', { class: 'break' }, str(o.media_id))),
      o.title ? h('div', { class: 'small' }, 'title: ', str(o.title)) : null, o.description ? h('div', { class: 'small' }, 'description: ', str(o.description)) : null)));
  return ['media_id', 'title', 'description'];
}

/** textcard descriptions carry WeCom's own <div class="gray|normal|highlight"> tags: drawn as lines, the tags shown as text otherwise. */
function textcardDescription(s) {
  const out = frag();
  const re = /<div\s+class\s*=\s*"(gray|normal|highlight)"\s*>([^<]*)<\/div>|<br\s*\/?>/gi;
  let last = 0;
  for (const m of s.matchAll(re)) {
    if (m.index > last) out.append(s.slice(last, m.index));
    if (m[1]) out.append(h('div', { class: `tc-${m[1].toLowerCase()}` }, m[2]));
    else out.append(h('br'));
    last = m.index + m[0].length;
  }
  out.append(s.slice(last));
  return out;
}

function articles(list, el, mp) {
  if (!list.length) el.append(h('p', { class: 'notice' }, 'No articles.'));
  list.forEach((art, i) => {
    const x = isObj(art) ? art : {};
    el.append(h('article', { class: `news-item${i === 0 ? ' news-first' : ''}` },
      h('div', { class: 'news-title' }, str(x.title) || '(no title)'),
      x.description || x.digest ? h('div', { class: 'news-desc' }, str(x.description ?? x.digest)) : null,
      h('div', { class: 'news-links small' },
        x.url !== undefined ? h('div', null, 'opens: ', extLink(x.url)) : null,
        x.content_source_url !== undefined ? h('div', null, 'source: ', extLink(x.content_source_url)) : null,
        x.picurl ? h('div', null, remoteImage(x.picurl)) : null,
        x.thumb_media_id ? h('div', null, 'thumbnail media_id ', h('code', null, str(x.thumb_media_id))) : null,
        x.author ? h('div', null, 'author: ', str(x.author)) : null,
        x.appid ? h('div', null, 'mini program ', h('code', null, str(x.appid)), x.pagepath ? frag(' ', h('code', null, str(x.pagepath))) : null) : null),
      mp && x.content !== undefined ? h('details', { class: 'mp-content' }, h('summary', null, 'Article body (HTML, shown as source text)'), h('pre', { class: 'raw small' }, str(x.content))) : null));
  });
}

// ---------------------------------------------------------------------------------------------
// template_card
// ---------------------------------------------------------------------------------------------

const DESC_COLOR = ['grey', 'black', 'red', 'green'];

function action(type, o) {
  if (!isObj(o)) return null;
  const t = Number(o.type ?? type);
  if (t === 1 || (o.url && !o.appid)) return h('span', { class: 'tc-action' }, 'opens ', extLink(o.url));
  if (t === 2 || o.appid) return h('span', { class: 'tc-action' }, 'mini program ', h('code', null, str(o.appid)), o.pagepath ? frag(' page ', h('code', null, str(o.pagepath))) : null);
  if (o.key !== undefined) return h('span', { class: 'tc-action' }, 'callback key ', h('code', null, str(o.key)));
  return null;
}

function templateCard(o, el) {
  const card = h('div', { class: `tcard tcard-${str(o.card_type).replace(/[^a-z_]/g, '') || 'unknown'}`, id: 'template-card' });
  card.append(h('div', { class: 'tcard-type small muted' }, 'template_card · ', h('code', null, str(o.card_type) || '(no card_type)')));
  if (isObj(o.source)) {
    const s = o.source;
    card.append(h('div', { class: 'tcard-source' },
      s.icon_url ? h('span', { class: 'tcard-icon', title: `icon (not loaded): ${str(s.icon_url)}` }, '◍') : null,
      h('span', { class: `tcard-source-desc dc-${DESC_COLOR[Number(s.desc_color)] ?? 'grey'}` }, str(s.desc)),
      s.icon_url ? h('span', { class: 'small muted' }, ' icon: ', h('code', { class: 'break' }, str(s.icon_url))) : null));
  }
  if (isObj(o.main_title)) {
    append(card, [h('div', { class: 'tcard-title' }, str(o.main_title.title)), o.main_title.desc ? h('div', { class: 'tcard-desc' }, str(o.main_title.desc)) : null]);
  }
  if (isObj(o.card_image)) {
    card.append(h('div', { class: 'tcard-image' }, remoteImage(o.card_image.url, 'card image'), o.card_image.aspect_ratio !== undefined ? h('span', { class: 'small muted' }, ` aspect ratio ${str(o.card_image.aspect_ratio)}`) : null));
  }
  if (isObj(o.image_text_area)) {
    const x = o.image_text_area;
    card.append(h('div', { class: 'tcard-ita' },
      h('div', { class: 'tcard-ita-img' }, remoteImage(x.image_url, 'image')),
      h('div', null, x.title ? h('div', { class: 'strong' }, str(x.title)) : null, x.desc ? h('div', { class: 'muted' }, str(x.desc)) : null, action(x.type, x))));
  }
  if (isObj(o.emphasis_content)) {
    card.append(h('div', { class: 'tcard-emph' }, h('div', { class: 'tcard-emph-title' }, str(o.emphasis_content.title)), o.emphasis_content.desc ? h('div', { class: 'muted' }, str(o.emphasis_content.desc)) : null));
  }
  if (isObj(o.quote_area)) {
    const q = o.quote_area;
    card.append(h('div', { class: 'tcard-quote' }, q.title ? h('div', { class: 'strong' }, str(q.title)) : null, q.quote_text ? h('div', { class: 'pre-wrap' }, str(q.quote_text)) : null, action(q.type, q)));
  }
  if (o.sub_title_text !== undefined) card.append(h('div', { class: 'tcard-sub pre-wrap' }, str(o.sub_title_text)));
  if (Array.isArray(o.horizontal_content_list) && o.horizontal_content_list.length) {
    card.append(h('dl', { class: 'tcard-hlist' }, o.horizontal_content_list.map((it) => {
      const x = isObj(it) ? it : {};
      const t = Number(x.type ?? 0);
      const value = t === 1 ? extLink(x.url, x.value) : t === 2 ? frag(str(x.value), ' ', h('span', { class: 'small muted' }, 'file media_id ', h('code', null, str(x.media_id)))) : t === 3 ? mention(str(x.userid)) : str(x.value);
      return frag(h('dt', null, str(x.keyname)), h('dd', null, value));
    })));
  }
  if (Array.isArray(o.vertical_content_list) && o.vertical_content_list.length) {
    card.append(h('div', { class: 'tcard-vlist' }, o.vertical_content_list.map((it) => h('div', null, h('div', { class: 'strong' }, str(it?.title)), it?.desc ? h('div', { class: 'muted' }, str(it.desc)) : null))));
  }
  if (Array.isArray(o.jump_list) && o.jump_list.length) {
    card.append(h('div', { class: 'tcard-jumps' }, o.jump_list.map((j) => h('div', { class: 'tcard-jump' }, h('span', { class: 'tcard-jump-title' }, str(j?.title)), ' ', action(j?.type, j)))));
  }
  if (isObj(o.checkbox)) {
    card.append(h('div', { class: 'tcard-options' }, h('div', { class: 'small muted' }, `${Number(o.checkbox.mode) === 1 ? 'multiple choice' : 'single choice'} (question_key ${str(o.checkbox.question_key)})`),
      arr(o.checkbox.option_list).map((x) => h('div', null, x?.is_checked ? '☑ ' : '☐ ', str(x?.text)))));
  }
  if (Array.isArray(o.select_list)) {
    for (const s of o.select_list) card.append(h('div', { class: 'tcard-options' }, h('div', { class: 'strong' }, str(s?.title)), arr(s?.option_list).map((x) => h('div', null, '▾ ', str(x?.text)))));
  }
  if (Array.isArray(o.button_list) && o.button_list.length) {
    card.append(h('div', { class: 'tcard-buttons' }, o.button_list.map((b) => h('span', { class: 'fake-btn', title: `button key ${str(b?.key)}` }, str(b?.text), b?.url ? frag(' ', extLink(b.url)) : null))));
  }
  if (isObj(o.submit_button)) card.append(h('div', { class: 'tcard-buttons' }, h('span', { class: 'fake-btn', title: `key ${str(o.submit_button.key)}` }, str(o.submit_button.text))));
  if (isObj(o.card_action)) {
    card.append(h('div', { class: 'tcard-action small' }, 'Clicking the card: ', action(o.card_action.type, o.card_action) ?? h('span', { class: 'flag flag-warn' }, `type ${str(o.card_action.type)}`)));
  }
  if (o.task_id !== undefined) card.append(h('div', { class: 'small muted' }, 'task_id ', h('code', null, str(o.task_id))));
  el.append(card);
  return ['card_type', 'source', 'main_title', 'emphasis_content', 'quote_area', 'sub_title_text', 'horizontal_content_list', 'jump_list', 'card_action', 'card_image', 'image_text_area', 'vertical_content_list', 'task_id', 'checkbox', 'select_list', 'button_list', 'submit_button', 'button_selection', 'action_menu'];
}

// ---------------------------------------------------------------------------------------------
// WeCom markdown (v1 subset) and markdown_v2, drawn as DOM: nothing in the content becomes HTML.
// ---------------------------------------------------------------------------------------------

function inlineRe(v2) {
  const alternatives = [
    '`(?<code>[^`\\n]+)`',
    v2 ? '!\\[(?<imgalt>[^\\]\\n]*)\\]\\((?<imgurl>(?:[^()\\s]|\\([^()\\s]*\\))*)\\)' : null,
    '\\[(?<ltext>[^\\]\\n]*)\\]\\((?<lurl>(?:[^()\\s]|\\([^()\\s]*\\))*)\\)',
    '\\*\\*(?<bold>[^*\\n](?:[^\\n]*?[^*\\n])?)\\*\\*',
    v2 ? '\\*(?<em>[^*\\n]+)\\*' : null,
    v2 ? null : '<font\\s+color\\s*=\\s*"(?<fcolor>[^"\\n]*)"\\s*>(?<ftext>[^\\n]*?)</font>',
    '<@(?<mention>[^>\\s]+)>',
  ];
  return new RegExp(alternatives.filter(Boolean).join('|'), 'gi');
}
const INLINE_V1 = inlineRe(false);
const INLINE_V2 = inlineRe(true);

function inline(text, v2, depth = 0) {
  const out = frag();
  if (depth > MAX_DEPTH) {
    out.append(text);
    return out;
  }
  const re = new RegExp(v2 ? INLINE_V2 : INLINE_V1);
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.append(text.slice(last, m.index));
    const g = m.groups;
    if (g.code !== undefined) out.append(h('code', { class: 'md-code' }, g.code));
    else if (g.imgurl !== undefined) out.append(remoteImage(g.imgurl, g.imgalt ? `image “${g.imgalt}”` : 'image'));
    else if (g.lurl !== undefined) out.append(extLink(g.lurl, g.ltext));
    else if (g.bold !== undefined) out.append(h('strong', null, inline(g.bold, v2, depth + 1)));
    else if (g.em !== undefined) out.append(h('em', null, inline(g.em, v2, depth + 1)));
    else if (g.fcolor !== undefined) {
      const c = g.fcolor.toLowerCase();
      out.append(h('span', { class: ['info', 'comment', 'warning'].includes(c) ? `font-${c}` : 'font-unknown', title: `font color "${g.fcolor}"` }, inline(g.ftext, v2, depth + 1)));
    } else if (g.mention !== undefined) out.append(mention(g.mention));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.append(text.slice(last));
  return out;
}

/** Plain text messages: shown as written, with <@userid> mentions marked. */
function inlineText(s) {
  const out = frag();
  let last = 0;
  for (const m of s.matchAll(/<@([^>\s]+)>/g)) {
    if (m.index > last) out.append(s.slice(last, m.index));
    out.append(mention(m[1]));
    last = m.index + m[0].length;
  }
  out.append(s.slice(last));
  return out;
}

const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;

function cells(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|')) s = s.slice(0, -1);
  return s.split('|').map((c) => c.trim());
}

function renderMarkdown(content, v2) {
  const root = h('div', { class: `md ${v2 ? 'md-v2' : 'md-v1'}` });
  const lines = content.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (v2 && /^\s*```/.test(line)) {
      const lang = line.trim().slice(3).trim();
      const body = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) body.push(lines[i++]);
      i++;
      root.append(h('pre', { class: 'md-pre' }, lang ? h('span', { class: 'md-lang' }, lang) : null, h('code', null, body.join('\n'))));
      continue;
    }
    if ((m = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      root.append(h('div', { class: `md-h md-h${m[1].length}`, role: 'heading', 'aria-level': String(Math.min(6, m[1].length + 2)) }, inline(m[2], v2)));
      i++;
      continue;
    }
    if (/^\s{0,3}>/.test(line)) {
      const q = h('blockquote', { class: 'md-quote' });
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) {
        q.append(h('div', null, inline(lines[i].replace(/^\s{0,3}>\s?/, ''), v2)));
        i++;
      }
      root.append(q);
      continue;
    }
    if (v2 && /^\s{0,3}(?:-\s*){3,}$|^\s{0,3}(?:\*\s*){3,}$|^\s{0,3}(?:_\s*){3,}$/.test(line)) {
      root.append(h('hr', { class: 'md-hr' }));
      i++;
      continue;
    }
    if (v2 && line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
      const align = cells(lines[i + 1]).map((c) => (c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : 'left'));
      const table = h('table', { class: 'md-table' });
      table.append(h('thead', null, h('tr', null, cells(line).map((c, k) => h('th', { class: `al-${align[k] ?? 'left'}` }, inline(c, v2))))));
      const tb = h('tbody');
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim()) {
        tb.append(h('tr', null, cells(lines[i]).map((c, k) => h('td', { class: `al-${align[k] ?? 'left'}` }, inline(c, v2)))));
        i++;
      }
      table.append(tb);
      root.append(h('div', { class: 'md-table-wrap' }, table));
      continue;
    }
    if (v2 && LIST_ITEM.test(line)) {
      const stack = [];
      while (i < lines.length && (m = LIST_ITEM.exec(lines[i]))) {
        const indent = m[1].replace(/\t/g, '    ').length;
        const ordered = /\d/.test(m[2]);
        while (stack.length && (stack[stack.length - 1].indent > indent || (stack[stack.length - 1].indent === indent && stack[stack.length - 1].ordered !== ordered))) stack.pop();
        let top = stack[stack.length - 1];
        if (!top || indent > top.indent) {
          const list = h(ordered ? 'ol' : 'ul', { class: 'md-list' });
          if (ordered) list.setAttribute('start', String(Number.parseInt(m[2], 10) || 1));
          if (top && top.list.lastElementChild && stack.length < 6) top.list.lastElementChild.append(list);
          else root.append(list);
          top = { indent, ordered, list };
          stack.push(top);
        }
        top.list.append(h('li', null, inline(m[3], v2)));
        i++;
      }
      continue;
    }
    if (!line.trim()) root.append(h('div', { class: 'md-blank' }));
    else root.append(h('div', { class: 'md-line' }, inline(line, v2)));
    i++;
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------------

async function boot() {
  const linkToken = readLinkToken();
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved) {
    try {
      const me = await api('GET', '/me', saved);
      state.session = { token: saved, sub: str(me.sub) };
    } catch (err) {
      // Refused: forget it. Unreachable or failing: keep it for a reload, but do not act on it unchecked.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) sessionStorage.removeItem(SESSION_KEY);
      else console.warn('could not check the saved token', err);
    }
  }
  if (linkToken) {
    try {
      const me = await api('GET', '/me', linkToken);
      if (me.via === 'link' && me.approval_id) {
        state.link = { token: linkToken, sub: str(me.sub), approvalId: str(me.approval_id), expiresAt: typeof me.expires_at === 'string' ? me.expires_at : null, used: false };
        const path = `/console/approvals/${encodeURIComponent(state.link.approvalId)}`;
        if (location.pathname !== BASE + path) history.replaceState(null, '', BASE + path);
      } else throw new ApiError(400, { errcode: null, errmsg: 'the link does not carry a one-time approval token' });
    } catch (err) {
      renderIdentity();
      setView('detail', h('div', { class: 'page-head' }, h('h1', null, 'This link cannot be used')), errorBox(err, 'Link refused'),
        h('p', { class: 'muted' }, 'Links from WeCom notifications are short-lived. Sign in with your own token to review the approval.'),
        signInForm(null));
      return;
    }
  }
  document.getElementById('boot')?.remove();
  route();
  clearInterval(state.clockTimer);
  state.clockTimer = setInterval(() => {
    for (const el of document.querySelectorAll('#identity time.reltime, #approvals-table time.reltime')) paintTime(el);
  }, 20_000);
}

// A notification link opened in a tab that already shows the console changes only the fragment.
window.addEventListener('hashchange', () => {
  if (/(^#|&)t=/.test(location.hash)) {
    state.link = null;
    void boot();
  }
});

void boot();
