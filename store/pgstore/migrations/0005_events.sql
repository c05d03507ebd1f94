-- Version 5: the cluster's one event stream. Every instance appends the
-- events it publishes; every instance tails the table into its own
-- Server-Sent Events stream, so an event's id is the same on all of them.
-- data is text, not jsonb: the stream carries the producer's bytes.
CREATE TABLE events (
	id    bigserial PRIMARY KEY,
	type  text NOT NULL,
	key   text NOT NULL,
	data  text NOT NULL,
	at    timestamptz NOT NULL DEFAULT now()
);
