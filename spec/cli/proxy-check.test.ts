import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { caFiles, ensureStoredCa } from '../../lib/egress/ca.js';
import { spawnCli, startStack, tempDir, type Stack } from '../helpers.js';

// `wecom-firewall proxy check` as an operator runs it on the firewall's host: the real CLI in a child
// process against a real server's egress listener, reading a config file that describes that server.

const AGENT_TOKEN = 'agent-proxy-token-0123456789abcdef';
const OTHER_TOKEN = 'other-proxy-token-0123456789abcdef';

/** The check's config file: the running stack's dataDir and egress port, plus `extra`. */
function configFor(dir: string, egressUrl: string, dataDir: string, extra: object = {}): string {
  const file = join(dir, `firewall-${Math.random().toString(36).slice(2)}.yaml`);
  // A robot whose key is unset wherever the check runs: proxy check must not need it.
  writeFileSync(file, stringify({ dataDir, robots: { ops: { key: '${env:CHECK_SPEC_UNSET_KEY}' } }, egress: { listen: new URL(egressUrl).host }, ...extra }));
  return file;
}

async function check(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const p = spawnCli(['proxy', 'check', ...args], env);
  return { code: await p.exited, output: p.output() };
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('wecom-firewall proxy check, loopback only (no callers:)', () => {
  let stack: Stack;
  let dir: string;
  before(async () => {
    stack = await startStack({ egress: { listen: '127.0.0.1:0' } });
    dir = tempDir('wf-proxy-check-');
  });
  after(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes: WeCom intercepted with a certificate of the CA, loopback and metadata refused; prints what each client sets', async () => {
    const file = configFor(dir, stack.server.egressUrl!, stack.dataDir);
    const r = await check(['--config', file]);
    assert.equal(r.code, 0, r.output);
    const port = new URL(stack.server.egressUrl!).port;
    const fingerprint = new X509Certificate(readFileSync(caFiles(stack.dataDir).cert)).fingerprint256;
    assert.match(r.output, new RegExp(`^ {2}CA {6}.*ca\\.pem, SHA-256 ${fingerprint}$`, 'm'));
    assert.match(r.output, /^ {2}caller {2}none configured: the listener takes loopback only/m);
    assert.match(r.output, /^ok {4}CONNECT qyapi\.weixin\.qq\.com:443: intercepted: the certificate for qyapi\.weixin\.qq\.com \(valid until [^)]+\) chains to the CA, ALPN http\/1\.1$/m);
    assert.match(r.output, /^ok {4}CONNECT 127\.0\.0\.1:443: refused: 403 \/ 9900025: .*IP-literal targets are refused/m);
    assert.match(r.output, /^ok {4}CONNECT 169\.254\.169\.254:443: refused: 403 \/ 9900025/m);
    assert.match(r.output, /^all 3 checks passed$/m);
    const url = `http://127.0.0.1:${port}`;
    for (const line of [`HTTPS_PROXY=${url}`, `channels.wecom.network.egressProxyUrl: ${url}`, `proxy.proxyUrl: ${url}`, 'NODE_EXTRA_CA_CERTS=/path/to/fw-ca.pem', `ca export --config ${file} > fw-ca.pem`, 'fw-ca.pem > fw-bundle.pem; REQUESTS_CA_BUNDLE=fw-bundle.pem SSL_CERT_FILE=fw-bundle.pem']) {
      assert.ok(r.output.includes(line), `${line} in:\n${r.output}`);
    }
    assert.equal(stack.sim.received().length, 0, 'nothing reached WeCom');
  });

  it('fails (exit 1) when the listener serves a certificate of another CA', async () => {
    const other = join(dir, 'other-data');
    await ensureStoredCa(other);
    const r = await check(['--config', configFor(dir, stack.server.egressUrl!, other)]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^FAIL {2}CONNECT qyapi\.weixin\.qq\.com:443: the certificate served does not chain to the CA in .*other-data\/ca\/ca\.pem \(\w+\)/m);
    assert.match(r.output, /^ok {4}CONNECT 127\.0\.0\.1:443/m);
    assert.match(r.output, /^1 of 3 checks failed$/m);
  });

  it('fails (exit 1) with one clear line when no egress listener runs', async () => {
    const port = await closedPort();
    const r = await check(['--config', configFor(dir, `http://127.0.0.1:${port}`, stack.dataDir)]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`^FAIL {2}no egress listener at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is the firewall running with this config`, 'm'));
    assert.doesNotMatch(r.output, /^ok/m);
  });

  it('fails (exit 1) for a config without egress:', async () => {
    const file = join(dir, 'no-egress.yaml');
    writeFileSync(file, 'dataDir: ./data\n');
    const r = await check(['--config', file]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^FAIL {2}.*has no egress: section/m);
  });
});

