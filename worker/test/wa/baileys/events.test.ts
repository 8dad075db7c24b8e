import { makeEventBuffer, proto, WAMessageStubType, type BaileysEventMap, type Chat, type Contact, type WAMessage } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AccountEvent } from '../../../src/avatars/ports.js';
import { BaileysEventMapper } from '../../../src/wa/baileys/events.js';

const silent = pino({ level: 'silent' });

const PN = '491701234567@s.whatsapp.net';
const LID = '123456789012345@lid';
const PN_2 = '4915112345678@s.whatsapp.net';
const GROUP = '120363025246125486@g.us';
const SECONDS = 1_767_225_600;

/** Baileys' real event buffer feeding the mapper, as the account wires it. */
function harness() {
  const ev = makeEventBuffer(silent);
  const mapper = new BaileysEventMapper(silent);
  const events: AccountEvent[] = [];
  ev.process((batch) => {
    events.push(...mapper.map(batch));
  });
  return {
    ev,
    mapper,
    events,
    /** Emits inside one buffered batch, as Baileys does while it processes a notification. */
    batch(run: () => void) {
      ev.buffer();
      run();
      ev.flush();
    },
    done() {
      ev.destroy();
    },
  };
}

function history(extra: Partial<BaileysEventMap['messaging-history.set']>): BaileysEventMap['messaging-history.set'] {
  return { chats: [], contacts: [], messages: [], ...extra };
}

function ofType<T extends AccountEvent['type']>(events: AccountEvent[], type: T): Extract<AccountEvent, { type: T }>[] {
  return events.filter((event): event is Extract<AccountEvent, { type: T }> => event.type === type);
}

test('a history sync yields contacts with their alternate identity and chats with activity in ms', () => {
  const h = harness();
  const chats: Chat[] = [
    proto.Conversation.fromObject({ id: LID, pnJid: PN, conversationTimestamp: SECONDS, name: 'Ada' }) as Chat,
    proto.Conversation.fromObject({ id: GROUP, name: 'Family', conversationTimestamp: SECONDS + 60 }) as Chat,
    proto.Conversation.fromObject({ id: 'status@broadcast', conversationTimestamp: SECONDS }) as Chat,
  ];
  // What Baileys' processHistoryMessage makes of those conversations, plus a push name.
  const contacts: Contact[] = [
    { id: LID, name: 'Ada', phoneNumber: PN },
    { id: GROUP, name: 'Family' },
    { id: 'status@broadcast' },
    { id: PN_2, notify: 'Bob' },
  ];
  h.batch(() => h.ev.emit('messaging-history.set', history({ chats, contacts, syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, progress: 10 })));
  assert.equal(ofType(h.events, 'contacts'), [
    {
      type: 'contacts',
      contacts: [
        { jid: LID, name: 'Ada', alternateJid: PN },
        { jid: PN_2, notify: 'Bob' },
      ],
    },
  ]);
  assert.equal(ofType(h.events, 'chats'), [
    {
      type: 'chats',
      chats: [
        { jid: LID, kind: 'contact', name: 'Ada', lastActivityAt: SECONDS * 1000 },
        { jid: GROUP, kind: 'group', name: 'Family', lastActivityAt: (SECONDS + 60) * 1000 },
      ],
    },
  ]);
  assert.equal(ofType(h.events, 'history-synced'), [], 'a bootstrap chunk alone is not the end of the sync');
  h.done();
});

test('history-synced waits for the history itself: a completion status alone, as Baileys emits it first, is not enough', () => {
  const h = harness();
  // rc14 chats.js emits the status when the notification arrives, before the buffered set.
  h.ev.emit('messaging-history.status', { syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, status: 'complete', explicit: true });
  assert.is(ofType(h.events, 'history-synced').length, 0, 'no history has arrived yet');
  h.batch(() => h.ev.emit('messaging-history.set', history({ contacts: [{ id: PN_2, notify: 'Bob' }], syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, progress: 40 })));
  assert.is(ofType(h.events, 'history-synced').length, 1, 'the history arrived after its completion');
  h.ev.emit('messaging-history.status', { syncType: proto.HistorySync.HistorySyncType.RECENT, status: 'complete', explicit: true });
  assert.is(ofType(h.events, 'history-synced').length, 1, 'once per connection');
  h.mapper.resetForNewConnection();
  h.ev.emit('messaging-history.set', history({ syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 100 }));
  assert.is(ofType(h.events, 'history-synced').length, 2, 'a RECENT chunk at 100 % is both the history and its end');
  h.mapper.resetForNewConnection();
  h.ev.emit('messaging-history.status', { syncType: proto.HistorySync.HistorySyncType.PUSH_NAME, status: 'complete', explicit: true });
  h.ev.emit('messaging-history.set', history({ syncType: proto.HistorySync.HistorySyncType.ON_DEMAND, progress: 100 }));
  assert.is(ofType(h.events, 'history-synced').length, 2, 'push names and on-demand history are not the initial sync');
  h.ev.emit('messaging-history.set', history({ syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 50 }));
  h.ev.emit('messaging-history.status', { syncType: proto.HistorySync.HistorySyncType.RECENT, status: 'paused', explicit: false });
  assert.is(ofType(h.events, 'history-synced').length, 3, "Baileys' 120 s pause ends a RECENT sync that stopped short");
  h.done();
});

