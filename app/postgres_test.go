package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestPostgresStoreFromTheConfig: with store.postgres the instance keeps
// its data in PostgreSQL (bbolt's path is not used), and what it synced
// is there for another process to read.
func TestPostgresStoreFromTheConfig(t *testing.T) {
	url := pgtest.Database(t)
	sim, c, a := startAppWithConfig(t, config.Pull, 3, func(s *appSetup) {
		s.cfg.Store.Path = "/nonexistent/calsync.db"
		s.cfg.Store.Postgres = &config.Postgres{URL: config.NewSecret(url, "test"), PoolSize: 4}
	})
	if _, ok := a.Store().(*pgstore.Store); !ok {
		t.Fatalf("store is %T, want *pgstore.Store", a.Store())
	}
	ctx := context.Background()
	testenv.WaitFor(t, "all mailboxes live", func() bool {
		return a.Engine().StateCounts()[engine.StateLive] == 3
	})
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := sim.AddCalendarItem("user2@example.com", ews.CalendarItem{
		Subject: "Budget", Start: now.Add(-time.Minute), End: now.Add(time.Hour),
		LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true,
	}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "user2 busy through the API", func() bool {
		p, err := c.Presence(ctx, "user2@example.com")
		return err == nil && p.Availability == "busy"
	})

	other, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	boxes, err := other.Mailboxes(ctx)
	if err != nil || len(boxes) != 3 {
		t.Fatalf("mailboxes in PostgreSQL: %d, %v; want 3", len(boxes), err)
	}
	occ, err := other.Occurrences(ctx, "user2@example.com", now, now.Add(time.Minute))
	if err != nil || len(occ) != 1 || occ[0].Subject != "Budget" {
		t.Errorf("user2's occurrences in PostgreSQL: %+v, %v; want the meeting", occ, err)
	}
}
