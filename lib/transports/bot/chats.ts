import { LRUCache } from 'lru-cache';
import { isObject } from './frames.js';

// What the firewall remembers of WeCom's inbound callbacks, so a reply (which names only the req_id
// it answers) can be judged by the chat it goes to, and an approved reply whose req_id can no longer
// be answered can go to the same chat as a new message. Bounded: the oldest are forgotten first.

export interface Chat {
  /** The group chat's id, or for a single chat the user's id (what aibot_send_msg takes as chatid). */
  chatid?: string;
  chattype?: 'single' | 'group';
  userid?: string;
  /** When the callback arrived (ms since the epoch): a stream can be answered for 6 minutes after it. */
  at: number;
}

/** WeCom lets a stream answer its callback for 6 minutes (errcode 846608 after). */
export const STREAM_WINDOW_MS = 6 * 60_000;

export class ChatMemory {
  private readonly byReqId = new LRUCache<string, Chat>({ max: 20_000, ttl: 24 * 60 * 60_000 });
  private readonly types = new LRUCache<string, 'single' | 'group'>({ max: 20_000 });

  /** Remembers a callback's chat by its req_id; returns it for the audit (metadata only). */
  remember(botAlias: string, reqId: string, body: unknown): Chat {
    const b = isObject(body) ? body : {};
    const from = isObject(b.from) ? b.from : {};
    const userid = typeof from.userid === 'string' ? from.userid : undefined;
    const chattype = b.chattype === 'group' || b.chattype === 'single' ? b.chattype : undefined;
    const chatid = typeof b.chatid === 'string' && b.chatid ? b.chatid : userid;
    const chat: Chat = { chatid, chattype, userid, at: Date.now() };
    this.byReqId.set(`${botAlias}\0${reqId}`, chat);
    if (chatid && chattype) this.types.set(`${botAlias}\0${chatid}`, chattype);
    return chat;
  }

  answering(botAlias: string, reqId: string): Chat | undefined {
    return this.byReqId.get(`${botAlias}\0${reqId}`);
  }

  typeOf(botAlias: string, chatid: string): 'single' | 'group' | undefined {
    return this.types.get(`${botAlias}\0${chatid}`);
  }
}
