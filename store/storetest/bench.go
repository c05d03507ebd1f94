package storetest

import (
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// SampleOccurrences returns n occurrences of mailbox smtp spread over the
// 15 days from start, with field sizes like real Exchange data: ~150-byte
// item ids, 40-byte change keys, 112-digit UIDs, a subject, a room.
func SampleOccurrences(smtp string, n int, start time.Time, version int) []calendar.Occurrence {
	out := make([]calendar.Occurrence, n)
	for i := range out {
		raw := fmt.Appendf(nil, "%s/item/%06d/%0100d", smtp, i, i)
		id := base64.StdEncoding.EncodeToString(raw[:112])
		s := start.Add(time.Duration(i%15)*24*time.Hour + time.Duration(8+i%9)*time.Hour)
		out[i] = calendar.Occurrence{
			ItemID:      id,
			ChangeKey:   base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ck%028d", version*1000+i)),
			UID:         fmt.Sprintf("040000008200E00074C5B7101A82E008%080d", i),
			Kind:        calendar.KindSingle,
			Subject:     fmt.Sprintf("Project sync #%d with the platform team", i),
			Location:    "Room 4.12 / Teams",
			Organizer:   "organizer@example.com",
			Categories:  []string{"Blue category"},
			Start:       s,
			End:         s.Add(time.Duration(30+30*(i%3)) * time.Minute),
			TimeZone:    "Europe/Berlin",
			FreeBusy:    calendar.Busy,
			Sensitivity: calendar.Normal,
			Response:    calendar.ResponseAccept,
			IsMeeting:   i%2 == 0,
		}
	}
	return out
}

// BenchFactory returns a new, empty store for a benchmark.
type BenchFactory func(b *testing.B) store.Store

// Bench runs the store benchmarks shared by all implementations:
// CommitWindow of a 50-occurrence window (serial, and from 8 goroutines
// per CPU writing different mailboxes), a first load's writes (window and
// status as two writes and as one), an hour-long Occurrences query (what presence asks), a
// whole-window query, Due over a backlog of 1,000 keys × 5 messages, and
// an outbox enqueue/deliver cycle.
func Bench(b *testing.B, factory BenchFactory) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	win := calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}
	const mailboxes = 1000
	mailbox := func(i int) string { return fmt.Sprintf("user%05d@example.com", i%mailboxes) }
	// Two versions of the window, generated outside the timed loops; the
	// store does not care that mailboxes share item ids.
	versions := [2][]calendar.Occurrence{SampleOccurrences("bench@example.com", 50, start, 0), SampleOccurrences("bench@example.com", 50, start, 1)}
	commit := func(st store.Store, smtp string, version int) error {
		return st.CommitWindow(b.Context(), smtp, store.WindowCommit{
			Occurrences: versions[version%2],
			Checkpoint:  store.Checkpoint{Window: win, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", NotificationMode: "streaming"},
		})
	}
	b.Run("CommitWindow50", func(b *testing.B) {
		st := factory(b)
		defer st.Close()
		i := 0
		for b.Loop() {
			if err := commit(st, mailbox(i), i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// A mailbox's first load: its window, then the status that makes it
	// live — as two writes, and as one commit carrying the status.
	for _, carry := range []bool{false, true} {
		name := map[bool]string{false: "FirstLoad50/CommitThenStatus", true: "FirstLoad50/CommitWithStatus"}[carry]
		b.Run(name, func(b *testing.B) {
			st := factory(b)
			defer st.Close()
			i := 0
			for b.Loop() {
				smtp := fmt.Sprintf("first%07d@example.com", i)
				status := store.MailboxStatus{SMTP: smtp, State: "live", Group: "EXCH01|https://mail.example.com/EWS/Exchange.asmx",
					EWSURL: "https://mail.example.com/EWS/Exchange.asmx", TimeZone: "Europe/Berlin", LastVerified: start, Occurrences: 50}
				c := store.WindowCommit{Occurrences: versions[0], Checkpoint: store.Checkpoint{Window: win, NotificationMode: "streaming", SubscriptionID: "sub"}}
				if carry {
					c.Status = &status
				}
				if err := st.CommitWindow(b.Context(), smtp, c); err != nil {
					b.Fatal(err)
				}
				if !carry {
					if err := st.SaveStatus(b.Context(), status); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
	b.Run("CommitWindow50Parallel", func(b *testing.B) {
		st := factory(b)
		defer st.Close()
		var next atomic.Int64
		b.SetParallelism(8) // 8 writers per CPU, like many engine workers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if err := commit(st, mailbox(i), i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Occurrences", func(b *testing.B) {
		st := factory(b)
		defer st.Close()
		for i := range mailboxes {
			if err := commit(st, mailbox(i), 0); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range []struct {
			name     string
			from, to time.Time
		}{
			{"hour", start.Add(3*24*time.Hour + 9*time.Hour), start.Add(3*24*time.Hour + 10*time.Hour)},
			{"window", win.Start, win.End},
		} {
			b.Run(q.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := st.Occurrences(b.Context(), mailbox(i), q.from, q.to); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	})
	b.Run("OutboxDueBacklog", func(b *testing.B) {
		// An endpoint that is down: 1,000 users with 5 messages each.
		st := factory(b)
		defer st.Close()
		var msgs []store.OutboxMessage
		for i := range 5 * mailboxes {
			msgs = append(msgs, store.OutboxMessage{Endpoint: "hook", Key: mailbox(i), EventType: "presence.changed",
				Payload: []byte(`{"availability":"busy"}`), NextAttempt: start})
		}
		if _, err := st.Enqueue(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
		for _, q := range []struct {
			name  string
			limit int
		}{{"batch100", 100}, {"allHeads", 0}} {
			b.Run(q.name, func(b *testing.B) {
				for b.Loop() {
					due, err := st.Due(b.Context(), "hook", start, q.limit)
					if err != nil {
						b.Fatal(err)
					}
					if want := min(q.limit, mailboxes); q.limit == 0 && len(due) != mailboxes || q.limit > 0 && len(due) != want {
						b.Fatalf("Due returned %d messages", len(due))
					}
				}
			})
		}
	})
	b.Run("OutboxEnqueueDeliver", func(b *testing.B) {
		st := factory(b)
		defer st.Close()
		payload := []byte(`{"user":"user00001@example.com","current":{"availability":"busy","status_text":"In a meeting until 15:00"}}`)
		i := 0
		for b.Loop() {
			msgs, err := st.Enqueue(b.Context(), []store.OutboxMessage{{Endpoint: "hook", Key: mailbox(i), EventType: "presence.changed", Payload: payload}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Due(b.Context(), "hook", start, 10); err != nil {
				b.Fatal(err)
			}
			if err := st.MarkDelivered(b.Context(), msgs[0].ID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