test('a reconnection reports the history of an earlier connection once', () => {
  const h = harness();
  assert.equal(h.mapper.historyFromEarlierConnection(), [{ type: 'history-synced' }]);
  assert.equal(h.mapper.historyFromEarlierConnection(), []);
  h.done();
});

test("lidPnMappings do not survive Baileys' event buffer: the pairs come from its stored rows", () => {
  const h = harness();
  h.batch(() =>
    h.ev.emit('messaging-history.set', {
      ...history({ syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, contacts: [{ id: PN_2, notify: 'Bob' }] }),
      lidPnMappings: [{ lid: LID, pn: PN }],
    }),
  );
  assert.equal(ofType(h.events, 'contacts'), [{ type: 'contacts', contacts: [{ jid: PN_2, notify: 'Bob' }] }], 'rc14 event-buffer.js consolidateEvents drops them');
  assert.equal(
    h.mapper.storedMappingContacts([
      { phoneNumberUser: '491701234567', lidUser: '123456789012345' },
      { phoneNumberUser: 'not-a-number', lidUser: '1' },
    ]),
    [{ jid: PN, alternateJid: LID }],
  );
  h.done();
});

test('communities: a history conversation with isParentGroup and group metadata with isCommunity', () => {
  const h = harness();
  const community = '120363000000000001@g.us';
  h.batch(() =>
    h.ev.emit(
      'messaging-history.set',
      history({ chats: [proto.Conversation.fromObject({ id: community, name: 'Street', isParentGroup: true }) as Chat, proto.Conversation.fromObject({ id: GROUP, name: 'Family' }) as Chat] }),
    ),
  );
  h.ev.emit('groups.upsert', [{ id: GROUP, subject: 'Family', owner: PN, participants: [], isCommunity: true }]);
  h.ev.emit('groups.update', [{ id: community, isCommunity: true }]);
  assert.equal(ofType(h.events, 'chats'), [
    { type: 'chats', chats: [{ jid: community, kind: 'group', name: 'Street', community: true }, { jid: GROUP, kind: 'group', name: 'Family' }] },
    { type: 'chats', chats: [{ jid: GROUP, kind: 'group', name: 'Family', community: true }] },
    { type: 'chats', chats: [{ jid: community, kind: 'group', community: true }] },
  ]);
  h.done();
});

test("contacts.update with imgUrl 'changed'/'removed' becomes picture-changed, normalised", () => {
  const h = harness();
  h.ev.emit('contacts.update', [
    { id: '491701234567:12@s.whatsapp.net', imgUrl: 'changed' },
    { id: LID, imgUrl: 'removed' },
    { id: '120363999999999999@newsletter', imgUrl: 'changed' },
    // A picture notification without a sender: Baileys puts a hash where the JID should be.
    { id: 'Xy12+abc=', imgUrl: 'changed' },
    { id: PN_2, notify: 'Bob' },
  ]);
  assert.equal(ofType(h.events, 'picture-changed'), [
    { type: 'picture-changed', jid: PN, removed: false },
    { type: 'picture-changed', jid: LID, removed: true },
  ]);
  assert.equal(ofType(h.events, 'contacts'), [{ type: 'contacts', contacts: [{ jid: PN_2, notify: 'Bob' }] }]);
  h.done();
});

test('a group icon change, emitted the way Baileys processes a picture notification, gives one event', () => {
  const h = harness();
  const stub = (parameters: string[]) =>
    proto.WebMessageInfo.fromObject({
      key: { remoteJid: GROUP, fromMe: false, id: 'ABC', participant: PN },
      messageStubType: WAMessageStubType.GROUP_CHANGE_ICON,
      messageStubParameters: parameters,
      messageTimestamp: SECONDS,
    }) as WAMessage;
  h.batch(() => {
    h.ev.emit('contacts.update', [{ id: GROUP, imgUrl: 'changed' }]);
    h.ev.emit('messages.upsert', { messages: [stub(['1718000001'])], type: 'append' });
  });
  assert.equal(ofType(h.events, 'picture-changed'), [{ type: 'picture-changed', jid: GROUP, removed: false }]);
  h.events.length = 0;
  h.ev.emit('messages.upsert', { messages: [stub([])], type: 'append' });
  assert.equal(ofType(h.events, 'picture-changed'), [{ type: 'picture-changed', jid: GROUP, removed: true }], 'no new id: the icon was removed');
  h.done();
});

