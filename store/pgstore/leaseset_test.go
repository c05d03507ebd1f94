package pgstore_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/internal/testenv"
)

// TestClusterLeasesLiveWithTheRegistration: the coordinator's leases last
// while their owner's registration does — one heartbeat renews them all,
// without waiting for a write in flight that holds its lease row — and
// go to another instance only when the registration ran out, under a new
// epoch; leases nobody took come back with the owner's next heartbeat.
func TestClusterLeasesLiveWithTheRegistration(t *testing.T) {
	s := openFresh(t)
	t.Cleanup(func() { _ = s.Close() })
	v, _ := urls.Load(s)
	url := v.(string)
	ctx := t.Context()
	const long = time.Hour
	if _, err := s.Heartbeat(ctx, "a", "", long, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, "b", "", long, 0); err != nil {
		t.Fatal(err)
	}
	ga, err := s.AcquireLeases(ctx, "a", []string{"m1", "m2"})
	if err != nil || len(ga) != 2 {
		t.Fatalf("a acquires m1, m2: %v, %v", ga, err)
	}
	gb, err := s.AcquireLeases(ctx, "b", []string{"m1", "m3", "m4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gb["m1"]; ok || len(gb) != 2 {
		t.Fatalf("b acquires m1, m3, m4 while a holds m1: granted %v", gb)
	}
	if held, err := s.HeldLeases(ctx, "a"); err != nil || !maps.Equal(held, ga) {
		t.Fatalf("a holds %v, %v; want %v", held, err, ga)
	}

	// A fenced write of m1 in flight holds its lease row FOR SHARE until it
	// commits; a's heartbeat renews m1 all the same.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM leases WHERE smtp = 'm1' FOR SHARE`); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	m, err := s.Heartbeat(hctx, "a", "", long, 0)
	cancel()
	if err != nil {
		t.Fatalf("a's heartbeat while a write of m1 is in flight: %v", err)
	}
	_ = tx.Rollback(ctx)
	if len(m.Alive) != 2 || m.NextExpiry <= 0 || m.NextExpiry > long {
		t.Errorf("a's heartbeat sees %+v; want a and b, b's registration running out within %s", m, long)
	}

	// b stops heartbeating: its registration runs out, and with it its
	// leases.
	if _, err := s.Heartbeat(ctx, "b", "", time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "b's leases running out", func() bool {
		ps, err := s.Placements(ctx, []string{"m1", "m3"})
		return err == nil && ps[0].Owner == "a" && ps[0].Expires > long-time.Minute && ps[1].Owner == "" && ps[1].Expires == 0
	})
	if held, err := s.HeldLeases(ctx, "b"); err != nil || len(held) != 0 {
		t.Errorf("b still holds %v (%v) after its registration ran out", held, err)
	}
	got, err := s.AcquireLeases(ctx, "a", []string{"m3"})
	if err != nil || got["m3"] <= gb["m3"] {
		t.Fatalf("a takes over m3: %v, %v; want an epoch above b's %d", got, err, gb["m3"])
	}
	// b comes back: the lease nobody took is b's again under its epoch.
	if _, err := s.Heartbeat(ctx, "b", "", long, 0); err != nil {
		t.Fatal(err)
	}
	if held, err := s.HeldLeases(ctx, "b"); err != nil || len(held) != 1 || held["m4"] != gb["m4"] {
		t.Errorf("b holds %v (%v) after it came back; want only m4 under epoch %d", held, err, gb["m4"])
	}
}
