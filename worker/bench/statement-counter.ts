// Counts the SQLite statements a database connection runs, for the ingest benchmark's
// statements-per-record figure. Installed on the connection before anything prepares on it:
// every prepared statement's run/get/all/iterate counts one, a transaction counts its BEGIN and
// COMMIT (or SAVEPOINT and RELEASE), and pragma and exec count one each.

import type { SqliteDatabase } from '../src/store/database.js';

export interface StatementCounter {
  /** Statements run since the counter was installed or last reset. */
  readonly count: number;
  reset(): void;
}

const EXECUTING_METHODS = ['run', 'get', 'all', 'iterate'] as const;

export function countStatements(db: SqliteDatabase): StatementCounter {
  let count = 0;
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    for (const method of EXECUTING_METHODS) {
      const original = (statement[method] as (...args: unknown[]) => unknown).bind(statement);
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        count++;
        return original(...args);
      };
    }
    return statement;
  }) as typeof db.prepare;
  const transaction = db.transaction.bind(db);
  db.transaction = ((work: (...args: unknown[]) => unknown) => {
    const wrapped = transaction(work);
    const counted = (run: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
      count += 2;
      return run(...args);
    };
    return Object.assign(counted(wrapped), {
      deferred: counted(wrapped.deferred),
      immediate: counted(wrapped.immediate),
      exclusive: counted(wrapped.exclusive),
      default: counted(wrapped.default),
    });
  }) as typeof db.transaction;
  const pragma = db.pragma.bind(db);
  db.pragma = ((...args: Parameters<typeof db.pragma>) => {
    count++;
    return pragma(...args);
  }) as typeof db.pragma;
  const exec = db.exec.bind(db);
  db.exec = ((source: string) => {
    count++;
    return exec(source);
  }) as typeof db.exec;
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
