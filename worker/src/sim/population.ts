// SIMULATION ONLY: the seeded plan of a simulated WhatsApp account — who is in it, what picture
// each subject shows at first, and the bounded list of picture changes that happen as the account
// is queried. Everything is a pure function of the options, so a test can compute what the worker
// must end up with (`finalPicture`) however often the demo was killed and restarted.

import { createHash } from 'node:crypto';
import { seededRandom, type Random } from '../clock.js';
import { requireJid, type Jid, type SubjectKind } from '../jid.js';
import { DAY_MS } from '../time.js';
import type { ChatInfo, ContactInfo } from '../avatars/ports.js';
import { renderPicture } from './jpeg.js';

export type SimulatedPicture =
  | { readonly kind: 'picture'; readonly pictureId: string; readonly version: number }
  | { readonly kind: 'none' }
  | { readonly kind: 'hidden' };

/**
 * Answers WhatsApp gives for a few subjects that are not a picture, no picture or hidden. Each is
 * planted on a few subjects; `empty-id` and `empty-answer` are answers the adapter cannot read.
 */
export const ODD_ANSWERS = ['forbidden', 'bad-request', 'not-acceptable', 'empty-id', 'empty-answer'] as const;
export type OddAnswer = (typeof ODD_ANSWERS)[number];

/** How the account learns a contact's LID ↔ phone-number pair (see sim/socket.ts). */
export type LidDelivery = 'history' | 'notification' | 'unknown';

/** What the worker must have stored for a subject at the end, in the state machine's terms. */
export type ExpectedOutcome =
  | { readonly state: 'fetched'; readonly pictureId: string }
  | { readonly state: 'none' }
  | { readonly state: 'hidden' }
  /** Refused answers leave the stored state as it was (here: never checked, no file). */
  | { readonly state: 'refused'; readonly answer: OddAnswer };

export interface SimulatedSubject {
  readonly jid: Jid;
  readonly kind: SubjectKind;
  /** A contact's LID (`…@lid`), and how the account learns the pair. */
  readonly lid?: { readonly jid: Jid; readonly delivery: LidDelivery };
  /** A community's parent group: its picture needs whatsmeow's `w:g2` query. */
  readonly community?: boolean;
  /** The subject always gets this odd answer instead of its picture. */
  readonly oddAnswer?: OddAnswer;
  /** Address-book name for a contact, the subject of a group. */
  readonly name?: string;
  /** The contact's own push name. */
  readonly notify?: string;
  /** Present when the subject has a chat: how long before the account's start its last message was. */
  readonly chat?: { readonly lastActivityAgoMs: number };
  /** The picture at first, then after each of the subject's changes, in order. */
  readonly timeline: readonly SimulatedPicture[];
}

/** One picture change: applied when the account answers its `atQuery`-th query (1-based). */
export interface SimulatedChange {
  readonly atQuery: number;
  readonly jid: Jid;
  readonly picture: SimulatedPicture;
  readonly removed: boolean;
}

export interface PopulationOptions {
  readonly seed: number;
  /** Contacts and groups together. */
  readonly subjects: number;
  /** Share of the subjects that are groups. */
  readonly groupShare?: number;
  /** Share of the subjects whose picture changes (each once or twice) while the demo runs. */
  readonly changeShare?: number;
  /** Share of the contacts that have a one-to-one chat. */
  readonly chatShare?: number;
  /** Which odd answers to plant (a few subjects each); defaults to all of ODD_ANSWERS. */
  readonly oddAnswers?: readonly OddAnswer[];
}

// Shares seen in real address books: most people show a picture, some none, some hide it.
const PICTURE_SHARE = 0.7;
const NONE_SHARE = 0.2; // the remaining 10 % are hidden by privacy settings
const DEFAULT_GROUP_SHARE = 0.15;
// Small so a demo goes idle: after the first full pass only these subjects need another query.
const DEFAULT_CHANGE_SHARE = 0.03;
const DEFAULT_CHAT_SHARE = 0.4;
// Changes fall within the first full pass (queries 10 %…80 % of the subjects), so a worker that
// queries everyone once is sure to pass every change's trigger, restarts included.
const FIRST_CHANGE_AT_SHARE = 0.1;
const LAST_CHANGE_AT_SHARE = 0.8;
// Last messages spread over the two months before the start, like a lived-in phone.
const MAX_CHAT_AGE_MS = 60 * DAY_MS;
const MIN_CHAT_AGE_MS = 60 * 1000;
// WhatsApp picture ids are decimal numbers of about ten digits.
const PICTURE_ID_BASE = 1_600_000_000;
const PICTURE_ID_SPAN = 400_000_000;
const MAX_SUBJECTS = 1_000_000;
// "A few subjects each": one per 200 subjects, at least one.
const ODD_ANSWER_SHARE_EACH = 0.005;
// Communities are a small part of most accounts' groups.
const COMMUNITY_SHARE_OF_GROUPS = 0.15;
// Most pairs come with the history sync (Baileys 7.0.0-rc14 Utils/history.js reads
// phoneNumberToLidMappings and each conversation's lidJid/pnJid), a few later by notification,
// the rest are unknown until someone asks WhatsApp (a USync query).
const LID_FROM_HISTORY_SHARE = 0.7;
const LID_FROM_NOTIFICATION_SHARE = 0.1;

