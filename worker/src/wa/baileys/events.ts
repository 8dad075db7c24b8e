// Maps a batch of Baileys events (as `sock.ev.process` hands them over) to our AccountEvents.
// Pure apart from a little per-connection memory (which history syncs were already reported).
//
// Identity: Baileys 7 names a person by a phone-number JID (`…@s.whatsapp.net`) or a LID
// (`…@lid`), and tells us the other one through a contact's `lid`/`phoneNumber` fields, a chat's
// `pnJid`/`lidJid`, a `lid-mapping.update` event, or its own `lid-mapping` key rows (see
// `storedMappingContacts`). A history sync's `lidPnMappings` never reaches us: Baileys stores them
// (rc14 lib/Utils/process-message.js, `storeLIDPNMappings` before emitting) and its event buffer
// rebuilds `messaging-history.set` without them (rc14 lib/Utils/event-buffer.js `append` and
// `consolidateEvents` copy chats, contacts, messages, syncType, progress, isLatest … only).
// Every pair becomes a ContactInfo with `alternateJid`, so the store can keep one row per person;
// pairs alone (key rows, `lid-mapping.update`) come as `identities` and only join known subjects.
//
// History synced: rc14 lib/Socket/chats.js emits `messaging-history.status` 'complete' when the
// history notification arrives (INITIAL_BOOTSTRAP at once, RECENT at progress 100) and 'paused'
// 120 s after the last RECENT chunk, but it is not a bufferable event, while the history itself
// (`messaging-history.set`, bufferable) is downloaded afterwards and flushed after the app-state
// sync. So a completion counts only once a history set has really arrived on this connection.

import { proto, toNumber, WAMessageStubType, type BaileysEventMap, type Chat, type Contact, type GroupMetadata, type LIDMapping, type WAMessage } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { parseJid, type Jid, type SubjectKind } from '../../jid.js';
import type { AccountEvent, ChatInfo, ContactInfo } from '../../avatars/ports.js';
import type { StoredLidMapping } from './auth-state.js';
import { maskJid } from './redact.js';

export type BaileysEventBatch = Partial<BaileysEventMap>;

const MS_PER_SECOND = 1000;
const HISTORY_COMPLETE_PERCENT = 100;

// History syncs whose end means "the account's contacts and chats are all here".
const REPORTED_SYNC_TYPES = new Set<number>([
  proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
  proto.HistorySync.HistorySyncType.RECENT,
]);

interface Subject {
  readonly jid: Jid;
  readonly kind: SubjectKind;
}

function nonEmpty(text: string | null | undefined): string | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

export class BaileysEventMapper {
  private historyArrived = false;
  private completionSeen = false;
  private syncReported = false;

  constructor(private readonly logger: Logger) {}

  /** A new socket: its history sync may be reported again. */
  resetForNewConnection(): void {
    this.historyArrived = false;
    this.completionSeen = false;
    this.syncReported = false;
  }

  /**
   * The history arrived on an earlier connection: rc14 lib/Socket/chats.js skips the history wait
   * when `creds.accountSyncCounter > 0` ("the server does not push history sync notifications").
   */
  historyFromEarlierConnection(): AccountEvent[] {
    if (this.syncReported) return [];
    this.syncReported = true;
    return [{ type: 'history-synced' }];
  }

  /** Baileys' stored LID ↔ phone-number pairs as contacts with their alternate identity. */
  storedMappingContacts(mappings: readonly StoredLidMapping[]): ContactInfo[] {
    const contacts: ContactInfo[] = [];
    for (const mapping of mappings) {
      const info = this.mappingInfo({ pn: `${mapping.phoneNumberUser}@s.whatsapp.net`, lid: `${mapping.lidUser}@lid` });
      if (info !== undefined) contacts.push(info);
    }
    return contacts;
  }

