package api

import (
	"testing"
	"time"

	"github.com/calsync/calsync/store"
)

func TestDeriveGroupsReportsLastEventAndThroughput(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	statuses := []store.MailboxStatus{
		{SMTP: "a@example.com", Group: "g1", State: "live", LastEvent: now.Add(-30 * time.Second)},
		{SMTP: "b@example.com", Group: "g1", State: "live", LastEvent: now.Add(-4 * time.Minute)},
		{SMTP: "c@example.com", Group: "g1", State: "live", LastEvent: now.Add(-6 * time.Minute)},
		{SMTP: "d@example.com", Group: "g2", State: "live"},
	}
	groups := deriveGroups(statuses, nil, now)
	if len(groups) != 2 {
		t.Fatalf("groups = %+v", groups)
	}
	g1, g2 := groups[0], groups[1]
	if g1.LastEvent == nil || !g1.LastEvent.Equal(now.Add(-30*time.Second)) || g1.ChangedLast5m != 2 {
		t.Errorf("g1 last_event %v, changed_last_5m %d; want %v and 2", g1.LastEvent, g1.ChangedLast5m, now.Add(-30*time.Second))
	}
	if g2.LastEvent != nil || g2.ChangedLast5m != 0 {
		t.Errorf("g2 without events: last_event %v, changed_last_5m %d", g2.LastEvent, g2.ChangedLast5m)
	}
}