const FIRST_NAMES = ['Anna', 'Ben', 'Chloé', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kaito', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wen', 'Yara', 'Zoe'];
const LAST_NAMES = ['Adler', 'Berg', 'Costa', 'Dubois', 'Evans', 'Fischer', 'García', 'Hansen', 'Ito', 'Jensen', 'Kowalski', 'Lopez', 'Meyer', 'Novak', 'Okafor', 'Petrov', 'Rossi', 'Schmidt', 'Tanaka', 'Weber'];
const GROUP_WORDS = ['Family', 'Climbing', 'Book club', 'Neighbours', 'Football', 'Class of 2012', 'Board games', 'Holiday', 'Choir', 'Garden', 'Running', 'Flat', 'Team', 'Parents', 'Band'];
const COUNTRY_CODES = ['49', '44', '33', '34', '39', '31', '1', '55', '91', '81'];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function digits(random: Random, count: number): string {
  let text = '';
  for (let index = 0; index < count; index++) text += String(Math.floor(random() * 10));
  return text;
}

function requireShare(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`${name} must be between 0 and 1, not ${value}`);
  return value;
}

export class SimulatedPopulation {
  readonly seed: number;
  readonly subjects: readonly SimulatedSubject[];
  /** Every change, in the order they happen. */
  readonly changes: readonly SimulatedChange[];
  private readonly byJid: ReadonlyMap<string, SimulatedSubject>;
  private readonly changesByJid: ReadonlyMap<string, readonly SimulatedChange[]>;
  private readonly byLid: ReadonlyMap<string, SimulatedSubject>;

  constructor(options: PopulationOptions) {
    if (!Number.isInteger(options.subjects) || options.subjects < 1 || options.subjects > MAX_SUBJECTS) {
      throw new RangeError(`subjects must be a whole number from 1 to ${MAX_SUBJECTS}, not ${options.subjects}`);
    }
    if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be a whole number, not ${options.seed}`);
    this.seed = options.seed;
    const random = seededRandom(options.seed);
    const groupShare = requireShare('groupShare', options.groupShare ?? DEFAULT_GROUP_SHARE);
    const changeShare = requireShare('changeShare', options.changeShare ?? DEFAULT_CHANGE_SHARE);
    const chatShare = requireShare('chatShare', options.chatShare ?? DEFAULT_CHAT_SHARE);
    const groupCount = Math.round(options.subjects * groupShare);

    const initial: { jid: Jid; kind: SubjectKind; name?: string; notify?: string; chat?: { lastActivityAgoMs: number }; first: SimulatedPicture }[] = [];
    const taken = new Set<string>();
    for (let index = 0; index < options.subjects; index++) {
      const kind: SubjectKind = index < options.subjects - groupCount ? 'contact' : 'group';
      let jid: Jid;
      do {
        jid = requireJid(kind === 'contact' ? `${pick(random, COUNTRY_CODES)}${digits(random, 10)}@s.whatsapp.net` : `120363${digits(random, 12)}@g.us`).jid;
      } while (taken.has(jid));
      taken.add(jid);
      const roll = random();
      const first: SimulatedPicture =
        roll < PICTURE_SHARE ? { kind: 'picture', version: 1, pictureId: this.pictureIdFor(jid, 1) } : roll < PICTURE_SHARE + NONE_SHARE ? { kind: 'none' } : { kind: 'hidden' };
      const chatAge = MIN_CHAT_AGE_MS + Math.floor(random() * (MAX_CHAT_AGE_MS - MIN_CHAT_AGE_MS));
      if (kind === 'group') {
        initial.push({ jid, kind, name: `${pick(random, GROUP_WORDS)} ${1 + Math.floor(random() * 9)}`, chat: { lastActivityAgoMs: chatAge }, first });
        continue;
      }
      const person = `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
      const naming = random();
      // Most contacts are saved in the address book; some are known only by their push name.
      const name = naming < 0.75 ? person : undefined;
      const notify = naming < 0.95 ? person.split(' ')[0] : undefined;
      const hasChat = random() < chatShare;
      initial.push({ jid, kind, ...(name ? { name } : {}), ...(notify ? { notify } : {}), ...(hasChat ? { chat: { lastActivityAgoMs: chatAge } } : {}), first });
    }

