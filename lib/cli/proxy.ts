import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, EGRESS_DEFAULT_LISTEN, parseListen, readConfigInput, type FirewallConfigInput } from '../config/load.js';
import { AddressSet, parseAddress } from '../callers/cidr.js';
import { caFiles } from '../egress/ca.js';
import { API_HOST } from '../egress/hosts.js';
import { MUST_REFUSE, localAddressTowards, probeInterception, probeRefusal, type Endpoint, type ProbeResult } from '../egress/check.js';
import { suggest } from '../yaml-source.js';
import { UsageError, parseCommand } from './args.js';

// `wecom-firewall proxy check --config FILE`: from the firewall's host, proves that the egress listener
// of that config works (CONNECT to WeCom intercepted with a certificate of the firewall's CA; a loopback
// and the metadata address refused), then says what each kind of client must set. Only the secret it
// needs is resolved: the token of the one caller it presents as (none without callers: or for a
// tokenless caller), so it runs where the robots' keys and app secrets are not. It never prints a token.

type Callers = NonNullable<FirewallConfigInput['callers']>;

export async function proxyCommand(args: string[], out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommand({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, caller: { type: 'string' } } });
  const [verb, ...extra] = positionals;
  if (verb !== 'check' || extra.length) throw new UsageError('proxy needs check');
  if (!values.config) throw new UsageError('proxy check needs --config FILE');
  const file = values.config;
  const { input, path, secret } = readConfigInput(file, env);
  const callers: Callers = input.callers ?? {};
  if (values.caller !== undefined && !Object.hasOwn(callers, values.caller)) {
    const guess = suggest(values.caller, Object.keys(callers));
    throw new UsageError(`--caller: no caller "${values.caller}" under callers: in ${file}${guess ? ` (did you mean "${guess}"?)` : ''}`);
  }
  const fail = (line: string) => (out(`FAIL  ${line}\n`), 1);
  if (!input.egress) return fail(`${file} has no egress: section: the firewall runs no egress proxy with it`);
  const listen = parseListen(input.egress.listen ?? EGRESS_DEFAULT_LISTEN);
  if (listen.port === 0) return fail(`egress.listen ${listen.host}:0 takes any free port: give it a fixed one, which agents can be told`);
  const proxy: Endpoint = { host: dialHost(listen.host), port: listen.port };
  const caFile = input.egress.ca ? path(input.egress.ca.cert) : caFiles(path(input.dataDir ?? './data')).cert;

  out(`egress proxy ${proxy.host}:${proxy.port} (${file})\n`);
  const ca = readCa(caFile);
  out(`  CA      ${'pem' in ca ? `${caFile}, SHA-256 ${ca.fingerprint}` : ca.problem}\n`);
  let local: string;
  try {
    local = await localAddressTowards(proxy);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    fail(`no egress listener at ${proxy.host}:${proxy.port} (${code}): is the firewall running with this config (wecom-firewall serve --config ${file})?`);
    printSettings(out, file, listen, undefined);
    return 1;
  }
  const caller = chooseCaller(callers, local, values.caller);
  out(`  caller  ${caller.describe}\n`);
  if (caller.problem) {
    fail(caller.problem);
    printSettings(out, file, listen, undefined);
    return 1;
  }
  let authorization: string | undefined;
  if (caller.name && caller.tokenRef) {
    try {
      authorization = `Basic ${Buffer.from(`${caller.name}:${secret(`/callers/${caller.name}/token`, caller.tokenRef)}`).toString('base64')}`;
    } catch (err) {
      const problem = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
      return fail(`${problem}: the check presents caller ${caller.name}'s token as the proxy password; run it where that secret resolves, or choose another caller with --caller`);
    }
  }

  const results: ProbeResult[] = [
    'pem' in ca ? await probeInterception(proxy, { pem: ca.pem, source: caFile }, authorization) : { ok: false, what: `CONNECT ${API_HOST}:443`, detail: `not checked: ${ca.problem}` },
    ...(await Promise.all(MUST_REFUSE.map((target) => probeRefusal(proxy, target, authorization)))),
  ];
  for (const r of results) out(`${r.ok ? 'ok   ' : 'FAIL '} ${r.what}: ${r.detail}\n`);
  const failed = results.filter((r) => !r.ok).length;
  out(failed ? `${failed} of ${results.length} checks failed\n` : `all ${results.length} checks passed\n`);
  printSettings(out, file, listen, caller.name && caller.tokenRef ? caller.name : undefined);
  return failed ? 1 : 0;
}

