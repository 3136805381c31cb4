import { parseListen } from '../config/load.js';
import { readYaml } from '../yaml-source.js';
import { UsageError, parseCommand } from './args.js';

// `wecom-firewall approvals list|show|approve|reject`: the admin API from a terminal. The approver's
// token comes from --token or WECOM_FIREWALL_TOKEN (never a config file: it is the approver's, not
// the firewall's); the admin address from --admin, or from the config file's admin.listen.

const FILTERS = ['status', 'robot', 'rule', 'caller', 'since', 'until', 'limit'] as const;

interface ApprovalView {
  id: string;
  status: string;
  robot?: string;
  app?: string;
  bot?: string;
  route: string;
  msgtype: string | null;
  rule: string;
  caller: string;
  created_at: string;
  expires_at: string;
}

export async function approvalsCommand(args: string[], out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: {
      admin: { type: 'string' },
      config: { type: 'string', short: 'c' },
      token: { type: 'string' },
      comment: { type: 'string' },
      sha256: { type: 'string' },
      status: { type: 'string' },
      robot: { type: 'string' },
      rule: { type: 'string' },
      caller: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const [verb, id] = positionals;
  const token = values.token ?? env.WECOM_FIREWALL_TOKEN;
  if (!verb || !['list', 'show', 'approve', 'reject'].includes(verb) || (verb !== 'list' && !id)) throw new UsageError('approvals needs list, or show/approve/reject with an id');
  if (!token) throw new UsageError('approvals needs --token or WECOM_FIREWALL_TOKEN');
  const base = values.admin ?? adminUrlOf(values.config);
  const request = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${base.replace(/\/$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json().catch(() => ({}))) as { errcode?: number; errmsg?: string; approvals?: ApprovalView[]; approval?: ApprovalView };
    return { status: res.status, json };
  };

  const answer =
    verb === 'list'
      ? await request('GET', `/approvals?${new URLSearchParams(FILTERS.flatMap((f) => (values[f] === undefined ? [] : [[f, values[f]]])))}`)
      : verb === 'show'
        ? await request('GET', `/approvals/${encodeURIComponent(id!)}`)
        : await request('POST', `/approvals/${encodeURIComponent(id!)}/${verb}`, { ...(values.comment ? { comment: values.comment } : {}), ...(values.sha256 ? { sha256: values.sha256 } : {}) });
  if (answer.status >= 400) {
    out(`error: HTTP ${answer.status}, errcode ${answer.json.errcode ?? '?'}: ${answer.json.errmsg ?? ''}\n`);
    if (answer.json.approval) out(`${JSON.stringify(answer.json.approval, null, 2)}\n`);
    return 1;
  }
  if (verb === 'list') {
    const rows = answer.json.approvals ?? [];
    if (!rows.length) out(`no approvals ${values.status && values.status !== 'pending' ? 'match' : 'pending'}\n`);
    for (const a of rows) out(`${a.id}  ${a.status.padEnd(8)}  ${a.created_at}  ${a.robot ? `robot ${a.robot}` : a.bot ? `bot ${a.bot}` : `app ${a.app ?? '?'}`}  ${a.msgtype ?? a.route}  rule ${a.rule}  from ${a.caller}  expires ${a.expires_at}\n`);
  } else out(`${JSON.stringify(answer.json.approval, null, 2)}\n`);
  return 0;
}

/** admin.listen from the config file, read without resolving its secrets (this user may not hold them). */
function adminUrlOf(configFile: string | undefined): string {
  if (!configFile) throw new UsageError('approvals needs --admin URL or --config FILE');
  const data = readYaml(configFile).data as { admin?: { listen?: string | number } } | null;
  if (!data?.admin) throw new UsageError(`${configFile} has no admin: section`);
  const { host, port } = parseListen(data.admin.listen ?? '127.0.0.1:8081');
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
