package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/store/boltstore"
)

// keptUsers reads the last good user list calsync run keeps in its store,
// for a check whose directory failed with dirErr, and words what a start
// would do for the report. It never creates a store file.
func keptUsers(ctx context.Context, path string, dirErr error) ([]directory.User, string) {
	unavailable := fmt.Sprintf("users: the directory is unavailable (%v)", dirErr)
	if _, err := os.Stat(path); err != nil {
		return nil, unavailable + "; no store at " + path + " keeps a last good list, so calsync run would not start: fix the users source"
	}
	// Read-only: a check must not upgrade the file (an older calsync, after
	// a rollback, would refuse it) or write anything else into it.
	st, err := boltstore.Open(path, boltstore.Options{LockTimeout: 500 * time.Millisecond, ReadOnly: true})
	if err != nil {
		if errors.Is(err, boltstore.ErrLocked) {
			return nil, unavailable + "; calsync run holds the store (" + path + ") and syncs the last good list kept there while it retries the directory every 30 s: fix the users source"
		}
		if errors.Is(err, boltstore.ErrOlderSchema) {
			return nil, fmt.Sprintf("%s; the store %s is of an older calsync and is upgraded by calsync run at its start, so check does not read its last good list (%v): fix the users source", unavailable, path, err)
		}
		return nil, fmt.Sprintf("%s; the last good list in %s cannot be read (%v)", unavailable, path, err)
	}
	defer st.Close()
	users, at, err := directory.KeptUsers(ctx, st)
	if err != nil {
		return nil, fmt.Sprintf("%s; %s keeps no last good list (%v), so calsync run would not start: fix the users source", unavailable, path, err)
	}
	return users, fmt.Sprintf("%s; checking the last good list kept in %s (%d users, read %s), which calsync run syncs until the directory answers again: fix the users source",
		unavailable, path, len(users), at.UTC().Format(time.RFC3339))
}
