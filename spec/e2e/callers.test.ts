import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { answerOf, startStack, tempDir, text, until, type Answer, type Stack, readAuditLines } from '../helpers.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { serve, type RunningServer } from '../../lib/http/server.js';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';

// Named callers against the real server and the WeCom simulator. The specs' requests all come from
// loopback, so 127.0.0.1 is made a trusted proxy and X-Forwarded-For says which address "calls".

const PROD = 'openclaw-prod-token-0123456789abcdef';
const CRON_MARKDOWN = `rules:
  - name: no-cron-markdown
    description: the cron caller posts plain text only
    match: { callers: [cron], msgtypes: [markdown] }
    action: reject
    reason: cron posts plain text only
`;

type Init = { from?: string; token?: string; headers?: Record<string, string>; body?: string };

interface AuditLine { decision: string; request_id: string; who: string; errcode?: number; what: { route?: string; robot?: string }; why?: { rule?: string; reason?: string } }

const readAudit = (dataDir: string) => readAuditLines<AuditLine>(dataDir);

/**
 * The audit records, once those of `answers` are written: the audit log is written in batches just
 * after each answer, so a record is waited for, not assumed.
 */
async function auditOf(dataDir: string, answers: Answer[]): Promise<AuditLine[]> {
  const ids = answers.map((a) => a.headers.get('x-request-id'));
  assert.ok(ids.every(Boolean), 'every answer carries its request id');
  return until(`the audit records of ${ids.length} answer(s)`, () => {
    const records = readAudit(dataDir);
    const written = new Set(records.map((r) => r.request_id));
    return ids.every((id) => written.has(id!)) && records;
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('named callers end to end', () => {
  let stack: Stack;
  const answers: Answer[] = [];
  let n = 0;
  /** POST a distinct message (dedupe would answer a repeat from memory). */
  const post = async (path: string, body: unknown, init: Init = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
    if (init.from) headers['x-forwarded-for'] = init.from;
    if (init.token) headers['x-firewall-token'] = init.token;
    const a = await answerOf(await fetch(`${stack.server.url}${path}`, { method: 'POST', headers, body: init.body ?? JSON.stringify(body) }));
    answers.push(a);
    return a;
  };
  const send = (init: Init = {}, body: unknown = text(`deploy finished #${n++}`)) => post('/cgi-bin/webhook/send?key=ops', body, init);

  before(async () => {
    const policies = tempDir();
    writeFileSync(join(policies, '05-callers.yaml'), CRON_MARKDOWN);
    stack = await startStack(
      {
        trustedProxies: ['127.0.0.1/32'],
        callers: {
          'openclaw-prod': { from: ['10.0.0.0/24', '::1/128'], token: '${env:PROD_TOKEN}' },
          cron: { from: ['10.1.0.0/24'] },
          alice: { from: ['10.2.0.0/24'] }, // an agent that shares its name with an approver
        },
        policies: [policies, shippedPoliciesDir()],
        limits: { maxBodyBytes: '2kb' },
      },
      {},
      { env: { PROD_TOKEN: PROD } },
    );
  });
  after(() => stack.close());

  it('names a caller by its address and forwards as that caller', async () => {
    const a = await send({ from: '10.1.0.7' });
    assert.deepEqual([a.status, a.json.errcode], [200, 0]);
    assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
  });

  it('names a caller by its token, as a header or as a /t/<token>/ prefix that never reaches WeCom', async () => {
    const header = await send({ from: '10.0.0.5', token: PROD });
    assert.deepEqual([header.status, header.json.errcode], [200, 0]);
    const prefixed = await post(`/t/${PROD}/cgi-bin/webhook/send?key=ops`, text(`via prefix #${n++}`), { from: '10.0.0.5' });
    assert.deepEqual([prefixed.status, prefixed.json.errcode], [200, 0]);
    const last = stack.sim.received().at(-1)!;
    assert.equal(last.path, '/cgi-bin/webhook/send');
    assert.ok(!JSON.stringify(last).includes(PROD));
  });

  it('serves the app API under a /t/<token>/ base URL (what a base-URL-only plugin is given)', async () => {
    const base = `${stack.server.url}/t/${PROD}`;
    const headers = { 'x-forwarded-for': '10.0.0.5' };
    const token = await answerOf(await fetch(`${base}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`, { headers }));
    assert.deepEqual([token.status, token.json.errcode], [200, 0]);
    const sent = await answerOf(
      await fetch(`${base}/cgi-bin/message/send?access_token=${token.json.access_token as string}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ touser: 'zhangsan', msgtype: 'text', agentid: stack.app.agentId, text: { content: 'ticket resolved' } }),
      }),
    );
    answers.push(token, sent);
    assert.deepEqual([sent.status, sent.json.errcode], [200, 0], sent.text);
  });

  it('refuses every request that is no caller with 403 / 9900021, before routing or reading the body', async () => {
    const before = stack.sim.received().length;
    const cases: Array<[string, () => Promise<Answer>]> = [
      ['an address in no from', () => send({ from: '203.0.113.9' })],
      ['the trusted proxy itself', () => send()],
      ['a wrong token', () => send({ from: '10.0.0.5', token: 'wrong-token-0123456789abcdef' })],
      ['a wrong token in the prefix', () => post('/t/wrong-token-0123456789abcdef/cgi-bin/webhook/send?key=ops', text('x'), { from: '10.0.0.5' })],
      ['the right token from outside its from', () => send({ from: '10.9.0.5', token: PROD })],
      ['a token caller without its token', () => send({ from: '10.0.0.5' })],
      ['an unknown path (routing does not answer first)', () => post('/cgi-bin/nope', {}, { from: '203.0.113.9' })],
      ['a wrong method', () => post('/cgi-bin/gettoken', {}, { from: '203.0.113.9' })],
      ['a body over the limit (not read: 403, not 413)', () => send({ from: '203.0.113.9' }, { msgtype: 'text', text: { content: 'x'.repeat(5000) } })],
      ['a chain that cannot be followed', () => send({ from: '10.1.0.7, not-an-address' })],
    ];
    for (const [what, request] of cases) {
      const a = await request();
      assert.deepEqual([a.status, a.json.errcode], [403, 9900021], what);
      assert.ok(a.json.request_id, what);
    }
    assert.equal(stack.sim.received().length, before);
  });

  it('refuses a caller token in the query string with 403 / 9900022', async () => {
    for (const q of [`token=${PROD}`, `x_firewall_token=${PROD}`, `X-Firewall-Token=${PROD}`]) {
      const a = await post(`/cgi-bin/webhook/send?key=ops&${q}`, text('x'), { from: '10.0.0.5' });
      assert.deepEqual([a.status, a.json.errcode], [403, 9900022], q);
    }
  });

  it('matches policies on the caller name', async () => {
    const md = (content: string) => ({ msgtype: 'markdown', markdown: { content } });
    const cron = await send({ from: '10.1.0.7' }, md(`**cron** #${n++}`));
    assert.deepEqual([cron.status, cron.json.errcode], [403, 9900001]);
    const prod = await send({ from: '10.0.0.5', token: PROD }, md(`**prod** #${n++}`));
    assert.deepEqual([prod.status, prod.json.errcode], [200, 0]);
  });

  it('records the caller name on an approval, so a same-named approver cannot approve its own request', async () => {
    const parked = await send({ from: '10.2.0.5' }, text(`all hands #${n++}`, { mentioned_list: ['@all'] }));
    assert.deepEqual([parked.status, parked.json.errcode], [202, 0]);
    const id = parked.json.approval_id as string;
    const record = await stack.admin('GET', `/approvals/${id}`, await stack.token('bob'));
    assert.equal((record.json.approval as { caller: string }).caller, 'alice');
    const own = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
    assert.deepEqual([own.status, own.json.errcode], [403, 9900011]);
    const other = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('bob'));
    assert.equal((other.json.approval as { status: string }).status, 'sent', other.text);
  });

  it('flags a real webhook key sent as the alias (or a real corpsecret) as a leak, without writing it anywhere', async () => {
    const a = await answerOf(await fetch(`${stack.server.url}/cgi-bin/webhook/send?key=${stack.keys.team!}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.1.0.7' }, body: JSON.stringify(text('hi')) }));
    answers.push(a);
    assert.deepEqual([a.status, a.json.errcode], [404, 93000]);
    const leak = (await auditOf(stack.dataDir, [a])).find((r) => r.why?.rule === 'leaked-key');
    assert.ok(leak, 'a leaked-key audit record');
    assert.equal(leak.who, 'cron');
    assert.match(leak.why!.reason!, /robot team/);
    assert.match(leak.what.robot!, /^unknown:/);
    // an unknown alias that is no key is not a leak
    const typo = await answerOf(await fetch(`${stack.server.url}/cgi-bin/webhook/send?key=opps`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.1.0.7' }, body: '{}' }));
    assert.equal(typo.status, 404);
    assert.equal((await auditOf(stack.dataDir, [typo])).filter((r) => r.why?.rule === 'leaked-key').length, 1);
    // the same for an app's real corpsecret at gettoken
    const corp = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.corpSecret}`, { headers: { 'x-forwarded-for': '10.1.0.7' } }));
    answers.push(corp);
    assert.deepEqual([corp.status, corp.json.errcode], [401, 40001]);
    const leaks = (await auditOf(stack.dataDir, [corp])).filter((r) => r.why?.rule === 'leaked-key');
    assert.equal(leaks.length, 2);
    assert.match(leaks[1]!.why!.reason!, /app helpdesk/);
  });

  it('audits every decision under the caller name, and refusals under the unknown address', async () => {
    const records = await auditOf(stack.dataDir, answers);
    const who = new Set(records.map((r) => r.who));
    for (const name of ['cron', 'openclaw-prod', 'alice']) assert.ok(who.has(name), name);
    const refused = records.filter((r) => r.errcode === 9900021);
    assert.ok(refused.length >= 10);
    assert.ok(refused.some((r) => r.who === 'unknown:203.0.113.9'));
    assert.ok(refused.every((r) => r.who.startsWith('unknown:') && r.what.route === undefined));
  });

  it('leaves the admin listener and the probes to their own rules', async () => {
    const me = await stack.admin('GET', '/me', await stack.token('bob'));
    assert.deepEqual([me.status, me.json.sub], [200, 'bob']);
    assert.equal((await fetch(`${stack.server.url}/healthz`)).status, 200);
  });

  // Last in this suite: it stops the firewall.
  it('never writes a caller token or a real key to an answer or a file under dataDir', async () => {
    const secrets = [PROD, stack.app.corpSecret, ...Object.values(stack.keys)];
    for (const a of answers) for (const s of secrets) assert.ok(!a.text.includes(s), `an answer leaks ${s.slice(0, 4)}…`);
    // The audit log is written in batches; its only flush is close(), so the files are scanned once
    // the firewall has stopped.
    await stack.server.close();
    for (const f of walk(stack.dataDir)) {
      const content = readFileSync(f).toString('latin1');
      for (const s of secrets) assert.ok(!content.includes(s), `${f} leaks ${s.slice(0, 4)}…`);
    }
  });
});

const hasIPv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.address === '::1'));

describe('named callers over IPv6, with no trusted proxy', { skip: !hasIPv6Loopback && 'no ::1 on this machine' }, () => {
  let stack: Stack;
  const TOKEN = 'ipv6-caller-token-0123456789ab';
  before(async () => {
    stack = await startStack({ listen: '[::1]:0', callers: { far: { from: ['10.0.0.0/8'] }, local: { from: ['::1/128'], token: '${env:LOCAL_TOKEN}' } } }, {}, { env: { LOCAL_TOKEN: TOKEN } });
  });
  after(() => stack.close());

  it('ignores a forged X-Forwarded-For: the peer address decides', async () => {
    const forged = await stack.send('ops', text('spoof'), { headers: { 'x-forwarded-for': '10.0.0.9', forwarded: 'for=10.0.0.9' } });
    assert.deepEqual([forged.status, forged.json.errcode], [403, 9900021]);
    const ok = await stack.send('ops', text('real'), { headers: { 'x-firewall-token': TOKEN } });
    assert.deepEqual([ok.status, ok.json.errcode], [200, 0]);
    assert.equal(stack.sim.received().length, 1);
  });
});

describe('callers reload without a restart; listener settings do not', () => {
  let sim: Simulator;
  let server: RunningServer;
  let dir: string;
  const key = randomUUID();
  const TOKEN = 'reloaded-token-0123456789abcdef';
  const env = { OPS_KEY: key, LOCAL_TOKEN: TOKEN };
  let n = 0;
  const config = (extra: string) => `listen: 127.0.0.1:0
upstream: ${sim.url}
dataDir: ${join(dir, 'data')}
reload: { watch: false }
robots: { ops: { key: '\${env:OPS_KEY}' } }
policies: [${join(dir, 'policies')}, ${shippedPoliciesDir()}]
${extra}`;
  const post = (headers: Record<string, string> = {}) =>
    fetch(`${server.url}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(text(`m ${n++}`)) }).then(answerOf);

  before(async () => {
    sim = await startSimulator({ keys: [key], quiet: true });
    dir = tempDir();
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, '05-none.yaml'), 'rules: []\n');
    writeFileSync(join(dir, 'firewall.yaml'), config('callers: { local: { from: [127.0.0.1/32] } }\n'));
    server = await serve({ configFile: join(dir, 'firewall.yaml'), env });
  });
  after(async () => {
    await server.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies new callers at once', async () => {
    assert.equal((await post()).status, 200);
    writeFileSync(join(dir, 'firewall.yaml'), config('callers: { local: { from: [127.0.0.1/32], token: "${env:LOCAL_TOKEN}" } }\n'));
    assert.equal(server.firewall.reload().ok, true);
    assert.deepEqual((await post()).json.errcode, 9900021);
    assert.equal((await post({ 'x-firewall-token': TOKEN })).status, 200);
  });

  it('refuses a policy naming a caller that does not exist (the old set stays)', async () => {
    writeFileSync(join(dir, 'policies', '05-none.yaml'), 'rules:\n  - { name: r, description: d, match: { callers: [locl] }, action: reject, reason: r }\n');
    const r = server.firewall.reload();
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.problems.join('\n') : '', /unknown caller "locl".*did you mean "local"/);
    writeFileSync(join(dir, 'policies', '05-none.yaml'), 'rules: []\n');
  });

  it('refuses a change of server: until a restart (the rest of the old config stays)', async () => {
    writeFileSync(join(dir, 'firewall.yaml'), config('callers: { local: { from: [127.0.0.1/32], token: "${env:LOCAL_TOKEN}" } }\nserver: { headersTimeout: 5s }\n'));
    const r = server.firewall.reload();
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.problems.join('\n') : '', /^server: changed; this setting needs a restart/m);
    assert.equal((await post({ 'x-firewall-token': TOKEN })).status, 200);
  });
});
