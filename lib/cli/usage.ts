// Every subcommand's usage, kept apart from the commands so that `--help` (and a usage error) loads
// nothing else: main.ts imports a command's module only to run it.

export const USAGES = {
  serve: `  serve --config FILE        run the firewall (proxy, admin and egress listeners); SIGHUP reloads
                             config and policies, SIGINT/SIGTERM stop it cleanly
`,
  simulator: `  simulator [--port 9000] [--host 127.0.0.1] [--key K ...] [--rate 20] [--bot ID:SECRET ...]
                             run a WeCom stand-in (robots only): N messages/min per key (0 = no limit);
                             with no --key, any UUID-shaped key exists. Point a config's upstream: at it.
                             --bot: an intelligent robot that may subscribe on ws://HOST:PORT/
`,
  demo: `  demo [--port 8080]         a simulator + the firewall with a demo config on 127.0.0.1 (admin on port+1),
                             printing curl commands for a forwarded, a refused and a parked message
`,
  token: `  token --config FILE --sub NAME [--ttl 8h]
                             print an approver's JWT (HS256 with admin.jwtSecret, at most 12h) for
                             the console and approvals --token; NAME must be an approver in the config
`,
  approvals: `  approvals list|show ID|approve ID|reject ID [--comment TEXT] [--sha256 HEX]
                             [--admin URL | --config FILE] [--token JWT]   (token also from WECOM_FIREWALL_TOKEN)
                             --sha256: the digest \`show\` printed; approve counts only for those bytes
                             (required for a message that changed while parked: a bot stream that grew)
                             list filters: [--status S|all] [--robot NAME] [--rule NAME] [--caller X]
                                           [--since ISO] [--until ISO] [--limit N]   (default: pending)
`,
  audit: `  audit verify [--config FILE | --dir DIR] [--anchor SEQ:HASH] [--json]
                             check the audit log's hash chain across rotated files (exit 1 at the first bad record)
`,
  policy: `  policy history --config FILE     the last good policy sets, newest (in force) first
  policy rollback --config FILE [--to ID]
                             write a saved set back over the policy files (default: the one before
                             the newest); the running firewall reloads it on the file change or SIGHUP
  policy lint [PATH ...] [--config FILE] [--strict] [--json]
                             check a policy set (default: the config's policies, else the shipped
                             packs): errors (shadowed or dead rules, allow-everything, unknown
                             robots/apps/bots/callers with --config) exit 1; warnings only with --strict
  policy test [PATH ...] [--config FILE] [--fixtures FILE|DIR ...] [--coverage] [--verbose] [--json]
                             run the fixtures (PATH/fixtures/*.yaml, or --fixtures) against the set;
                             with no PATH and no --config: the shipped packs and their fixtures
  policy explain (--robot NAME | --app NAME | --bot NAME) [--route R] [--path P] [--caller C] [--msgtype M]
                 [--config FILE] [--json] PAYLOAD.json [PATH ...]
                             every rule considered for one request (PAYLOAD "-" reads stdin), why it
                             matched or not, and the decision
`,
  ca: `  ca init --config FILE      create the egress proxy's CA under <dataDir>/ca/ (no-op if it exists)
  ca export --config FILE    print the CA certificate (PEM) on stdout, its SHA-256 fingerprint on stderr
`,
  proxy: `  proxy check --config FILE [--caller NAME]
                             from the firewall's host: CONNECT to WeCom through egress.listen is
                             intercepted with a certificate of the CA, a loopback and the metadata
                             address are refused (as a caller of callers:, its token the only secret
                             read); then what each client sets. Exit 1 if a check fails
`,
} as const;

export type CommandName = keyof typeof USAGES;
