// Versioned schema. Each entry moves `PRAGMA user_version` from its index to index + 1 inside one
// transaction; a database from a newer worker is refused rather than guessed at.

// The picture columns `contacts` and `chats` share, as migration 1 created them. Never edit:
// a later change to these tables is a new migration.
const PICTURE_COLUMNS_V1 = `
    picture_state TEXT NOT NULL DEFAULT 'unknown'
      CHECK (picture_state IN ('unknown', 'fetched', 'none', 'hidden')),
    picture_id TEXT,
    picture_sha256 TEXT,
    picture_size INTEGER,
    profile_picture TEXT,
    profile_picture_timestamp INTEGER,
    picture_changed_at INTEGER,
    next_check_at INTEGER,
    hidden_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL`;

export const MIGRATIONS: readonly string[] = [
  // 1: subjects, the persistent queue, favourites, worker state, Baileys auth.
  `
  CREATE TABLE contacts (
    jid TEXT PRIMARY KEY,
    name TEXT,
    notify TEXT,
    alternate_jid TEXT,
    last_activity_at INTEGER,
    ${PICTURE_COLUMNS_V1}
  ) STRICT;
  CREATE INDEX contacts_next_check ON contacts (next_check_at);
  CREATE INDEX contacts_alternate_jid ON contacts (alternate_jid);

  -- Group pictures live here; a one-to-one chat's picture is its contact's.
  CREATE TABLE chats (
    jid TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('contact', 'group')),
    name TEXT,
    last_activity_at INTEGER,
    ${PICTURE_COLUMNS_V1}
  ) STRICT;
  CREATE INDEX chats_next_check ON chats (next_check_at);

  CREATE TABLE avatar_jobs (
    jid TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('contact', 'group')),
    reason TEXT NOT NULL,
    priority INTEGER NOT NULL,
    rank INTEGER NOT NULL DEFAULT 0,
    force INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    -- Bumped on every write, by any process, so a running worker sees what 'refresh' queued.
    revision INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX avatar_jobs_revision ON avatar_jobs (revision);

  CREATE TABLE favourites (jid TEXT PRIMARY KEY) STRICT;

  -- Small worker state that must survive a restart: counters, the rate-limit pause, progress.
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

  -- Picture-change notifications for JIDs we do not know yet: kept as hints, not dropped.
  CREATE TABLE picture_hints (
    jid TEXT PRIMARY KEY,
    removed INTEGER NOT NULL,
    received_at INTEGER NOT NULL
  ) STRICT;

  -- Baileys auth state: creds under type 'creds', id ''; signal keys under their key type.
  CREATE TABLE auth_state (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (type, id)
  ) STRICT;
  `,
  // 2: communities. A community's parent group needs its own picture query (whatsmeow user.go
  // GetProfilePictureInfo, IsCommunity); the flag arrives with history syncs and group metadata.
  `
  ALTER TABLE chats ADD COLUMN community INTEGER NOT NULL DEFAULT 0 CHECK (community IN (0, 1));
  `,
  // 3: a subject's failure streak, so a subject that never answers well is asked less and less
  // often (and a restart keeps the count), and why its last job gave up, for `status`.
  `
  ALTER TABLE contacts ADD COLUMN failure_streak INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE contacts ADD COLUMN failure_kind TEXT CHECK (failure_kind IN ('refused', 'failing'));
  ALTER TABLE contacts ADD COLUMN failure_detail TEXT;
  ALTER TABLE chats ADD COLUMN failure_streak INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE chats ADD COLUMN failure_kind TEXT CHECK (failure_kind IN ('refused', 'failing'));
  ALTER TABLE chats ADD COLUMN failure_detail TEXT;
  `,
  // 4: `status` counts subjects by state and failure; these covering indexes let it read an
  // index instead of every row (50,000 contacts: ~4× less time on the project's machine).
  `
  CREATE INDEX contacts_picture_state ON contacts (picture_state, failure_kind);
  CREATE INDEX chats_picture_state ON chats (kind, picture_state, failure_kind);
  `,
  // 5: the rate policy's query starts of the last hour, one row each, so a job's outcome appends
  // one row instead of rewriting the whole hour as one JSON value in `meta` (issue 11).
  `
  CREATE TABLE rate_query_starts (at INTEGER NOT NULL) STRICT;
  CREATE INDEX rate_query_starts_at ON rate_query_starts (at);
  `,
];
