package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/internal/check/checktest"
	"github.com/calsync/calsync/store/boltstore"
)

// With the users CSV file missing, `calsync check` reports the unavailable
// directory in its normal report and checks the last good list calsync run
// kept in its store; without a kept list it says a start would fail.
func TestCheckReportsAnUnavailableDirectory(t *testing.T) {
	env := checktest.New(t, 3, nil)
	dir := t.TempDir()
	storePath := filepath.Join(dir, "calsync.db")
	write := func() string {
		t.Helper()
		cfg, err := os.ReadFile(env.WriteConfig(t, "secret", ""))
		if err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(string(cfg), "users:\n")
		path := filepath.Join(dir, "calsync.yaml")
		if err := os.WriteFile(filepath.Join(dir, "password.txt"), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		yaml := head + "users:\n  csv_file: " + filepath.Join(dir, "users.csv") + "\nstore:\n  path: " + storePath + "\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := write()

	code, stdout, stderr := runCheckMain(t, "--no-progress", "--config", path)
	if !strings.Contains(stdout, "the directory is unavailable") || !strings.Contains(stdout, "calsync run would not start") {
		t.Errorf("no kept list: exit %d, report lacks the unavailable directory:\n%s\n%s", code, stdout, stderr)
	}

	st, err := boltstore.Open(storePath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := directory.Static{}
	for _, u := range env.Users {
		kept = append(kept, directory.User{SMTP: u})
	}
	if _, err := directory.NewLastGood(kept, st, nil, nil).Users(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCheckMain(t, "--no-progress", "--config", path)
	for _, want := range []string{"the directory is unavailable", "checking the last good list", "3 of 3 users ok"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("kept list: exit %d, report lacks %q:\n%s\n%s", code, want, stdout, stderr)
		}
	}
}

// A check whose directory fails opens the store read-only: a file of the
// previous schema (written by b49ad17, boltstore's fixture) is reported,
// not upgraded — an upgrade would make a rollback to the older calsync
// refuse the file.
func TestCheckDoesNotUpgradeTheStore(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("..", "..", "store", "boltstore", "testdata", "schema2.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "calsync.db")
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	users, report := keptUsers(context.Background(), path, os.ErrNotExist)
	if users != nil || !strings.Contains(report, "older calsync") || !strings.Contains(report, "upgraded by calsync run") {
		t.Errorf("keptUsers on a schema-2 store = %v, %q; want no users and the older schema named", users, report)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, fixture) {
		t.Error("calsync check changed the store file")
	}
}
