import { AppMediaStore } from './app-media.js';
import { AppDirectory } from './apps.js';
import { APPCHAT_WINDOWS, MemberLimit, MESSAGE_WINDOWS } from './member-limit.js';
import { TokenStore } from './tokens.js';
import type { AdminCall, AppConfig, AppMessage } from './types.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 7200;

/** What the self-built-app API remembers. Part of SimulatorState. */
export class AppState {
  readonly apps: AppDirectory;
  readonly tokens: TokenStore;
  readonly media = new AppMediaStore();
  readonly messageLimit = new MemberLimit(MESSAGE_WINDOWS);
  readonly chatLimit = new MemberLimit(APPCHAT_WINDOWS);
  readonly #chats: ReadonlyMap<string, readonly string[]> | undefined;
  #messages: AppMessage[] = [];
  #adminCalls: AdminCall[] = [];
  #tokenRequests = 0;

  constructor(apps: readonly AppConfig[] | undefined, tokenTtlSeconds: number, chats: Record<string, string[]> | undefined) {
    if (!Number.isSafeInteger(tokenTtlSeconds) || tokenTtlSeconds <= 0) {
      throw new RangeError(`tokenTtlSeconds must be a positive integer, got ${tokenTtlSeconds}`);
    }
    this.apps = new AppDirectory(apps);
    this.tokens = new TokenStore(tokenTtlSeconds);
    this.#chats = chatDirectory(chats);
  }

  /** A chat's members; [] for any chatid when no chats are configured; undefined for an unknown chat. */
  chatMembers(chatid: string): readonly string[] | undefined {
    return this.#chats ? this.#chats.get(chatid) : [];
  }

  countTokenRequest(): void {
    this.#tokenRequests += 1;
  }

  tokenRequests(): number {
    return this.#tokenRequests;
  }

  recordMessage(message: AppMessage): void {
    this.#messages.push(message);
  }

  messages(): AppMessage[] {
    return [...this.#messages];
  }

  recordAdminCall(call: AdminCall): void {
    this.#adminCalls.push(call);
  }

  adminCalls(): AdminCall[] {
    return [...this.#adminCalls];
  }

  /** Tokens survive a reset: clients cache them across tests. */
  reset(): void {
    this.#messages = [];
    this.#adminCalls = [];
    this.#tokenRequests = 0;
    this.media.clear();
    this.messageLimit.clear();
    this.chatLimit.clear();
  }
}

function chatDirectory(chats: Record<string, string[]> | undefined): ReadonlyMap<string, readonly string[]> | undefined {
  if (chats === undefined) return undefined;
  if (typeof chats !== 'object' || chats === null) throw new RangeError('chats must be an object of chatid → userids');
  const entries = Object.entries(chats);
  for (const [chatid, members] of entries) {
    if (!Array.isArray(members) || !members.every((id) => typeof id === 'string')) {
      throw new RangeError(`chats[${JSON.stringify(chatid)}] must be an array of userids`);
    }
  }
  return entries.length > 0 ? new Map(entries.map(([chatid, members]) => [chatid, [...new Set(members)]])) : undefined;
}