    // Hidden pictures never change visibly, so only visible subjects are picked to change.
    const candidates = initial.filter((subject) => subject.first.kind !== 'hidden');
    const changingCount = Math.min(candidates.length, Math.round(options.subjects * changeShare));
    const firstAt = Math.max(1, Math.ceil(options.subjects * FIRST_CHANGE_AT_SHARE));
    const lastAt = Math.max(firstAt, Math.floor(options.subjects * LAST_CHANGE_AT_SHARE));
    const changes: SimulatedChange[] = [];
    const timelines = new Map<string, SimulatedPicture[]>();
    for (let picked = 0; picked < changingCount; picked++) {
      const chosen = candidates.splice(Math.floor(random() * candidates.length), 1)[0]!;
      const timeline: SimulatedPicture[] = [chosen.first];
      const howMany = random() < 0.5 ? 1 : 2;
      const triggers = Array.from({ length: howMany }, () => firstAt + Math.floor(random() * (lastAt - firstAt + 1))).sort((a, b) => a - b);
      let lastVersion = chosen.first.kind === 'picture' ? chosen.first.version : 0;
      for (const atQuery of triggers) {
        const current = timeline[timeline.length - 1]!;
        const remove = current.kind === 'picture' && random() < 0.3;
        const next: SimulatedPicture = remove ? { kind: 'none' } : { kind: 'picture', version: ++lastVersion, pictureId: this.pictureIdFor(chosen.jid, lastVersion) };
        timeline.push(next);
        changes.push({ atQuery, jid: chosen.jid, picture: next, removed: remove });
      }
      timelines.set(chosen.jid, timeline);
    }
    // Stable order: by trigger, then by JID, so two changes on one query always emit alike.
    changes.sort((a, b) => a.atQuery - b.atQuery || (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));

    // Extras drawn from their own sequence, so adding them did not move anyone's picture or change.
    const extra = seededRandom((options.seed ^ 0x0dd_a115) >>> 0);
    const steady = initial.filter((subject) => subject.first.kind === 'picture' && !timelines.has(subject.jid));
    const community = new Set<string>();
    const steadyGroups = steady.filter((subject) => subject.kind === 'group');
    const communityCount = groupCount === 0 ? 0 : Math.max(1, Math.round(groupCount * COMMUNITY_SHARE_OF_GROUPS));
    for (let index = 0; index < communityCount && steadyGroups.length > 0; index++) {
      community.add(steadyGroups.splice(Math.floor(extra() * steadyGroups.length), 1)[0]!.jid);
    }
    const odd = new Map<string, OddAnswer>();
    const steadyContacts = steady.filter((subject) => subject.kind === 'contact');
    const oddEach = Math.max(1, Math.round(options.subjects * ODD_ANSWER_SHARE_EACH));
    for (const answer of options.oddAnswers ?? ODD_ANSWERS) {
      if (!(ODD_ANSWERS as readonly string[]).includes(answer)) throw new RangeError(`unknown odd answer '${String(answer)}'; known: ${ODD_ANSWERS.join(', ')}`);
      for (let index = 0; index < oddEach && steadyContacts.length > 0; index++) {
        odd.set(steadyContacts.splice(Math.floor(extra() * steadyContacts.length), 1)[0]!.jid, answer);
      }
    }
    const lids = new Map<string, { jid: Jid; delivery: LidDelivery }>();
    for (const subject of initial) {
      if (subject.kind !== 'contact') continue;
      const roll = extra();
      const delivery: LidDelivery = roll < LID_FROM_HISTORY_SHARE ? 'history' : roll < LID_FROM_HISTORY_SHARE + LID_FROM_NOTIFICATION_SHARE ? 'notification' : 'unknown';
      let lid: string;
      do lid = `${1 + Math.floor(extra() * 9)}${digits(extra, 14)}@lid`;
      while (taken.has(lid));
      taken.add(lid);
      lids.set(subject.jid, { jid: requireJid(lid).jid, delivery });
    }