  map(batch: BaileysEventBatch): AccountEvent[] {
    const contacts = new Map<string, ContactInfo>();
    const chats = new Map<string, ChatInfo>();
    const pictures = new Map<Jid, boolean>();
    let historySynced = false;

    const addContact = (info: ContactInfo | undefined) => {
      if (info === undefined) return;
      const previous = contacts.get(info.jid);
      contacts.set(info.jid, previous === undefined ? info : mergeContact(previous, info));
    };
    // Baileys' event buffer folds a `contacts.update` into an upsert or history contact of the same
    // batch, so a picture notification's `imgUrl` can arrive on any of the three.
    const notePicture = (contact: Partial<Contact>) => {
      const removed = pictureRemoval(contact.imgUrl);
      if (removed === undefined) return;
      const subject = this.subject(contact.id, 'picture notification');
      if (subject !== undefined) pictures.set(subject.jid, removed);
    };
    const addChat = (info: ChatInfo | undefined) => {
      if (info === undefined) return;
      const previous = chats.get(info.jid);
      chats.set(info.jid, previous === undefined ? info : mergeChat(previous, info));
    };

    const history = batch['messaging-history.set'];
    if (history !== undefined) {
      for (const contact of history.contacts) {
        addContact(this.contactInfo(contact));
        notePicture(contact);
      }
      for (const chat of history.chats) {
        addChat(this.chatInfo(chat));
        addContact(this.chatAlternate(chat));
      }
      const syncType = history.syncType;
      if (syncType !== null && syncType !== undefined && syncType !== proto.HistorySync.HistorySyncType.ON_DEMAND) this.historyArrived = true;
      if (syncType === proto.HistorySync.HistorySyncType.RECENT && history.progress === HISTORY_COMPLETE_PERCENT) this.completionSeen = true;
    }
    const status = batch['messaging-history.status'];
    if (status !== undefined && (status.status === 'complete' || status.status === 'paused') && REPORTED_SYNC_TYPES.has(status.syncType ?? -1)) {
      this.completionSeen = true;
    }
    if (this.historyArrived && this.completionSeen && !this.syncReported) {
      this.syncReported = true;
      historySynced = true;
    }
    for (const contact of batch['contacts.upsert'] ?? []) {
      addContact(this.contactInfo(contact));
      notePicture(contact);
    }
    for (const update of batch['contacts.update'] ?? []) {
      if (hasContactFields(update)) addContact(this.contactInfo(update));
      notePicture(update);
    }
    const mapping = batch['lid-mapping.update'];
    const pair = mapping === undefined ? undefined : this.mappingInfo(mapping);
    for (const chat of batch['chats.upsert'] ?? []) {
      addChat(this.chatInfo(chat));
      addContact(this.chatAlternate(chat));
    }
    for (const update of batch['chats.update'] ?? []) {
      // Only updates that tell us something we keep: a name or new activity.
      if (nonEmpty(update.name) === undefined && lastActivity(update) === undefined) continue;
      addChat(this.chatInfo(update));
    }
    for (const group of batch['groups.upsert'] ?? []) addChat(this.groupInfo(group));
    for (const update of batch['groups.update'] ?? []) {
      if (nonEmpty(update.subject) === undefined && update.isCommunity !== true) continue;
      addChat(this.groupInfo(update));
    }
    for (const message of batch['messages.upsert']?.messages ?? []) {
      const change = this.groupIconChange(message);
      if (change !== undefined) pictures.set(change.jid, change.removed);
    }

    const events: AccountEvent[] = [];
    if (contacts.size > 0) events.push({ type: 'contacts', contacts: [...contacts.values()] });
    if (pair !== undefined) events.push({ type: 'identities', pairs: [pair] });
    if (chats.size > 0) events.push({ type: 'chats', chats: [...chats.values()] });
    for (const [jid, removed] of pictures) events.push({ type: 'picture-changed', jid, removed });
    if (historySynced) events.push({ type: 'history-synced' });
    return events;
  }

  private subject(raw: string | null | undefined, source: string): Subject | undefined {
    if (raw === null || raw === undefined || raw === '') return undefined;
    const parsed = parseJid(raw);
    if (!parsed.ok) {
      // Broadcast lists, channels, status and the like have no picture; a picture notification
      // without a sender carries a hash instead of a JID. Neither is an error.
      this.logger.trace({ jid: maskJid(raw), source, reason: maskJid(parsed.reason) }, 'skipped an address without a picture');
      return undefined;
    }
    return { jid: parsed.jid, kind: parsed.kind };
  }

  private alternateOf(primary: string, candidate: string | null | undefined): Jid | undefined {
    if (candidate === null || candidate === undefined || candidate === '') return undefined;
    const parsed = parseJid(candidate);
    if (!parsed.ok || parsed.kind !== 'contact' || parsed.jid === primary) return undefined;
    // Only a pair of a phone-number JID and a LID names one person twice.
    const primaryIsLid = primary.endsWith('@lid');
    const alternateIsLid = parsed.jid.endsWith('@lid');
    return primaryIsLid === alternateIsLid ? undefined : parsed.jid;
  }

