-- Version 4: where each instance's API answers, so that another instance
-- can forward a user's override, sync-now or dry-run to the instance that
-- owns the user's mailbox.
ALTER TABLE instances ADD COLUMN api_url text NOT NULL DEFAULT '';
