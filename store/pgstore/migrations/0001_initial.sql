-- Version 1: everything the store.Store interface keeps.
-- Instants the database compares (windows, leases, outbox schedule) are
-- timestamptz; nested values the store only hands back (status, checkpoint,
-- automatic replies, one occurrence) are jsonb in the shape of the row
-- types in codec.go.

CREATE TABLE mailboxes (
    smtp       text PRIMARY KEY,
    status     jsonb NOT NULL DEFAULT '{}',
    checkpoint jsonb NOT NULL DEFAULT '{}',
    oof        jsonb
);

CREATE TABLE occurrences (
    smtp     text NOT NULL REFERENCES mailboxes (smtp) ON DELETE CASCADE,
    item_id  text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at   timestamptz NOT NULL,
    doc      jsonb NOT NULL,
    PRIMARY KEY (smtp, item_id)
);
CREATE INDEX occurrences_by_start ON occurrences (smtp, start_at);

-- epoch grows every time a mailbox changes owner (from one sequence, so it
-- never goes back, not even after the lease row was deleted): the fencing
-- token later writes will carry.
CREATE SEQUENCE lease_epoch;
CREATE TABLE leases (
    smtp       text PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL,
    epoch      bigint NOT NULL
);

CREATE TABLE presence (
    smtp text PRIMARY KEY,
    doc  bytea NOT NULL
);

CREATE TABLE documents (
    name text PRIMARY KEY,
    doc  bytea NOT NULL
);

CREATE TABLE outbox (
    id           text PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    endpoint     text NOT NULL,
    key          text NOT NULL,
    event_type   text NOT NULL,
    payload      bytea NOT NULL,
    attempts     integer NOT NULL,
    next_attempt timestamptz,
    last_error   text NOT NULL,
    created_at   timestamptz,
    dead         boolean NOT NULL,
    dead_at      timestamptz,
    requeues     integer NOT NULL,
    requeued_at  timestamptz
);
CREATE INDEX outbox_live ON outbox (endpoint, key, seq) WHERE NOT dead;
CREATE INDEX outbox_dead ON outbox (endpoint, seq) WHERE dead;
