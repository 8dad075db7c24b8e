// A community learned from Baileys' events travels through the store to the picture query, which
// then asks the w:g2 way (whatsmeow user.go GetProfilePictureInfo, IsCommunity), never the plain
// query whose 401 would store the community as hidden.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto, type BinaryNode, type Chat } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AvatarJob } from '../../../src/avatars/model.js';
import { queryDownloadAndStorePicture } from '../../../src/worker/query-download-store.js';
import { openDatabase } from '../../../src/store/database.js';
import { SubjectStore } from '../../../src/store/subjects.js';
import type { PictureDownloader, PictureFiles, PictureQueryHints, PictureQueryOutcome, WhatsAppAccount } from '../../../src/avatars/ports.js';
import { BaileysEventMapper } from '../../../src/wa/baileys/events.js';
import { queryPicture } from '../../../src/wa/baileys/picture-query.js';
import { withCheckedAnswers } from '../../../src/avatars/answer-check.js';

const silent = pino({ level: 'silent' });
const COMMUNITY = '120363000000000001@g.us';
const GROUP = '120363025246125486@g.us';

/** Runs the adapter's real query builder and classifier over a socket that answers like WhatsApp. */
class CommunityAwareAccount implements WhatsAppAccount {
  readonly sent: BinaryNode[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onEvent(): () => void {
    return () => undefined;
  }
  async queryPicture(jid: string, knownPictureId: string | undefined, timeoutMs: number, hints?: PictureQueryHints): Promise<PictureQueryOutcome> {
    const socket = {
      query: async (node: BinaryNode): Promise<unknown> => {
        this.sent.push(node);
        // whatsmeow's doc comment: a community asked the plain way "may get a 401".
        if (node.attrs.xmlns !== 'w:g2' && jid === COMMUNITY) throw Object.assign(new Error('not-authorized'), { isBoom: true, data: 401 });
        return { tag: 'iq', attrs: { type: 'result' }, content: [{ tag: 'pictures', attrs: {}, content: [] }] };
      },
    };
    return queryPicture(socket, { jid, pictureType: 'image', knownPictureId, community: hints?.community === true }, timeoutMs);
  }
}

const job = (jid: string): AvatarJob => ({ jid, kind: 'group', reason: 'never-fetched', priority: 0, rank: 0, force: false, attempts: 0, notBefore: 0, seq: 1, enqueuedAt: 0 }) as AvatarJob;

test('a community from a history sync is stored as one and its picture is asked the community way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'community-'));
  const db = openDatabase(dir);
  try {
    const mapper = new BaileysEventMapper(silent);
    const chats = [proto.Conversation.fromObject({ id: COMMUNITY, name: 'Street', isParentGroup: true }) as Chat, proto.Conversation.fromObject({ id: GROUP, name: 'Family' }) as Chat];
    const store = new SubjectStore(db);
    for (const event of mapper.map({ 'messaging-history.set': { chats, contacts: [], messages: [] } })) {
      if (event.type === 'chats') store.upsertChats(event.chats, 1);
    }
    const account = new CommunityAwareAccount();
    const deps = { account: withCheckedAnswers(account), files: {} as PictureFiles, downloadPicture: (async () => assert.unreachable('no download expected')) as unknown as PictureDownloader };
    const { resolution: community } = await queryDownloadAndStorePicture(store.get(COMMUNITY)!, job(COMMUNITY), deps, () => undefined);
    assert.is(account.sent[0]!.attrs.xmlns, 'w:g2');
    assert.is.not(community.kind, 'hidden');
    assert.is(community.kind === 'refused' && community.reason, 'unreadable-answer', 'an empty <pictures> to a query without an id is no verdict');
    await queryDownloadAndStorePicture(store.get(GROUP)!, job(GROUP), deps, () => undefined);
    assert.is(account.sent[1]!.attrs.xmlns, 'w:profile:picture', 'an ordinary group is asked the ordinary way');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
