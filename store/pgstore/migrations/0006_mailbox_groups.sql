-- Version 6: affinity groups a cluster learnt before placing mailboxes.
-- At a cold start no mailbox has a stored status yet, so its group is
-- unknown; the coordinators learn the groups with batched Autodiscover
-- first and place each mailbox once, with its group (docs/store.md,
-- "Cold start"). grp is '' when Autodiscover gave no group for the
-- mailbox (it is then placed alone, and its owner's engine reports why).
CREATE TABLE mailbox_groups (
	smtp text PRIMARY KEY,
	grp text NOT NULL,
	learnt_at timestamptz NOT NULL DEFAULT now()
);
