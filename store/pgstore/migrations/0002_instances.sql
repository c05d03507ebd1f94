-- Version 2: instances sharing the mailboxes (package cluster).
-- Times an instance's liveness is judged by are the database's own clock
-- (now()), so that instances with skewed clocks still agree on who is
-- alive; skew_ms is what the instance measured (its clock minus the
-- database's), kept for `calsync check`.
CREATE TABLE instances (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    skew_ms      bigint NOT NULL DEFAULT 0
);

-- Renewing all of an instance's leases is one UPDATE … WHERE owner = $1.
CREATE INDEX leases_by_owner ON leases (owner);