  private contactInfo(contact: Partial<Contact>): ContactInfo | undefined {
    const subject = this.subject(contact.id, 'contact');
    // History syncs list group chats among the contacts; groups come through chats instead.
    if (subject === undefined || subject.kind !== 'contact') return undefined;
    const alternate = subject.jid.endsWith('@lid')
      ? this.alternateOf(subject.jid, contact.phoneNumber)
      : this.alternateOf(subject.jid, contact.lid);
    return compact({
      jid: subject.jid,
      name: nonEmpty(contact.name) ?? nonEmpty(contact.verifiedName),
      notify: nonEmpty(contact.notify),
      alternateJid: alternate,
    });
  }

  private mappingInfo(mapping: LIDMapping): ContactInfo | undefined {
    // The phone-number JID is the primary name of a mapping: it is what the user recognises.
    const subject = this.subject(mapping.pn, 'lid-mapping');
    if (subject === undefined || subject.kind !== 'contact') return undefined;
    const alternate = this.alternateOf(subject.jid, mapping.lid);
    return alternate === undefined ? undefined : { jid: subject.jid, alternateJid: alternate };
  }

  private chatAlternate(chat: Chat): ContactInfo | undefined {
    const subject = this.subject(chat.id, 'chat');
    if (subject === undefined || subject.kind !== 'contact') return undefined;
    const alternate = subject.jid.endsWith('@lid') ? this.alternateOf(subject.jid, chat.pnJid) : this.alternateOf(subject.jid, chat.lidJid);
    return alternate === undefined ? undefined : { jid: subject.jid, alternateJid: alternate };
  }

  private chatInfo(chat: Partial<Chat>): ChatInfo | undefined {
    const subject = this.subject(chat.id, 'chat');
    if (subject === undefined) return undefined;
    return compact({
      jid: subject.jid,
      kind: subject.kind,
      name: nonEmpty(chat.name) ?? nonEmpty(chat.displayName),
      lastActivityAt: lastActivity(chat),
      // A history sync's Conversation says whether the group is a community's parent
      // (`isParentGroup`, WAProto HistorySync Conversation field 35; whatsmeow reads the same field).
      community: subject.kind === 'group' && chat.isParentGroup === true ? true : undefined,
    });
  }

  private groupInfo(group: Partial<GroupMetadata>): ChatInfo | undefined {
    const subject = this.subject(group.id, 'group');
    if (subject === undefined || subject.kind !== 'group') return undefined;
    // rc14 lib/Socket/groups.js `extractGroupMetadata`: `isCommunity` is a `<parent>` child of the
    // group node; it arrives with `groups.upsert` (a group-create notification) and the
    // `groups.update` Baileys emits after its own fetch of all groups. No IQ of ours is needed.
    return compact<ChatInfo>({ jid: subject.jid, kind: 'group', name: nonEmpty(group.subject), community: group.isCommunity === true ? true : undefined });
  }

  private groupIconChange(message: WAMessage): { jid: Jid; removed: boolean } | undefined {
    if (message.messageStubType !== WAMessageStubType.GROUP_CHANGE_ICON) return undefined;
    const subject = this.subject(message.key?.remoteJid, 'group icon');
    if (subject === undefined || subject.kind !== 'group') return undefined;
    // Baileys puts the new picture's id in the stub parameters; a removed icon has none.
    const removed = (message.messageStubParameters ?? []).length === 0;
    return { jid: subject.jid, removed };
  }
}

/** `'changed'` (or a URL) → a new picture; `'removed'` or `null` → none; absent → no news. */
function pictureRemoval(imgUrl: string | null | undefined): boolean | undefined {
  if (imgUrl === undefined) return undefined;
  if (imgUrl === null || imgUrl === 'removed') return true;
  return false;
}

function hasContactFields(update: Partial<Contact>): boolean {
  return (
    nonEmpty(update.name) !== undefined ||
    nonEmpty(update.notify) !== undefined ||
    nonEmpty(update.verifiedName) !== undefined ||
    nonEmpty(update.lid) !== undefined ||
    nonEmpty(update.phoneNumber) !== undefined
  );
}

function lastActivity(chat: Partial<Chat>): number | undefined {
  const seconds = Math.max(toNumber(chat.conversationTimestamp ?? 0), chat.lastMessageRecvTimestamp ?? 0);
  return seconds > 0 ? seconds * MS_PER_SECOND : undefined;
}

/** Drops undefined fields so a merge or the store never overwrites a known value with nothing. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function mergeContact(previous: ContactInfo, next: ContactInfo): ContactInfo {
  return { ...previous, ...compact(next) };
}

function mergeChat(previous: ChatInfo, next: ChatInfo): ChatInfo {
  const lastActivityAt = Math.max(previous.lastActivityAt ?? 0, next.lastActivityAt ?? 0);
  return compact({ ...previous, ...compact(next), lastActivityAt: lastActivityAt > 0 ? lastActivityAt : undefined });
}
