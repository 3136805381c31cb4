import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Firewall } from '../../firewall.js';
import { LeafCertificates } from '../../egress/leaves.js';
import { caOf, signingCa } from '../../egress/ca.js';
import { INTERCEPTED_HOSTS } from '../../egress/hosts.js';
import type { Lookup } from '../../egress/addresses.js';
import { DRAIN_MS, listen, stop, urlOf } from '../../http/listener.js';
import { newContext } from './context.js';
import { onConnect } from './connect.js';
import { onRequest, onUpgrade } from './requests.js';

// The egress proxy's listener (egress.listen): what agents get as HTTPS_PROXY, egressProxyUrl or
// proxy.proxyUrl. A thin adapter: CONNECT tunnels and absolute-form requests become requests for the
// firewall's one handler; nothing here judges a message.

export interface EgressListener {
  url: string;
  /** SHA-256 of the CA certificate clients must trust. */
  caFingerprint: string;
  /** Stops accepting; requests in flight and blind tunnels get DRAIN_MS, then are cut. */
  close(): Promise<void>;
}

/**
 * Reads (or on first start creates) the CA, mints the leaves and starts listening on egress.listen.
 * `lookup` replaces DNS for blind tunnels (specs).
 */
export async function startEgress(firewall: Firewall, options: { lookup?: Lookup } = {}): Promise<EgressListener> {
  const { config, log } = firewall;
  const egress = config.egress;
  if (!egress) throw new Error('no egress: in the config');
  const { material, created } = await caOf(config, true);
  const ca = material!;
  refuseSelfTrust(ca.fingerprint, process.env.NODE_EXTRA_CA_CERTS);
  const leaves = new LeafCertificates(await signingCa(ca), INTERCEPTED_HOSTS, {
    onRenewalFailed: (host, err) => log.error('renewing the egress leaf certificate failed; the current one is served until it expires', { host, cause: String(err) }),
  });
  await leaves.start();
  log.info(created ? 'egress proxy CA created: give clients its certificate (wecom-firewall ca export)' : 'egress proxy CA loaded', { ca: ca.source, fingerprint: ca.fingerprint, not_after: ca.notAfter.toISOString() });
  if (ca.notAfter.getTime() - Date.now() < 30 * 86_400_000) log.warn('the egress proxy CA expires within 30 days: create a new one and give clients its certificate', { not_after: ca.notAfter.toISOString() });
  const ctx = newContext(firewall, leaves, options.lookup);
  const server = await listen(onRequest(ctx), egress.listen, config.server, undefined, (s) => {
    ctx.server = s as http.Server;
    s.on('connect', onConnect(ctx) as (req: http.IncomingMessage, socket: unknown, head: Buffer) => void);
    s.on('upgrade', onUpgrade(ctx) as (req: http.IncomingMessage, socket: unknown, head: Buffer) => void);
  }).catch((err: unknown) => {
    leaves.close();
    throw err;
  });
  return {
    url: urlOf(server),
    caFingerprint: ca.fingerprint,
    async close() {
      leaves.close();
      // Intercepted tunnels are connections of the listener, drained by stop(); blind ones are not: cut them with the rest.
      const cut = setTimeout(() => ctx.tunnels.forEach((s: Socket) => s.destroy()), DRAIN_MS).unref();
      await stop(server);
      clearTimeout(cut);
    },
  };
}

/**
 * The connection to WeCom is verified with Node's default trust store, which includes
 * NODE_EXTRA_CA_CERTS. If that file holds the firewall's own CA, anything that can present one of its
 * leaves (anyone with the key) could pose as WeCom to the firewall and receive the real keys: refuse
 * to start. (The agents, not the firewall, are the ones to trust this CA.)
 */
function refuseSelfTrust(fingerprint: string, extraCaFile: string | undefined): void {
  if (!extraCaFile) return;
  let pem: string;
  try {
    pem = readFileSync(extraCaFile, 'utf8');
  } catch {
    return; // Node itself warns about an unreadable NODE_EXTRA_CA_CERTS
  }
  for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    let der: string;
    try {
      der = new X509Certificate(block).fingerprint256;
    } catch {
      continue;
    }
    if (der.replace(/:/g, '').toLowerCase() === fingerprint.replace(/:/g, '').toLowerCase()) {
      throw new Error(`NODE_EXTRA_CA_CERTS (${extraCaFile}) holds the egress proxy's own CA: the firewall would then trust it for its connection to WeCom. Give the CA to the agents only, not to the firewall's environment`);
    }
  }
}
