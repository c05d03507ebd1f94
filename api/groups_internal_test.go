package api

import (
	"testing"
	"time"

	"github.com/calsync/calsync/store"
)

func TestDeriveGroupsReportsLagAndThroughput(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	statuses := []store.MailboxStatus{
		// Read after its notification: throughput.
		{SMTP: "a@example.com", Group: "g1", State: "live", LastEvent: now.Add(-30 * time.Second), LastVerified: now.Add(-29 * time.Second)},
		{SMTP: "b@example.com", Group: "g1", State: "live", LastEvent: now.Add(-4 * time.Minute), LastVerified: now.Add(-3 * time.Minute)},
		// Too long ago to count.
		{SMTP: "c@example.com", Group: "g1", State: "live", LastEvent: now.Add(-6 * time.Minute), LastVerified: now.Add(-6 * time.Minute)},
		// Notified and not read since: pending, the older one is the lag.
		{SMTP: "e@example.com", Group: "g1", State: "waiting", LastEvent: now.Add(-90 * time.Second), LastVerified: now.Add(-time.Hour)},
		{SMTP: "f@example.com", Group: "g1", State: "live", LastEvent: now.Add(-10 * time.Second), LastVerified: now.Add(-time.Minute)},
		{SMTP: "d@example.com", Group: "g2", State: "live"},
	}
	groups := deriveGroups(statuses, nil, now)
	if len(groups) != 2 {
		t.Fatalf("groups = %+v", groups)
	}
	g1, g2 := groups[0], groups[1]
	if g1.LastEvent == nil || !g1.LastEvent.Equal(now.Add(-10*time.Second)) || g1.ChangedLast5m != 2 || g1.Pending != 2 || g1.LagSeconds != 90 {
		t.Errorf("g1 last_event %v, changed_last_5m %d, pending %d, lag %vs; want %v, 2, 2, 90s", g1.LastEvent, g1.ChangedLast5m, g1.Pending, g1.LagSeconds, now.Add(-10*time.Second))
	}
	if g2.LastEvent != nil || g2.ChangedLast5m != 0 || g2.Pending != 0 || g2.LagSeconds != 0 {
		t.Errorf("g2 without events: %+v", g2)
	}
}