    this.subjects = initial.map(({ first, ...subject }) => ({
      ...subject,
      ...(lids.has(subject.jid) ? { lid: lids.get(subject.jid)! } : {}),
      ...(community.has(subject.jid) ? { community: true } : {}),
      ...(odd.has(subject.jid) ? { oddAnswer: odd.get(subject.jid)! } : {}),
      timeline: timelines.get(subject.jid) ?? [first],
    }));
    this.changes = changes;
    this.byJid = new Map(this.subjects.map((subject) => [subject.jid, subject]));
    this.byLid = new Map(this.subjects.flatMap((subject) => (subject.lid === undefined ? [] : [[subject.lid.jid, subject] as const])));
    const changesByJid = new Map<string, SimulatedChange[]>();
    for (const change of changes) changesByJid.set(change.jid, [...(changesByJid.get(change.jid) ?? []), change]);
    this.changesByJid = changesByJid;
  }

  subject(jid: string): SimulatedSubject | undefined {
    return this.byJid.get(jid);
  }

  initialPicture(jid: string): SimulatedPicture | undefined {
    return this.byJid.get(jid)?.timeline[0];
  }

  /** What the subject shows once every change has happened: what the worker must end up with. */
  finalPicture(jid: string): SimulatedPicture | undefined {
    const timeline = this.byJid.get(jid)?.timeline;
    return timeline?.[timeline.length - 1];
  }

  /**
   * What the worker must end up with, by the state machine of issue 8: 403 is hidden like 401;
   * the other odd answers are refused and leave the subject as it was (never checked, no file).
   */
  expectedOutcome(jid: string): ExpectedOutcome | undefined {
    const subject = this.byJid.get(jid);
    if (subject === undefined) return undefined;
    if (subject.oddAnswer === 'forbidden') return { state: 'hidden' };
    if (subject.oddAnswer !== undefined) return { state: 'refused', answer: subject.oddAnswer };
    const final = subject.timeline[subject.timeline.length - 1]!;
    return final.kind === 'picture' ? { state: 'fetched', pictureId: final.pictureId } : { state: final.kind };
  }

  /** The contact whose LID this is, if any. */
  contactByLid(lid: string): SimulatedSubject | undefined {
    return this.byLid.get(lid);
  }

  /** What the subject shows after the account answered `queryCount` queries. */
  pictureAfterQueries(jid: string, queryCount: number): SimulatedPicture | undefined {
    const subject = this.byJid.get(jid);
    if (subject === undefined) return undefined;
    const applied = (this.changesByJid.get(jid) ?? []).filter((change) => change.atQuery <= queryCount).length;
    return subject.timeline[applied];
  }

  /** The changes that happen on exactly the `queryNumber`-th query. */
  changesAtQuery(queryNumber: number): SimulatedChange[] {
    return this.changes.filter((change) => change.atQuery === queryNumber);
  }

  /** The version of a subject's picture with this id, current or past, if it ever existed. */
  pictureVersion(jid: string, pictureId: string): (SimulatedPicture & { kind: 'picture' }) | undefined {
    const found = this.byJid.get(jid)?.timeline.find((picture) => picture.kind === 'picture' && picture.pictureId === pictureId);
    return found?.kind === 'picture' ? found : undefined;
  }

  /** The JPEG the CDN serves for a picture version. */
  pictureBytes(jid: string, pictureId: string): Buffer {
    return renderPicture(jid, pictureId);
  }

  /** The sha256 of the picture the subject shows at the end, for comparing with the worker's state. */
  finalSha256(jid: string): string | undefined {
    const final = this.finalPicture(jid);
    return final?.kind === 'picture' ? createHash('sha256').update(this.pictureBytes(jid, final.pictureId)).digest('hex') : undefined;
  }

  /** The CDN's URL signature (`oh=`) for a path and expiry, keyed by the seed. */
  signature(path: string, expiryHex: string): string {
    return createHash('sha256').update(`${this.seed}\n${path}\n${expiryHex}`).digest('hex').slice(0, 40);
  }

  /** The address book, as a history sync delivers it. */
  contacts(): ContactInfo[] {
    return this.subjects
      .filter((subject) => subject.kind === 'contact')
      .map((subject) => ({ jid: subject.jid, ...(subject.name ? { name: subject.name } : {}), ...(subject.notify ? { notify: subject.notify } : {}) }));
  }

  /** Chats (groups and one-to-one), with last activity relative to `nowMs`. */
  chats(nowMs: number): ChatInfo[] {
    return this.subjects.flatMap((subject) =>
      subject.chat === undefined
        ? []
        : [{ jid: subject.jid, kind: subject.kind, ...(subject.name ? { name: subject.name } : {}), lastActivityAt: nowMs - subject.chat.lastActivityAgoMs }],
    );
  }

  private pictureIdFor(jid: string, version: number): string {
    const digest = createHash('sha256').update(`${this.seed}\n${jid}\n${version}`).digest();
    return String(PICTURE_ID_BASE + (digest.readUInt32BE(0) % PICTURE_ID_SPAN));
  }
}

/** The seeded plan for a simulated account. */
export function createPopulation(options: PopulationOptions): SimulatedPopulation {
  return new SimulatedPopulation(options);
}
