package directory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store/memstore"
)

// The last list a source returned is kept; when the source then fails (the
// CSV file missing, or one bad row) the kept list comes back with a
// StaleError, also in a new process (a new LastGood on the same store).
// Without a kept list the failure is ErrNoLastGood.
func TestLastGoodKeepsTheListForAnUnavailableDirectory(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	clk := clock.NewFake(time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "users.csv")
	csv := directory.CSV{Path: path}

	if _, err := directory.NewLastGood(csv, st, clk, nil).Users(ctx); !errors.Is(err, directory.ErrNoLastGood) {
		t.Fatalf("first read ever with the file missing: error %v, want ErrNoLastGood", err)
	}

	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("smtp,upn\nalice@example.com,alice@corp.example.com\nbob@example.com,\n")
	good, err := directory.NewLastGood(csv, st, clk, nil).Users(ctx)
	if err != nil || len(good) != 2 {
		t.Fatalf("read = %v, %v; want alice and bob", good, err)
	}
	readAt := clk.Now()
	clk.Advance(time.Hour)

	for name, breakIt := range map[string]func(){
		"file missing": func() { _ = os.Remove(path) },
		"one bad row":  func() { write("smtp\nalice@example.com\nnot an address\n") },
	} {
		breakIt()
		users, err := directory.NewLastGood(csv, st, clk, nil).Users(ctx) // a restart
		var stale *directory.StaleError
		if !errors.As(err, &stale) {
			t.Fatalf("%s: error %v, want a StaleError", name, err)
		}
		if !slices.Equal(users, good) || stale.Users != 2 || !stale.SavedAt.Equal(readAt) || stale.Err == nil {
			t.Errorf("%s: got %v (%+v), want the kept list read at %s", name, users, stale, readAt)
		}
	}
}
