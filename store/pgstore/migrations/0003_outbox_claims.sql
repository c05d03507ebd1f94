-- Version 3: a webhook message is delivered by one instance at a time.
-- Due of a claiming view (Store.Claiming) marks the heads it returns as
-- claimed by its instance until claim_until; other instances skip them
-- until the claim ends (delivered, failed, or expired after a crash).
ALTER TABLE outbox ADD COLUMN claimed_by text, ADD COLUMN claim_until timestamptz;
