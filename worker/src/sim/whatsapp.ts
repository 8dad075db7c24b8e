// SIMULATION ONLY: the WhatsApp side of a simulated account, for the demo and for tests. It
// outlives the sockets the real BaileysAccount opens (one per connection) and keeps what WhatsApp
// keeps: the population, how many picture queries it answered (the query log), which picture
// changes happened, a count of every IQ it received, by kind, and the phone that links devices.
//
// Restarts: when `queryLogPath` is set, the log's line count is the picture-query count at start,
// so picture changes never go back in time after the demo is killed. The final pictures depend
// only on the seed.

import type { BinaryNode, UserFacingSocketConfig } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { BaileysSocket, SocketFactory } from '../wa/baileys/account.js';
import { DEFAULT_SIMULATED_BEHAVIOUR, type SimulatedBehaviour } from './behaviour.js';
import type { SimulatedCdnAddress } from './cdn.js';
import { IqTally, iqKind, isPictureIq } from './iq-kinds.js';
import { QueryLuck } from './luck.js';
import { answerPictureIq, errorReply, type PictureAnswer, type SimulatedAnswerKind } from './picture-answers.js';
import type { SimulatedPopulation } from './population.js';
import { SimulatedBaileysSocket } from './socket.js';
import { appendQueryRecord, countQueryRecords } from './query-log.js';

/** Behaviours of WhatsApp the simulation can leave out (`demo --quirks`). */
export const SIMULATED_QUIRKS = ['forbidden', 'bad-request', 'not-acceptable', 'empty-id', 'empty-answer', 'pending-before-open'] as const;
export type SimulatedQuirk = (typeof SIMULATED_QUIRKS)[number];

/** The shared behaviour (behaviour.ts), and what only the socket-level simulation has. */
export interface SimulatedWhatsAppBehaviour extends SimulatedBehaviour {
  /**
   * The demo shortens the socket's wait for an answer that never comes (the worker asks for
   * 20 s); the rejection is still Baileys' Boom 408. Infinity keeps the asked-for timeout.
   */
  readonly maxTimeoutWaitMs: number;
  /** Share of connections whose "pending notifications received" arrives before 'open'. */
  readonly pendingBeforeOpenShare: number;
}

export const DEFAULT_SIMULATED_WHATSAPP_BEHAVIOUR: SimulatedWhatsAppBehaviour = {
  ...DEFAULT_SIMULATED_BEHAVIOUR,
  maxTimeoutWaitMs: Number.POSITIVE_INFINITY,
  pendingBeforeOpenShare: 0.3,
};

/** The phone that links the device: scans the QR / enters the code after a delay, or never. */
/**
 * `scans`: the phone scans a QR `afterMs` after it is shown, and types a requested pairing code
 * `codeAfterMs` after it was issued (default `afterMs`), as a person reading it off the screen.
 */
export type SimulatedPhone = { readonly mode: 'scans'; readonly afterMs: number; readonly codeAfterMs?: number } | { readonly mode: 'nobody' };

export interface SimulatedWhatsAppOptions {
  readonly population: SimulatedPopulation;
  readonly cdn: Pick<SimulatedCdnAddress, 'pictureOrigin'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** One JSON line per picture query; also the query count across restarts. */
  readonly queryLogPath?: string;
  readonly behaviour?: Partial<SimulatedWhatsAppBehaviour>;
  readonly phone?: SimulatedPhone;
  /** The account's own phone number (digits). */
  readonly accountNumber?: string;
  /** Which quirks happen; all by default. */
  readonly quirks?: readonly SimulatedQuirk[];
}

/** One line of the query log. */
export interface SimulatedQueryRecord {
  /** When the query's first IQ arrived (a USync sent for it, or the picture IQ itself). */
  readonly at: number;
  readonly jid: string;
  /** The 1-based number of this picture query, across restarts. */
  readonly query: number;
  readonly outcome: SimulatedAnswerKind;
  readonly xmlns: string;
  /** The picture URL's host, when the answer carried a URL. */
  readonly host?: string;
  /** IQs this query cost: the picture IQ plus what the adapter sent for it since the last one. */
  readonly iqs: number;
}

export interface IqSummary {
  readonly total: number;
  readonly byKind: Record<string, number>;
  /** IQs Baileys sends on its own at login (pre-keys, passive, digest, dirty groups). */
  readonly atLogin: number;
  readonly pictureQueries: number;
  /** IQs caused by picture queries divided by their number: 1 when nothing extra is sent. */
  readonly iqsPerPictureQuery: number;
}

export class SimulatedWhatsApp {
  readonly population: SimulatedPopulation;
  readonly behaviour: SimulatedWhatsAppBehaviour;
  readonly phone: SimulatedPhone;
  readonly accountNumber: string;
  readonly quirks: ReadonlySet<SimulatedQuirk>;
  private readonly luck: QueryLuck;
  private readonly iqs = new IqTally();
  private loginIqs = 0;
  private pictureQueries = 0;
  private pictureQueryIqs = 0;
  private iqsSincePicture = 0;
  private firstIqAtSincePicture: number | undefined;
  private queryCount: number;
  private connections = 0;
  private current: SimulatedBaileysSocket | undefined;

