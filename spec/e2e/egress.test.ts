import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startStack, text, until, type Stack, readAuditLines } from '../helpers.js';
import { caFiles } from '../../lib/egress/ca.js';
import type { Lookup } from '../../lib/egress/addresses.js';
import { agentOver, basic, connect, handshake, request } from '../egress/proxy-client.js';

// The egress proxy on the wire, against the real server and the WeCom simulator: what an agent whose
// WeCom host is hard-coded sees when it is given the firewall as its HTTPS proxy. The client here is
// written by hand (spec/egress/proxy-client.ts) so every wire detail can be set; egress-clients.test.ts
// drives the published clients.

const ALIAS_PATH = '/cgi-bin/webhook/send?key=ops';
const AGENT_TOKEN = 'agent-proxy-token-0123456789abcdef';
const OTHER_TOKEN = 'other-proxy-token-0123456789abcdef';

/** DNS for the specs' tunnel hosts: no real resolver is asked. */
const lookup: Lookup = async (host) => {
  const answers: Record<string, string[]> = { localhost: ['127.0.0.1'], 'rebind.example': ['93.184.216.34', '10.0.0.1'], 'metadata.example': ['169.254.169.254'], 'mapped.example': ['::ffff:127.0.0.1'] };
  const a = answers[host];
  if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

interface AuditLine { decision: string; request_id: string; who: string; errcode?: number; what: { route?: string; host?: string; robot?: string }; why?: { reason?: string } }

const readAudit = (dataDir: string) => readAuditLines<AuditLine>(dataDir);

const auditRecord = (stack: Stack, requestId: string) => until(`the audit record of ${requestId}`, () => readAudit(stack.dataDir).find((r) => r.request_id === requestId));

describe('the egress proxy, loopback only (no callers:)', () => {
  let stack: Stack;
  let ca: string;
  let n = 0;
  const note = () => `deploy finished #${n++}`;

  before(async () => {
    stack = await startStack({ egress: { listen: '127.0.0.1:0', tunnel: ['localhost', 'rebind.example', 'metadata.example', 'mapped.example', 'nowhere.invalid'] } }, {}, { egressLookup: lookup });
    ca = readFileSync(caFiles(stack.dataDir).cert, 'utf8');
  });
  after(() => stack.close());

  it('intercepts CONNECT qyapi.weixin.qq.com:443 with a leaf of its CA, http/1.1 only, and carries many requests in one tunnel', async () => {
    const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443');
    assert.equal(c.statusLine, 'HTTP/1.1 200 Connection Established'); // undici takes 200 and nothing else
    assert.deepEqual(c.headers, {}); // RFC 9110: no Content-Length or Transfer-Encoding on a 2xx to CONNECT
    const t = await handshake(c.socket, 'qyapi.weixin.qq.com', ca, ['h2', 'http/1.1']);
    assert.equal(t.alpnProtocol, 'http/1.1');
    const leaf = new X509Certificate(t.getPeerX509Certificate()!.raw);
    assert.ok(leaf.checkIssued(new X509Certificate(ca)));
    assert.equal(leaf.subjectAltName, 'DNS:qyapi.weixin.qq.com');

    const agent = agentOver(t);
    const before = stack.sim.received().length;
    const sent = await request(agent, { path: ALIAS_PATH, body: text(note()) });
    const parked = await request(agent, { path: ALIAS_PATH, body: text(note(), { mentioned_list: ['@all'] }) });
    const refused = await request(agent, { path: ALIAS_PATH, body: text('creds: AKIAIOSFODNN7EXAMPLE') });
    assert.deepEqual([sent.status, sent.json.errcode], [200, 0], sent.text);
    assert.deepEqual([parked.status, parked.json.errcode, parked.json.errmsg], [202, 0, 'pending approval']);
    assert.deepEqual([refused.status, refused.json.errcode], [403, 9900001]);
    const received = stack.sim.received().slice(before);
    assert.equal(received.length, 1, 'only the allowed text reached WeCom');
    assert.equal(received[0]!.key, stack.keys.ops, 'with the real key');
    for (const r of [sent, parked, refused]) assert.ok(!JSON.stringify(r).includes(stack.keys.ops!), 'the agent never sees the real key');
    assert.equal((agent as unknown as { totalSocketCount: number }).totalSocketCount, 1, 'one tunnel carried all three');
    const record = await auditRecord(stack, sent.headers['x-request-id'] as string);
    assert.deepEqual([record.decision, record.who, record.what.route], ['forwarded', '127.0.0.1', 'webhook.send']);
    agent.destroy();
  });

  it('refuses a client that offers only h2 (TLS alert), and one that names another host in SNI', async () => {
    const h2 = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443');
    await assert.rejects(handshake(h2.socket, 'qyapi.weixin.qq.com', ca, ['h2']), /no application protocol|alert/i);

    const before = stack.sim.received().length;
    const sni = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443');
    await assert.rejects(handshake(sni.socket, 'openws.work.weixin.qq.com', ca));
    const record = await until('the SNI refusal in the audit', () => readAudit(stack.dataDir).find((r) => r.what?.route === 'egress.tls' && /TLS server name openws\.work\.weixin\.qq\.com is not the CONNECT host/.test(r.why?.reason ?? '')));
    assert.equal(record.decision, 'rejected');
    assert.equal(stack.sim.received().length, before);
  });

  it('a client that does not trust the CA fails its handshake and sends nothing', async () => {
    const before = stack.sim.received().length;
    const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443');
    await assert.rejects(handshake(c.socket, 'qyapi.weixin.qq.com', undefined), /self-signed certificate in certificate chain|unable to verify/);
    await until('the handshake failure in the audit', () => readAudit(stack.dataDir).find((r) => r.what?.route === 'egress.tls' && /trust the firewall's CA/.test(r.why?.reason ?? '')));
    assert.equal(stack.sim.received().length, before);
  });

  it('refuses a request whose Host is not the tunnel host (421 / 9900029); nothing is forwarded', async () => {
    const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443');
    const agent = agentOver(await handshake(c.socket, 'qyapi.weixin.qq.com', ca));
    const before = stack.sim.received().length;
    const r = await request(agent, { path: ALIAS_PATH, host: 'evil.example', body: text(note()) });
    assert.deepEqual([r.status, r.json.errcode], [421, 9900029]);
    const ok = await request(agent, { path: ALIAS_PATH, host: 'qyapi.weixin.qq.com:443', body: text(note()) });
    assert.deepEqual([ok.status, ok.json.errcode], [200, 0], 'WeCom\'s default port may be named');
    assert.equal(stack.sim.received().length, before + 1);
    agent.destroy();
  });

  it('intercepts the bot WebSocket host: an upgrade without bots: configured is 501 / 9900028, a plain request 404', async () => {
    const c = await connect(stack.server.egressUrl!, 'openws.work.weixin.qq.com:443');
    assert.equal(c.status, 200);
    const t = await handshake(c.socket, 'openws.work.weixin.qq.com', ca);
    const r = await request(agentOver(t), { path: '/', host: 'openws.work.weixin.qq.com', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } }).catch((err: unknown) => err as Error);
    // An upgrade is answered on the raw socket: node's client reports the 501 as an ordinary response.
    assert.ok(!(r instanceof Error), String(r));
    assert.deepEqual([r.status, r.json.errcode], [501, 9900028]);
    const c2 = await connect(stack.server.egressUrl!, 'openws.work.weixin.qq.com:443');
    const plain = await request(agentOver(await handshake(c2.socket, 'openws.work.weixin.qq.com', ca)), { path: '/', host: 'openws.work.weixin.qq.com' });
    assert.deepEqual([plain.status, plain.json.errcode], [404, 9900002]);
  });

  it('refuses every other target with 403 and a one-line reason, audited and counted', async () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['www.google.com:443', 403, 9900025, /www\.google\.com is not a WeCom host and not listed in egress\.tunnel/],
      ['127.0.0.1:443', 403, 9900025, /IP-literal targets are refused/],
      ['169.254.169.254:443', 403, 9900025, /IP-literal/],
      ['[::1]:443', 403, 9900025, /IP-literal/],
      ['qyapi.weixin.qq.com:80', 403, 9900025, /port 80 refused: only 443/],
      ['api.example.com:8443', 403, 9900025, /not a WeCom host/],
      ['no-port-here', 403, 9900025, /must be host:port/],
      ['localhost:443', 403, 9900026, /localhost resolves to 127\.0\.0\.1/],
      ['metadata.example:443', 403, 9900026, /169\.254\.169\.254/],
      ['rebind.example:443', 403, 9900026, /resolves to 10\.0\.0\.1/],
      ['mapped.example:443', 403, 9900026, /::ffff:127\.0\.0\.1/],
      ['nowhere.invalid:443', 502, 9900027, /does not resolve \(ENOTFOUND\)/],
    ];
    for (const [target, status, errcode, reason] of cases) {
      const c = await connect(stack.server.egressUrl!, target);
      assert.equal(c.status, status, target);
      assert.equal(c.headers.connection, 'close', target);
      const body = JSON.parse(c.body) as { errcode: number; errmsg: string; request_id: string };
      assert.equal(body.errcode, errcode, target);
      assert.match(body.errmsg, reason, target);
      assert.ok(!body.errmsg.includes('\n'), 'one line');
      const record = await auditRecord(stack, body.request_id);
      assert.deepEqual([record.decision, record.what.route, record.errcode, record.who], ['rejected', 'egress.connect', errcode, '127.0.0.1'], target);
      c.socket.destroy();
    }
    const metrics = await (await fetch(`${stack.server.adminUrl}/metrics`)).text();
    const count = /wecom_firewall_decisions_total\{route="egress\.connect",target="none",rule="none",decision="rejected"\} (\d+)/.exec(metrics);
    assert.ok(count && Number(count[1]) >= cases.length, 'refused CONNECTs are counted');
  });

  it('takes absolute-form requests (https:// and http://) through the same pipeline, and refuses other hosts', async () => {
    const proxy = new URL(stack.server.egressUrl!);
    const via = (path: string, body?: unknown, host = 'qyapi.weixin.qq.com') => request(undefined, { hostname: proxy.hostname, port: Number(proxy.port), path, host, body });
    const before = stack.sim.received().length;
    const https = await via(`https://qyapi.weixin.qq.com${ALIAS_PATH}`, text(note()));
    const http = await via(`http://qyapi.weixin.qq.com${ALIAS_PATH}`, text(note()));
    const parked = await via(`https://qyapi.weixin.qq.com${ALIAS_PATH}`, text(note(), { mentioned_list: ['@all'] }));
    const leak = await via(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${stack.keys.ops}`, text(note()));
    assert.deepEqual([https.status, https.json.errcode], [200, 0], https.text);
    assert.deepEqual([http.status, http.json.errcode], [200, 0], http.text);
    assert.deepEqual([parked.status, parked.json.errcode], [202, 0]);
    assert.deepEqual([leak.status, leak.json.errcode], [404, 93000], 'a real key is refused like any unknown alias');
    assert.equal(stack.sim.received().length, before + 2);
    const other = await via('https://api.example.com/v1/anything', text(note()), 'api.example.com');
    assert.deepEqual([other.status, other.json.errcode], [403, 9900025]);
    const bot = await via('https://openws.work.weixin.qq.com/', undefined, 'openws.work.weixin.qq.com');
    assert.deepEqual([bot.status, bot.json.errcode], [404, 9900002]);
    const direct = await via('/cgi-bin/webhook/send?key=ops', text(note()));
    assert.deepEqual([direct.status, direct.json.errcode], [400, 9900030]);
    assert.equal(stack.sim.received().length, before + 2);
  });

  it('without callers: refuses proxy credentials (403: none could be right)', async () => {
    const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443', { 'proxy-authorization': basic('agent', AGENT_TOKEN) });
    assert.equal(c.status, 403);
    assert.equal(JSON.parse(c.body).errcode, 9900021);
  });
});

describe('the egress proxy with callers:', () => {
  let stack: Stack;
  let ca: string;
  let n = 0;

  before(async () => {
    stack = await startStack(
      {
        egress: { listen: '127.0.0.1:0' },
        callers: {
          agent: { from: ['127.0.0.0/8'], token: '${env:AGENT_TOKEN}' },
          'far-away': { from: ['10.9.0.0/16'], token: '${env:OTHER_TOKEN}' },
        },
      },
      {},
      { env: { AGENT_TOKEN, OTHER_TOKEN } },
    );
    ca = readFileSync(caFiles(stack.dataDir).cert, 'utf8');
  });
  after(() => stack.close());

  it('answers a CONNECT without, or with wrong, proxy credentials 407 with Proxy-Authenticate, never a tunnel', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['none', {}],
      ['wrong token', { 'proxy-authorization': basic('agent', 'not-the-token-0123456789') }],
      ["another caller's name", { 'proxy-authorization': basic('far-away', AGENT_TOKEN) }],
      ['a token used outside its from', { 'proxy-authorization': basic('far-away', OTHER_TOKEN) }],
      ['not Basic', { 'proxy-authorization': `Bearer ${AGENT_TOKEN}` }],
    ];
    for (const [name, headers] of cases) {
      const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443', headers);
      assert.equal(c.status, 407, name);
      assert.equal(c.headers['proxy-authenticate'], 'Basic realm="wecom-firewall"', name);
      const body = JSON.parse(c.body) as { errcode: number; errmsg: string; request_id: string };
      assert.equal(body.errcode, 9900024, name);
      assert.ok(!c.body.includes(AGENT_TOKEN) && !c.body.includes(OTHER_TOKEN), name);
      const record = await auditRecord(stack, body.request_id);
      assert.equal(record.who, 'unknown:127.0.0.1', name);
      c.socket.destroy();
    }
    const logged = readFileSync(join(stack.dataDir, 'audit', 'audit.log'), 'utf8');
    assert.ok(!logged.includes(AGENT_TOKEN) && !logged.includes(OTHER_TOKEN), 'no token in the audit');
  });

  it('checks the credentials on the CONNECT and carries the caller into every request of the tunnel', async () => {
    const c = await connect(stack.server.egressUrl!, 'qyapi.weixin.qq.com:443', { 'proxy-authorization': basic('agent', AGENT_TOKEN) });
    assert.equal(c.status, 200);
    const agent = agentOver(await handshake(c.socket, 'qyapi.weixin.qq.com', ca));
    for (let i = 0; i < 2; i++) {
      const r = await request(agent, { path: ALIAS_PATH, body: text(`as the agent #${n++}`) });
      assert.deepEqual([r.status, r.json.errcode], [200, 0]);
      const record = await auditRecord(stack, r.headers['x-request-id'] as string);
      assert.equal(record.who, 'agent');
    }
    // A second identity inside the tunnel would be ambiguous: refused.
    const twice = await request(agent, { path: ALIAS_PATH, body: text(`#${n++}`), headers: { 'x-firewall-token': OTHER_TOKEN } });
    assert.deepEqual([twice.status, twice.json.errcode], [403, 9900021]);
    agent.destroy();
  });

  it('checks the credentials of an absolute-form request on the request itself', async () => {
    const proxy = new URL(stack.server.egressUrl!);
    const via = (headers: Record<string, string>) => request(undefined, { hostname: proxy.hostname, port: Number(proxy.port), path: `https://qyapi.weixin.qq.com${ALIAS_PATH}`, body: text(`absolute #${n++}`), headers });
    const none = await via({});
    assert.deepEqual([none.status, none.json.errcode, none.headers['proxy-authenticate']], [407, 9900024, 'Basic realm="wecom-firewall"']);
    const ok = await via({ 'proxy-authorization': basic('agent', AGENT_TOKEN) });
    assert.deepEqual([ok.status, ok.json.errcode], [200, 0]);
    assert.equal((await auditRecord(stack, ok.headers['x-request-id'] as string)).who, 'agent');
    const last = stack.sim.received().at(-1)!;
    assert.ok(!JSON.stringify(last).includes(AGENT_TOKEN), 'the proxy credentials never reach WeCom');
  });
});
