import { loadConfigFile } from '../config/load.js';
import { caFiles, caOf } from '../egress/ca.js';
import { UsageError, parseCommand } from './args.js';

// `wecom-firewall ca init|export`: the egress proxy's CA. `init` creates it ahead of the first start
// (a no-op when it exists or egress.ca names one); `export` prints the certificate clients must trust
// (NODE_EXTRA_CA_CERTS) on stdout and its fingerprint on stderr, so `> fw-ca.pem` captures only the PEM.
// The key is never printed.

export async function caCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } });
  const [verb, ...extra] = positionals;
  if ((verb !== 'init' && verb !== 'export') || extra.length) throw new UsageError('ca needs init or export');
  if (!values.config) throw new UsageError(`ca ${verb} needs --config FILE`);
  const config = loadConfigFile(values.config);
  const where = config.egress?.ca ? `egress.ca (${config.egress.ca.certFile})` : caFiles(config.dataDir).cert;
  const { material, created } = await caOf(config, verb === 'init');
  if (!material) {
    err(`no CA yet at ${where}: run wecom-firewall ca init --config ${values.config} (or start the firewall with egress: configured)\n`);
    return 1;
  }
  const fingerprint = `SHA-256 fingerprint: ${material.fingerprint}\nvalid until: ${material.notAfter.toISOString()}\n`;
  if (verb === 'export') {
    out(material.certPem.endsWith('\n') ? material.certPem : `${material.certPem}\n`);
    err(fingerprint);
  } else {
    out(`${created ? 'created' : config.egress?.ca ? 'configured, nothing to create' : 'exists, unchanged'}: ${where}\n${fingerprint}`);
  }
  return 0;
}
