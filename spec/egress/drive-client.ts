import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { packageRoot } from '../../lib/paths.js';

// One published proxy client, run as an agent runs it: in its own process, trusting the firewall's CA
// only through NODE_EXTRA_CA_CERTS (read at process start, so it cannot be set in the spec's own).
// Usage: node drive-client.js <client> <json>. Prints one JSON array: what each call got back.

export type ClientName = 'undici' | 'https-proxy-agent' | 'absolute-form' | 'official-plugin';

export interface WebhookCall {
  label: string;
  url: string;
  body?: unknown;
}

export interface DriveArgs {
  proxyUrl: string;
  calls?: WebhookCall[];
  /** official-plugin: its agent account (corpSecret is the firewall's client secret), and the sends to make. */
  agent?: { accountId: string; corpId: string; corpSecret: string; agentId: number };
  sends?: Array<{ label: string; toUser: string; text: string }>;
}

export interface Outcome {
  label: string;
  status?: number;
  body?: string;
  error?: string;
}

/** The error and its causes, one line: undici wraps what went wrong two levels deep. */
const errorOf = (err: unknown): string => {
  const parts: string[] = [];
  for (let e = err as (Error & { code?: string; cause?: unknown }) | undefined; e && parts.length < 4; e = e.cause as typeof e) parts.push(`${e.code ? `${e.code}: ` : ''}${e.message}`);
  return parts.join(' <- ');
};

/** undici's ProxyAgent: CONNECT, then TLS to the WeCom host; what the official plugin and OpenClaw use. */
async function viaUndici(args: DriveArgs): Promise<Outcome[]> {
  const dispatcher = new ProxyAgent(args.proxyUrl);
  const out: Outcome[] = [];
  for (const c of args.calls ?? []) {
    try {
      const res = await undiciFetch(c.url, { method: c.body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, body: c.body === undefined ? undefined : JSON.stringify(c.body), dispatcher });
      out.push({ label: c.label, status: res.status, body: await res.text() });
    } catch (err) {
      out.push({ label: c.label, error: errorOf(err) });
    }
  }
  await dispatcher.close();
  return out;
}

/** https-proxy-agent (what HTTPS_PROXY means to push-all-in-one and many others): a CONNECT per request. */
async function viaHttpsProxyAgent(args: DriveArgs): Promise<Outcome[]> {
  const agent = new HttpsProxyAgent(args.proxyUrl);
  const out: Outcome[] = [];
  for (const c of args.calls ?? []) {
    out.push(await new Promise<Outcome>((resolve) => {
      const req = https.request(c.url, { method: c.body === undefined ? 'GET' : 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ label: c.label, status: res.statusCode, body }));
      });
      req.on('error', (err) => resolve({ label: c.label, error: errorOf(err) }));
      req.end(c.body === undefined ? undefined : JSON.stringify(c.body));
    }));
  }
  agent.destroy();
  return out;
}

/** What axios 0.x does with HTTPS_PROXY: no CONNECT, the absolute URL sent in clear to the proxy. */
async function viaAbsoluteForm(args: DriveArgs): Promise<Outcome[]> {
  const proxy = new URL(args.proxyUrl);
  const auth = proxy.username ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {};
  const out: Outcome[] = [];
  for (const c of args.calls ?? []) {
    out.push(await new Promise<Outcome>((resolve) => {
      const target = new URL(c.url);
      const req = http.request({ host: proxy.hostname, port: proxy.port, method: c.body === undefined ? 'GET' : 'POST', path: c.url, headers: { host: target.host, 'content-type': 'application/json', ...auth } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ label: c.label, status: res.statusCode, body }));
      });
      req.on('error', (err) => resolve({ label: c.label, error: errorOf(err) }));
      req.end(c.body === undefined ? undefined : JSON.stringify(c.body));
    }));
  }
  return out;
}

/** Tencent's official OpenClaw plugin, its app-API client as published: hard-coded host, egressProxyUrl only. */
async function viaOfficialPlugin(args: DriveArgs): Promise<Outcome[]> {
  const file = join(packageRoot(), 'node_modules', '@wecom', 'wecom-openclaw-plugin', 'dist', 'src', 'agent', 'api-client.js');
  const api = (await import(pathToFileURL(file).href)) as {
    getAccessToken(agent: object): Promise<string>;
    sendText(p: { agent: object; toUser: string; text: string }): Promise<unknown>;
  };
  const agent = { ...args.agent, network: { egressProxyUrl: args.proxyUrl } };
  const out: Outcome[] = [];
  try {
    out.push({ label: 'gettoken', body: await api.getAccessToken(agent) });
  } catch (err) {
    out.push({ label: 'gettoken', error: errorOf(err) });
  }
  for (const s of args.sends ?? []) {
    try {
      out.push({ label: s.label, body: JSON.stringify((await api.sendText({ agent, toUser: s.toUser, text: s.text })) ?? null) });
    } catch (err) {
      out.push({ label: s.label, error: errorOf(err) });
    }
  }
  return out;
}

const drivers: Record<ClientName, (args: DriveArgs) => Promise<Outcome[]>> = {
  undici: viaUndici,
  'https-proxy-agent': viaHttpsProxyAgent,
  'absolute-form': viaAbsoluteForm,
  'official-plugin': viaOfficialPlugin,
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, json] = process.argv.slice(2) as [ClientName, string];
  drivers[name](JSON.parse(json) as DriveArgs).then(
    (out) => {
      process.stdout.write(JSON.stringify(out));
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(String((err as Error).stack ?? err));
      process.exit(1);
    },
  );
}
