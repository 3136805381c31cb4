import type { AppConfig } from './types.js';

// The self-built applications the simulator knows, checked once at start so a typo in a test's
// options fails loudly instead of surfacing later as a puzzling 40013.

export interface App {
  corpId: string;
  agentId: number;
  /** `${corpId}/${agentId}`: the per-app key of rate windows. */
  id: string;
  /** undefined: open, every userid is in the visible range. */
  users: ReadonlySet<string> | undefined;
  parties: ReadonlySet<number> | undefined;
  tags: ReadonlySet<number> | undefined;
}

export type Credentials = { app: App } | { errcode: number };

export class AppDirectory {
  /** corpId → corpSecret → app. A corp has many apps, each with its own secret. */
  readonly #corps = new Map<string, Map<string, App>>();

  constructor(configs: readonly AppConfig[] = []) {
    const agents = new Set<string>();
    for (const [index, config] of configs.entries()) {
      const app = toApp(config, index);
      if (agents.has(app.id)) throw new RangeError(`apps[${index}]: agentId ${app.agentId} is already used in corp ${app.corpId}`);
      agents.add(app.id);
      const secrets = this.#corps.get(app.corpId) ?? new Map<string, App>();
      if (secrets.has(config.corpSecret)) throw new RangeError(`apps[${index}]: corpSecret is already used in corp ${app.corpId}`);
      secrets.set(config.corpSecret, app);
      this.#corps.set(app.corpId, secrets);
    }
  }

  /** gettoken's lookup: an unknown corpid is 40013, a secret of no app in that corp is 40001. */
  authenticate(corpId: string, corpSecret: string): Credentials {
    const secrets = this.#corps.get(corpId);
    if (!secrets) return { errcode: 40013 };
    const app = secrets.get(corpSecret);
    return app ? { app } : { errcode: 40001 };
  }
}

function toApp(config: AppConfig, index: number): App {
  const where = `apps[${index}]`;
  if (typeof config !== 'object' || config === null) throw new RangeError(`${where} must be an object`);
  const { corpId, corpSecret, agentId } = config;
  if (typeof corpId !== 'string' || corpId === '') throw new RangeError(`${where}.corpId must be a non-empty string`);
  if (typeof corpSecret !== 'string' || corpSecret === '') throw new RangeError(`${where}.corpSecret must be a non-empty string`);
  if (!Number.isSafeInteger(agentId)) throw new RangeError(`${where}.agentId must be an integer, got ${String(agentId)}`);
  return {
    corpId,
    agentId,
    id: `${corpId}/${agentId}`,
    users: visibleRange(config.users, `${where}.users`, (id): id is string => typeof id === 'string' && id !== ''),
    parties: visibleRange(config.parties, `${where}.parties`, Number.isSafeInteger as (id: unknown) => id is number),
    tags: visibleRange(config.tags, `${where}.tags`, Number.isSafeInteger as (id: unknown) => id is number),
  };
}

/** Like `keys`: an empty list means open, not "nobody". */
function visibleRange<T>(list: readonly T[] | undefined, where: string, isId: (id: unknown) => id is T): ReadonlySet<T> | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || !list.every(isId)) throw new RangeError(`${where} must be an array of ids`);
  return list.length > 0 ? new Set(list) : undefined;
}