describe('wecom-firewall proxy check, with callers: that need a token', () => {
  let stack: Stack;
  let dir: string;
  const callers = {
    remote: { from: ['10.0.0.0/8'], token: '${env:CHECK_REMOTE_TOKEN}' },
    agent: { from: ['127.0.0.1'], token: '${env:CHECK_AGENT_TOKEN}' },
  };
  before(async () => {
    stack = await startStack({ callers, egress: { listen: '127.0.0.1:0' } }, {}, { env: { CHECK_AGENT_TOKEN: AGENT_TOKEN, CHECK_REMOTE_TOKEN: OTHER_TOKEN } });
    dir = tempDir('wf-proxy-check-');
  });
  after(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents the caller whose from holds loopback, with its token (the only secret read), and never prints it', async () => {
    const file = configFor(dir, stack.server.egressUrl!, stack.dataDir, { callers });
    const r = await check(['--config', file], { CHECK_AGENT_TOKEN: AGENT_TOKEN });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^ {2}caller {2}agent, its token \(callers\.agent\.token\) as the proxy password$/m);
    assert.match(r.output, /^all 3 checks passed$/m);
    assert.ok(r.output.includes(`HTTPS_PROXY=http://agent:<token of agent>@127.0.0.1:${new URL(stack.server.egressUrl!).port}`), r.output);
    assert.ok(!r.output.includes(AGENT_TOKEN), 'the token was printed');
  });

  it('fails (exit 1) when the token is refused: every CONNECT gets 407', async () => {
    const r = await check(['--config', configFor(dir, stack.server.egressUrl!, stack.dataDir, { callers })], { CHECK_AGENT_TOKEN: OTHER_TOKEN });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^FAIL {2}CONNECT qyapi\.weixin\.qq\.com:443: not intercepted: 407 \/ 9900024: .*\(the proxy credentials were refused\)$/m);
    assert.match(r.output, /^FAIL {2}CONNECT 127\.0\.0\.1:443: expected 403 for the target, got 407/m);
    assert.match(r.output, /^3 of 3 checks failed$/m);
    assert.ok(!r.output.includes(OTHER_TOKEN));
  });

  it('fails (exit 1) naming the secret when the caller\'s token does not resolve here', async () => {
    const r = await check(['--config', configFor(dir, stack.server.egressUrl!, stack.dataDir, { callers })]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^FAIL {2}.*\.yaml:\d+: \/callers\/agent\/token: environment variable CHECK_AGENT_TOKEN is not set: the check presents caller agent's token/m);
  });

  it('--caller names the caller to present as; one whose from does not hold this host fails', async () => {
    const file = configFor(dir, stack.server.egressUrl!, stack.dataDir, { callers });
    const r = await check(['--config', file, '--caller', 'remote'], { CHECK_REMOTE_TOKEN: OTHER_TOKEN });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^FAIL {2}caller remote's from does not hold 127\.0\.0\.1/m);
    const typo = await check(['--config', file, '--caller', 'agnet']);
    assert.equal(typo.code, 2, typo.output);
    assert.match(typo.output, /no caller "agnet" under callers: .* \(did you mean "agent"\?\)/);
  });
});

describe('wecom-firewall proxy check, usage', { concurrency: true }, () => {
  for (const args of [['proxy'], ['proxy', 'check'], ['proxy', 'verify', '--config', 'x.yaml'], ['proxy', 'check', 'extra', '--config', 'x.yaml']]) {
    it(`${args.join(' ')} exits 2 with the usage`, async () => {
      const p = spawnCli(args);
      assert.equal(await p.exited, 2, p.output());
      assert.match(p.output(), /proxy check --config FILE/);
    });
  }
});