/** A wildcard listen address is dialled on loopback: the check runs on the firewall's host. */
function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function readCa(file: string): { pem: string; fingerprint: string } | { problem: string } {
  if (!existsSync(file)) return { problem: `no CA certificate at ${file}: the firewall creates it on its first start with egress: (or run wecom-firewall ca init)` };
  try {
    const pem = readFileSync(file, 'utf8');
    return { pem, fingerprint: new X509Certificate(pem).fingerprint256 };
  } catch (err) {
    return { problem: `${file}: not a readable PEM certificate (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

interface Chosen {
  name?: string;
  tokenRef?: string;
  describe: string;
  problem?: string;
}

/**
 * Who the check presents as, for a connection from `local`: --caller if given; otherwise a tokenless
 * caller whose from holds the address (no credentials), else the first caller with a token whose from
 * holds it. Without callers:, loopback needs nothing.
 */
function chooseCaller(callers: Callers, local: string, named: string | undefined): Chosen {
  const address = parseAddress(local);
  const holds = (from: string[]) => address !== undefined && AddressSet.parse(from, () => {}).has(address.parsed);
  const entries = Object.entries(callers);
  if (!entries.length) return { describe: `none configured: the listener takes loopback only, and this check connects from ${local}` };
  const describe = (name: string, c: Callers[string]) => (c.token ? `${name}, its token (callers.${name}.token) as the proxy password` : `${name}, by its address ${local} (no token)`);
  if (named !== undefined) {
    const c = callers[named]!;
    return { name: named, tokenRef: c.token, describe: describe(named, c), problem: holds(c.from) ? undefined : `caller ${named}'s from does not hold ${local}, the address this check connects from: it would be refused (407)` };
  }
  const found = entries.find(([, c]) => !c.token && holds(c.from)) ?? entries.find(([, c]) => c.token && holds(c.from));
  if (!found) return { describe: '(none)', problem: `no caller's from holds ${local}, the address this check connects from: add it to a caller's from (every caller is refused from elsewhere)` };
  const [name, c] = found;
  return { name, tokenRef: c.token, describe: describe(name, c) };
}

/** What each kind of client sets, for this listener and (if it needs one) the caller's token. */
function printSettings(out: (s: string) => void, file: string, listen: { host: string; port: number }, tokenCaller: string | undefined): void {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? '<this host\'s address>' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const credentials = tokenCaller ? `${tokenCaller}:<token of ${tokenCaller}>@` : '';
  const url = `http://${credentials}${host}:${listen.port}`;
  const roots = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'].find((f) => existsSync(f)) ?? '"$(python3 -m certifi)"';
  out(
    `\nwhat to set on the agent's side${tokenCaller ? ' (each caller its own name and token; percent-encode a token outside A-Za-z0-9-._~)' : ''}:\n` +
      `  proxy URL       ${url}${listen.host.startsWith('127.') || listen.host === '::1' || listen.host === 'localhost' ? '   (loopback: agents on this host only)' : ''}\n` +
      `  the CA file     wecom-firewall ca export --config ${file} > fw-ca.pem   (compare its fingerprint with the one above)\n` +
      `  Node clients    NODE_EXTRA_CA_CERTS=/path/to/fw-ca.pem in the agent's environment (read at process start)\n` +
      `  HTTPS_PROXY     HTTPS_PROXY=${url}   (push-all-in-one, https-proxy-agent, older axios); no NO_PROXY may match ${API_HOST}\n` +
      `  official plugin channels.wecom.network.egressProxyUrl: ${url}   (and others' egressProxyUrl)\n` +
      `  OpenClaw core   proxy.proxyUrl: ${url}   (or OPENCLAW_PROXY_URL), with NODE_EXTRA_CA_CERTS\n` +
      `  Python (Dify)   cat ${roots} fw-ca.pem > fw-bundle.pem; REQUESTS_CA_BUNDLE=fw-bundle.pem SSL_CERT_FILE=fw-bundle.pem HTTPS_PROXY=${url}\n` +
      `                  (a bundle of the system roots plus the CA: these variables replace the roots)\n`,
  );
}
