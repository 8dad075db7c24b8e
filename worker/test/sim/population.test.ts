import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJid } from '../../src/jid.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { createPopulation } from '../../src/sim/population.js';

const SUBJECTS = 2_000;

test('the same seed gives the same population; another seed a different one', () => {
  const first = createPopulation({ seed: 7, subjects: 300 });
  const second = createPopulation({ seed: 7, subjects: 300 });
  const other = createPopulation({ seed: 8, subjects: 300 });
  assert.equal(first.subjects, second.subjects);
  assert.equal(first.changes, second.changes);
  assert.not.equal(
    first.subjects.map((subject) => subject.jid),
    other.subjects.map((subject) => subject.jid),
  );
});

test('JIDs are valid, normalised and unique; groups are 18-digit @g.us ids', () => {
  const population = createPopulation({ seed: 11, subjects: SUBJECTS });
  const jids = population.subjects.map((subject) => subject.jid);
  assert.is(new Set(jids).size, SUBJECTS);
  for (const subject of population.subjects) {
    const parsed = parseJid(subject.jid);
    assert.ok(parsed.ok && parsed.jid === subject.jid && parsed.kind === subject.kind, subject.jid);
    if (subject.kind === 'group') assert.match(subject.jid, /^[0-9]{18}@g\.us$/);
    else assert.match(subject.jid, /^[0-9]{11,13}@s\.whatsapp\.net$/);
  }
});

test('the mix of groups, pictures, hidden pictures and chats is roughly as planned', () => {
  const population = createPopulation({ seed: 12, subjects: SUBJECTS });
  const share = (predicate: (index: number) => boolean) => population.subjects.filter((_, index) => predicate(index)).length / SUBJECTS;
  const initial = population.subjects.map((subject) => subject.timeline[0]!.kind);
  assert.is(population.subjects.filter((subject) => subject.kind === 'group').length, Math.round(SUBJECTS * 0.15));
  const pictures = share((index) => initial[index] === 'picture');
  const none = share((index) => initial[index] === 'none');
  const hidden = share((index) => initial[index] === 'hidden');
  assert.ok(pictures > 0.64 && pictures < 0.76, `pictures ${pictures}`);
  assert.ok(none > 0.16 && none < 0.24, `none ${none}`);
  assert.ok(hidden > 0.07 && hidden < 0.13, `hidden ${hidden}`);
  const contacts = population.subjects.filter((subject) => subject.kind === 'contact');
  const withChat = contacts.filter((subject) => subject.chat !== undefined).length / contacts.length;
  assert.ok(withChat > 0.34 && withChat < 0.46, `contacts with a chat ${withChat}`);
  assert.ok(population.subjects.filter((subject) => subject.kind === 'group').every((group) => group.chat !== undefined && group.name !== undefined));
});

test('picture changes are bounded, within the first pass, and agree with the timelines', () => {
  const population = createPopulation({ seed: 13, subjects: SUBJECTS });
  const changing = new Set(population.changes.map((change) => change.jid));
  assert.is(changing.size, Math.round(SUBJECTS * 0.03));
  for (const jid of changing) {
    const own = population.changes.filter((change) => change.jid === jid);
    assert.ok(own.length >= 1 && own.length <= 2, `${jid} changes ${own.length} times`);
    const subject = population.subject(jid)!;
    assert.is(subject.timeline.length, own.length + 1);
    assert.is.not(subject.timeline[0]!.kind, 'hidden');
    own.forEach((change, index) => {
      assert.equal(population.pictureAfterQueries(jid, change.atQuery), subject.timeline[index + 1]);
      assert.equal(population.pictureAfterQueries(jid, change.atQuery - 1), subject.timeline[index]);
      assert.is(change.removed, change.picture.kind === 'none' && subject.timeline[index]!.kind === 'picture');
    });
  }
  for (const change of population.changes) {
    assert.ok(change.atQuery >= SUBJECTS * 0.1 && change.atQuery <= SUBJECTS * 0.8, `change at ${change.atQuery}`);
  }
  const sorted = [...population.changes].sort((a, b) => a.atQuery - b.atQuery);
  assert.equal(population.changes.map((change) => change.atQuery), sorted.map((change) => change.atQuery));
  for (const subject of population.subjects) {
    assert.equal(population.finalPicture(subject.jid), population.pictureAfterQueries(subject.jid, Number.MAX_SAFE_INTEGER));
  }
});

test('a new picture version has a new id; finalSha256 matches the rendered final picture', () => {
  const population = createPopulation({ seed: 14, subjects: SUBJECTS });
  const versions = population.changes.filter((change) => change.picture.kind === 'picture');
  assert.ok(versions.length > 0, 'expected at least one new version');
  for (const change of versions) {
    const ids = population
      .subject(change.jid)!
      .timeline.flatMap((picture) => (picture.kind === 'picture' ? [picture.pictureId] : []));
    assert.is(new Set(ids).size, ids.length);
  }
  const withPicture = population.subjects.find((subject) => population.finalPicture(subject.jid)?.kind === 'picture')!;
  const final = population.finalPicture(withPicture.jid);
  const expected = final?.kind === 'picture' ? createHash('sha256').update(renderPicture(withPicture.jid, final.pictureId)).digest('hex') : '';
  assert.is(population.finalSha256(withPicture.jid), expected);
  const withoutPicture = population.subjects.find((subject) => population.finalPicture(subject.jid)?.kind !== 'picture')!;
  assert.is(population.finalSha256(withoutPicture.jid), undefined);
});

test('contacts() and chats() describe the address book and the chats', () => {
  const population = createPopulation({ seed: 15, subjects: 200 });
  const now = Date.UTC(2026, 5, 1);
  const contacts = population.contacts();
  const chats = population.chats(now);
  assert.is(contacts.length, population.subjects.filter((subject) => subject.kind === 'contact').length);
  assert.is(chats.length, population.subjects.filter((subject) => subject.chat !== undefined).length);
  for (const chat of chats) assert.ok(chat.lastActivityAt !== undefined && chat.lastActivityAt < now);
  assert.ok(contacts.some((contact) => contact.name !== undefined) && contacts.some((contact) => contact.name === undefined));
});

test('bad options are refused with an error naming the problem', () => {
  assert.throws(() => createPopulation({ seed: 1, subjects: 0 }), /subjects must be a whole number/);
  assert.throws(() => createPopulation({ seed: 1, subjects: 2.5 }), /subjects must be a whole number/);
  assert.throws(() => createPopulation({ seed: 1.5, subjects: 10 }), /seed must be a whole number/);
  assert.throws(() => createPopulation({ seed: 1, subjects: 10, groupShare: 2 }), /groupShare must be between 0 and 1/);
});

test.run();