test('other stubs and ordinary messages are not picture changes', () => {
  const h = harness();
  const message = proto.WebMessageInfo.fromObject({ key: { remoteJid: GROUP, id: 'X' }, messageStubType: WAMessageStubType.GROUP_CHANGE_SUBJECT, messageStubParameters: ['New'] }) as WAMessage;
  h.ev.emit('messages.upsert', { messages: [message], type: 'notify' });
  assert.equal(h.events, []);
  h.done();
});

test('lid-mapping.update and contact lid fields give one identity per person', () => {
  const h = harness();
  h.ev.emit('lid-mapping.update', { lid: '123456789012345:3@lid', pn: '491701234567:3@s.whatsapp.net' });
  h.ev.emit('contacts.upsert', [{ id: PN_2, name: 'Bob', lid: '987654321098765@lid' }]);
  // Not a pair: two phone numbers cannot name one person.
  h.ev.emit('contacts.upsert', [{ id: PN, lid: PN_2 }]);
  // A pair alone only joins identities the store knows; a contact's own fields make a contact.
  assert.equal(ofType(h.events, 'identities'), [{ type: 'identities', pairs: [{ jid: PN, alternateJid: LID }] }]);
  assert.equal(ofType(h.events, 'contacts'), [
    { type: 'contacts', contacts: [{ jid: PN_2, name: 'Bob', alternateJid: '987654321098765@lid' }] },
    { type: 'contacts', contacts: [{ jid: PN }] },
  ]);
  h.done();
});

test('groups.upsert and subject updates become chats; other group updates are ignored', () => {
  const h = harness();
  h.ev.emit('groups.upsert', [{ id: GROUP, subject: 'Family', owner: PN, participants: [] }]);
  h.ev.emit('groups.update', [{ id: GROUP, subject: 'Family 2' }, { id: GROUP, announce: true }]);
  assert.equal(ofType(h.events, 'chats'), [
    { type: 'chats', chats: [{ jid: GROUP, kind: 'group', name: 'Family' }] },
    { type: 'chats', chats: [{ jid: GROUP, kind: 'group', name: 'Family 2' }] },
  ]);
  h.done();
});

test('chats.upsert and activity updates carry lastActivityAt; updates without news are dropped', () => {
  const h = harness();
  h.ev.emit('chats.upsert', [{ id: PN, conversationTimestamp: SECONDS, lidJid: LID }]);
  h.ev.emit('chats.update', [{ id: PN, unreadCount: 3 }, { id: PN_2, conversationTimestamp: SECONDS + 5 }]);
  assert.equal(h.events, [
    { type: 'contacts', contacts: [{ jid: PN, alternateJid: LID }] },
    { type: 'chats', chats: [{ jid: PN, kind: 'contact', lastActivityAt: SECONDS * 1000 }] },
    { type: 'chats', chats: [{ jid: PN_2, kind: 'contact', lastActivityAt: (SECONDS + 5) * 1000 }] },
  ]);
  h.done();
});

test('one buffered batch merges what it says about one contact', () => {
  const h = harness();
  h.batch(() => {
    h.ev.emit('contacts.upsert', [{ id: PN, name: 'Ada' }]);
    h.ev.emit('contacts.update', [{ id: PN, notify: 'ada', imgUrl: 'changed' }]);
  });
  assert.equal(h.events, [
    { type: 'contacts', contacts: [{ jid: PN, name: 'Ada', notify: 'ada' }] },
    { type: 'picture-changed', jid: PN, removed: false },
  ]);
  h.done();
});

test("a picture notification folded by Baileys' buffer into a history contact is not lost", () => {
  const h = harness();
  h.batch(() => {
    h.ev.emit('messaging-history.set', history({ contacts: [{ id: PN, name: 'Ada' }], syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 50 }));
    h.ev.emit('contacts.update', [{ id: PN, imgUrl: 'changed' }]);
  });
  assert.equal(ofType(h.events, 'picture-changed'), [{ type: 'picture-changed', jid: PN, removed: false }]);
  h.done();
});

test.run();