  constructor(private readonly options: SimulatedWhatsAppOptions) {
    this.population = options.population;
    this.behaviour = { ...DEFAULT_SIMULATED_WHATSAPP_BEHAVIOUR, ...options.behaviour };
    this.phone = options.phone ?? { mode: 'scans', afterMs: 2_000 };
    this.accountNumber = options.accountNumber ?? '15550000001';
    this.quirks = new Set(options.quirks ?? SIMULATED_QUIRKS);
    this.luck = new QueryLuck(options.population.seed, this.behaviour.rateLimitEveryQueries);
    this.queryCount = countQueryRecords(this.options.queryLogPath, this.options.logger);
  }

  /** Baileys' makeWASocket, as BaileysAccount's `makeSocket` injection expects it. */
  readonly makeSocket: SocketFactory = (config: UserFacingSocketConfig): BaileysSocket => {
    this.current?.end(undefined);
    const socket = new SimulatedBaileysSocket(this, config, {
      clock: this.options.clock,
      logger: this.options.logger,
      connection: ++this.connections,
      pendingBeforeOpen: this.quirks.has('pending-before-open') && this.luck.draw(this.connections, 7) < this.behaviour.pendingBeforeOpenShare,
    });
    this.current = socket;
    return socket;
  };

  /** The socket of the current connection, if one is open or opening. */
  get socket(): SimulatedBaileysSocket | undefined {
    return this.current;
  }

  /** Picture queries answered so far (across restarts when a query log is kept). */
  get queriesAnswered(): number {
    return this.queryCount;
  }

  iqSummary(): IqSummary {
    return {
      total: this.iqs.total,
      byKind: this.iqs.byKind(),
      atLogin: this.loginIqs,
      pictureQueries: this.pictureQueries,
      iqsPerPictureQuery: this.pictureQueries === 0 ? 0 : this.pictureQueryIqs / this.pictureQueries,
    };
  }

  /** Counts an IQ Baileys sends on its own at login; it is answered with an empty result. */
  countLoginIq(kind: string): void {
    this.iqs.add(kind);
    this.loginIqs++;
  }

  /**
   * Receives an IQ the socket's `query` sent: counts it, and answers it as WhatsApp does.
   * `undefined` means WhatsApp stays silent.
   */
  receive(node: BinaryNode, socket: SimulatedBaileysSocket): BinaryNode | undefined {
    this.iqs.add(iqKind(node));
    if (!isPictureIq(node)) {
      this.iqsSincePicture++;
      this.firstIqAtSincePicture ??= this.options.clock.now();
      if (node.attrs.xmlns === 'usync') return this.answerUsync(node);
      // Anything else the simulation does not know: WhatsApp refuses what it cannot parse.
      return errorReply(node, 400);
    }
    const query = ++this.queryCount;
    const cost = this.iqsSincePicture + 1;
    this.iqsSincePicture = 0;
    this.pictureQueries++;
    this.pictureQueryIqs += cost;
    // A query starts with its first IQ (a USync the adapter sent for it comes before the picture IQ).
    const at = this.firstIqAtSincePicture ?? this.options.clock.now();
    this.firstIqAtSincePicture = undefined;
    for (const change of this.population.changesAtQuery(query)) socket.announcePictureChange(change.jid, change.removed);
    const answer = answerPictureIq(
      { population: this.population, luck: this.luck, cdn: this.options.cdn, nowMs: at, urlLifetimeMs: this.behaviour.urlLifetimeMs, timeoutShare: this.behaviour.timeoutShare },
      node,
      query,
    );
    const jid = node.attrs.target ?? node.attrs.to ?? '';
    appendQueryRecord(this.options.queryLogPath, { at, jid, query, outcome: answer.kind, xmlns: node.attrs.xmlns ?? '', ...hostOf(answer), iqs: cost });
    return answer.kind === 'timeout' ? undefined : answer.node;
  }

  /** Changes that already happened, announced again after a reconnect's history sync. */
  appliedChanges(): { jid: string; removed: boolean }[] {
    const applied = this.population.changes.filter((change) => change.atQuery <= this.queryCount);
    return [...new Map(applied.map((change) => [change.jid, change.removed])).entries()].map(([jid, removed]) => ({ jid, removed }));
  }

  // Baileys 7.0.0-rc14 WAUSync/Protocols/UsyncLIDProtocol.js parses `<user jid><lid val/></user>`.
  private answerUsync(node: BinaryNode): BinaryNode {
    const usync = Array.isArray(node.content) ? node.content.find((child) => child.tag === 'usync') : undefined;
    const list = Array.isArray(usync?.content) ? usync.content.find((child) => child.tag === 'list') : undefined;
    const users = Array.isArray(list?.content) ? list.content : [];
    const answered: BinaryNode[] = users.flatMap((user) => {
      const jid = user.attrs.jid;
      const lid = jid === undefined ? undefined : this.population.subject(jid)?.lid?.jid;
      return jid === undefined ? [] : [{ tag: 'user', attrs: { jid }, content: lid === undefined ? [] : [{ tag: 'lid', attrs: { val: lid } }] }];
    });
    return {
      tag: 'iq',
      attrs: { id: node.attrs.id ?? '', type: 'result', from: 's.whatsapp.net' },
      content: [{ tag: 'usync', attrs: {}, content: [{ tag: 'list', attrs: {}, content: answered }] }],
    };
  }
}

function hostOf(answer: PictureAnswer): { host?: string } {
  return answer.kind !== 'timeout' && answer.host !== undefined ? { host: answer.host } : {};
}
