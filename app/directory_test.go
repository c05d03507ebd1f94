package app_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestStartWithTheLastGoodUserList: with the users CSV file missing, an
// instance whose store kept an earlier list starts with it, warns, and
// takes the file up once it is back (here on reload); a first start ever
// without a list fails with ErrNoLastGood.
func TestStartWithTheLastGoodUserList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")

	// First start ever, file missing: Run fails.
	cfg := config.Defaults()
	cfg.Users.CSVFile = path
	cfg.Store.Path = filepath.Join(t.TempDir(), "calsync.db")
	cfg.API.Listen = "127.0.0.1:0"
	cfg.Exchange.EWSURL = "https://127.0.0.1:1/EWS/Exchange.asmx" // never reached
	cfg.Exchange.Auth = config.Auth{Method: config.AuthBasic, Username: "svc", Password: config.NewSecret("pw", "test")}
	a, err := app.New(context.Background(), app.Options{Config: cfg})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Run(context.Background(), nil); !errors.Is(err, directory.ErrNoLastGood) {
		t.Fatalf("first start without a user list: Run returned %v, want ErrNoLastGood", err)
	}

	// A store that kept user1 and user2 from an earlier run.
	st := memstore.New()
	if _, err := directory.NewLastGood(directory.Static{{SMTP: "user1@example.com"}, {SMTP: "user2@example.com"}}, st, nil, nil).Users(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	reload := make(chan struct{}, 1)
	_, _, a = startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		setup.cfg.Users.Static = nil
		setup.cfg.Users.CSVFile = path
		setup.opts.Store = st
		setup.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		setup.reload = reload
	})
	live := func() string {
		var users []string
		for _, s := range a.Engine().Statuses() {
			if s.State == engine.StateLive {
				users = append(users, s.SMTP)
			}
		}
		sort.Strings(users)
		return strings.Join(users, ",")
	}
	testenv.WaitFor(t, "the kept users live", func() bool { return live() == "user1@example.com,user2@example.com" })
	if !strings.Contains(logs.String(), "the users directory is unavailable; syncing the last good user list") {
		t.Errorf("no warning about the unavailable directory in the log:\n%s", logs.String())
	}

	if err := os.WriteFile(path, []byte("user2@example.com\nuser3@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	testenv.WaitFor(t, "the file's users live", func() bool { return live() == "user2@example.com,user3@example.com" })
}
