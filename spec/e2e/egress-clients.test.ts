import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { caFiles } from '../../lib/egress/ca.js';
import { startStack, text, type Stack } from '../helpers.js';
import type { ClientName, DriveArgs, Outcome } from '../egress/drive-client.js';

// Published proxy clients through the egress proxy, against the real server and the WeCom simulator.
// Each runs in a child process that trusts the firewall's CA only through NODE_EXTRA_CA_CERTS, with
// WeCom's real URLs hard-coded as in the packages: undici's ProxyAgent (the official plugin,
// OpenClaw), https-proxy-agent (HTTPS_PROXY), an absolute-form request (older axios), and the
// official plugin's own app-API client.

const AGENT_TOKEN = 'egress-agent-token-0123456789abcdef';
const driver = join(packageRoot(), 'dist', 'spec', 'egress', 'drive-client.js');
const SEND = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ops';

/** Runs one client; without `ca` the child trusts only the default roots. No proxy variable leaks in from the spec's own environment. */
function drive(client: ClientName, args: DriveArgs, ca?: string): Promise<Outcome[]> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(https?|all|no)_proxy$/i.test(k) && k !== 'NODE_EXTRA_CA_CERTS'));
  if (ca) env.NODE_EXTRA_CA_CERTS = ca;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [driver, client, JSON.stringify(args)], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${client} driver failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as Outcome[]);
    });
  });
}

const byLabel = (out: Outcome[]) => Object.fromEntries(out.map((o) => [o.label, o]));
const json = (o: Outcome | undefined) => JSON.parse(o?.body ?? 'null') as { errcode?: number; errmsg?: string } | null;

describe('published clients through the egress proxy', () => {
  let stack: Stack;
  let ca: string;
  let proxyUrl: string;

  before(async () => {
    stack = await startStack({ egress: { listen: '127.0.0.1:0' }, callers: { agent: { from: ['127.0.0.0/8'], token: '${env:AGENT_TOKEN}' } } }, {}, { env: { AGENT_TOKEN } });
    ca = caFiles(stack.dataDir).cert;
    const egress = new URL(stack.server.egressUrl!);
    proxyUrl = `http://agent:${AGENT_TOKEN}@${egress.host}`;
  });
  after(() => stack.close());

  for (const client of ['undici', 'https-proxy-agent', 'absolute-form'] as const) {
    it(`${client}: a text is forwarded with the real key, an @all parked, a credential refused; the real key never reaches the client`, async () => {
      const before = stack.sim.received().length;
      const out = await drive(
        client,
        {
          proxyUrl,
          calls: [
            { label: 'text', url: SEND, body: text(`build green (${client})`) },
            { label: 'all', url: SEND, body: text(`all hands (${client})`, { mentioned_list: ['@all'] }) },
            { label: 'credential', url: SEND, body: text(`key AKIAIOSFODNN7EXAMPLE (${client})`) },
          ],
        },
        ca,
      );
      const r = byLabel(out);
      assert.deepEqual([r.text?.status, json(r.text)?.errcode], [200, 0], JSON.stringify(r.text));
      assert.deepEqual([r.all?.status, json(r.all)?.errcode, json(r.all)?.errmsg], [202, 0, 'pending approval'], JSON.stringify(r.all));
      assert.deepEqual([r.credential?.status, json(r.credential)?.errcode], [403, 9900001], JSON.stringify(r.credential));
      const received = stack.sim.received().slice(before);
      assert.equal(received.length, 1, 'only the text reached WeCom');
      assert.equal(received[0]!.key, stack.keys.ops, 'with the real key');
      assert.deepEqual(received[0]!.body, text(`build green (${client})`));
      assert.ok(!JSON.stringify(out).includes(stack.keys.ops!), 'the client never sees the real key');
    });
  }

  it("the official plugin's app-API client (egressProxyUrl): gettoken gets a firewall token, a text is sent with WeCom's real one, @all parked, a credential refused", async () => {
    const before = stack.sim.appMessages().length;
    const out = await drive(
      'official-plugin',
      {
        proxyUrl,
        agent: { accountId: 'default', corpId: stack.app.corpId, corpSecret: stack.app.clientSecret, agentId: stack.app.agentId },
        sends: [
          { label: 'text', toUser: 'zhangsan', text: 'your ticket is resolved' },
          { label: 'all', toUser: '@all', text: 'office closed tomorrow' },
          { label: 'credential', toUser: 'lisi', text: 'the key is AKIAIOSFODNN7EXAMPLE' },
        ],
      },
      ca,
    );
    const r = byLabel(out);
    assert.ok(r.gettoken?.body && !r.gettoken.error, JSON.stringify(r.gettoken));
    assert.equal(r.text?.error, undefined, JSON.stringify(r.text));
    assert.equal(r.all?.error, undefined, 'a parked send is errcode 0 to the plugin');
    assert.match(r.credential?.error ?? '', /^send failed: 9900001 /);
    const sent = stack.sim.appMessages().slice(before);
    assert.equal(sent.length, 1, 'only the text reached WeCom');
    assert.deepEqual([sent[0]!.agentId, sent[0]!.recipients, sent[0]!.errcode], [stack.app.agentId, ['zhangsan'], 0], 'sent with the real access token');
    const pending = await stack.admin('GET', '/approvals', await stack.token('alice'));
    assert.ok(JSON.stringify(pending.json).includes('office closed tomorrow'), 'the @all send waits for approval');
    assert.ok(!JSON.stringify(out).includes(stack.app.corpSecret), 'the client never sees the real corpsecret');
  });

  it('refuses other hosts, loopback and the metadata address (403), and wrong or missing proxy credentials (407)', async () => {
    const before = stack.sim.requestCount();
    const egress = new URL(stack.server.egressUrl!);
    const refused = byLabel(
      await drive(
        'undici',
        {
          proxyUrl,
          calls: [
            { label: 'other', url: 'https://www.google.com/' },
            { label: 'loopback', url: 'https://127.0.0.1/' },
            { label: 'metadata', url: 'https://169.254.169.254/latest/meta-data/' },
          ],
        },
        ca,
      ),
    );
    for (const label of ['other', 'loopback', 'metadata']) assert.match(refused[label]?.error ?? '', /Proxy response \(403\) !== 200/, label);
    const wrong = await drive('undici', { proxyUrl: `http://agent:not-the-token-0123456789@${egress.host}`, calls: [{ label: 'text', url: SEND, body: text('wrong token') }] }, ca);
    assert.match(wrong[0]?.error ?? '', /Proxy response \(407\) !== 200/);
    const missing = await drive('https-proxy-agent', { proxyUrl: `http://${egress.host}`, calls: [{ label: 'text', url: SEND, body: text('no token') }] }, ca);
    assert.deepEqual([missing[0]?.status, json(missing[0])?.errcode], [407, 9900024]);
    assert.equal(stack.sim.requestCount(), before, 'nothing reached WeCom');
  });

  it('a client without the CA fails its TLS handshake and sends nothing', async () => {
    const before = stack.sim.requestCount();
    const untrusting = await drive('undici', { proxyUrl, calls: [{ label: 'text', url: SEND, body: text('no CA') }] });
    assert.match(untrusting[0]?.error ?? '', /fetch failed.*SELF_SIGNED_CERT_IN_CHAIN/);
    assert.equal(stack.sim.requestCount(), before);
  });
});
