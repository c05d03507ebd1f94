package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

func msg(endpoint, key, event string) store.OutboxMessage {
	return store.OutboxMessage{Endpoint: endpoint, Key: key, EventType: event, Payload: []byte(`{"key":"` + key + `"}`), CreatedAt: at(0)}
}

func enqueue(t *testing.T, st store.Store, msgs ...store.OutboxMessage) []store.OutboxMessage {
	t.Helper()
	out, err := st.Enqueue(ctxT(t), msgs)
	must(t, err, "Enqueue")
	if len(out) != len(msgs) {
		t.Fatalf("Enqueue returned %d messages for %d", len(out), len(msgs))
	}
	return out
}

func msgIDs(msgs []store.OutboxMessage) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func due(t *testing.T, st store.Store, endpoint string, now time.Time, limit int) []string {
	t.Helper()
	msgs, err := st.Due(ctxT(t), endpoint, now, limit)
	must(t, err, "Due")
	return msgIDs(msgs)
}

func testOutboxEnqueue(t *testing.T, st store.Store) {
	first := enqueue(t, st, msg("hook", "a", "presence.changed"), msg("hook", "b", "presence.changed"))
	given := msg("hook", "a", "sync.health")
	given.ID = "caller-chosen-id"
	second := enqueue(t, st, given, msg("other", "a", "presence.changed"))
	all := append(first, second...)
	seen := map[string]bool{}
	for i, m := range all {
		if m.ID == "" || seen[m.ID] {
			t.Errorf("message %d has empty or repeated id %q", i, m.ID)
		}
		seen[m.ID] = true
		if i > 0 && m.Seq <= all[i-1].Seq {
			t.Errorf("Seq not increasing: %d after %d", m.Seq, all[i-1].Seq)
		}
		if m.Attempts != 0 || m.Dead {
			t.Errorf("new message %d: attempts %d dead %v", i, m.Attempts, m.Dead)
		}
	}
	if all[2].ID != "caller-chosen-id" {
		t.Errorf("caller id replaced by %q", all[2].ID)
	}
	got, err := st.Due(ctxT(t), "hook", at(0), 0)
	must(t, err, "Due")
	want := []store.OutboxMessage{first[0], first[1]}
	if err := diff("due messages as enqueued", got, want); err != nil {
		t.Error(err)
	}

	_, err = st.Enqueue(ctxT(t), []store.OutboxMessage{msg("hook", "c", "x"), given})
	wantErr(t, "enqueue of an existing id", err, store.ErrConflict)
	_, err = st.Enqueue(ctxT(t), []store.OutboxMessage{{Endpoint: "hook", EventType: "x"}})
	if err == nil {
		t.Error("Enqueue accepted a message without key")
	}
	stats, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")
	want2 := map[string]store.OutboxCount{"hook": {Pending: 3}, "other": {Pending: 1}}
	if err := diff("stats after a refused batch (nothing of it stored)", stats, want2); err != nil {
		t.Error(err)
	}
}

func testOutboxDueOrder(t *testing.T, st store.Store) {
	m := enqueue(t, st,
		msg("hook", "alice", "e1"), msg("hook", "bob", "e1"), msg("hook", "alice", "e2"),
		msg("other", "alice", "e1"), msg("hook", "carol", "e1"), msg("hook", "bob", "e2"))
	if got, want := due(t, st, "hook", at(0), 0), []string{m[0].ID, m[1].ID, m[4].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due = %v, want the oldest per key %v", got, want)
	}
	if got, want := due(t, st, "hook", at(0), 2), []string{m[0].ID, m[1].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due with limit 2 = %v, want %v", got, want)
	}
	if got, want := due(t, st, "other", at(0), 0), []string{m[3].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due of other endpoint = %v, want %v", got, want)
	}
	if got := due(t, st, "nobody", at(0), 0); len(got) != 0 {
		t.Errorf("due of unknown endpoint = %v", got)
	}
	// Delivering alice's first message lets her second one through.
	must(t, st.MarkDelivered(ctxT(t), m[0].ID), "MarkDelivered")
	if got, want := due(t, st, "hook", at(0), 0), []string{m[1].ID, m[2].ID, m[4].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due after delivery = %v, want %v", got, want)
	}
}

func testOutboxNextAttempt(t *testing.T, st store.Store) {
	later := msg("hook", "bob", "e1")
	later.NextAttempt = at(2)
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "alice", "e2"), later)
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 503", 0.5, 1, false)), "MarkFailed")
	tests := []struct {
		now  float64
		want []string
	}{
		{0, nil},               // alice's head waits until 1 and blocks e2; bob waits until 2
		{0.99, nil},            // still nothing
		{1, []string{m[0].ID}}, // alice's head is due; e2 stays behind it
		{2, []string{m[0].ID, m[2].ID}},
	}
	for _, tc := range tests {
		got := due(t, st, "hook", at(tc.now), 0)
		if tc.want == nil {
			tc.want = []string{}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("due at +%vh = %v, want %v", tc.now, got, tc.want)
		}
	}
	msgs, err := st.Due(ctxT(t), "hook", at(1), 1)
	must(t, err, "Due")
	if len(msgs) != 1 || msgs[0].Attempts != 1 || msgs[0].LastError != "HTTP 503" || !msgs[0].NextAttempt.Equal(at(1)) {
		t.Errorf("failed message = %+v", msgs)
	}
}

func testOutboxDeadLetter(t *testing.T, st store.Store) {
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "alice", "e2"), msg("other", "bob", "e1"))
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 500", 0, 1, false)), "MarkFailed 1")
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 500", 1, 2, false)), "MarkFailed 2")
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 410 Gone", 2.5, 3, true)), "MarkFailed dead")
	if got, want := due(t, st, "hook", at(0), 0), []string{m[1].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("dead head must unblock its key: due = %v, want %v", got, want)
	}
	must(t, st.MarkFailed(ctxT(t), m[2].ID, failure("timeout", 2.75, 3, true)), "MarkFailed other dead")
	dead, err := st.DeadLetters(ctxT(t), store.DeadLetterQuery{})
	must(t, err, "DeadLetters")
	if len(dead) != 2 || dead[0].ID != m[0].ID || dead[1].ID != m[2].ID {
		t.Fatalf("dead letters = %v, want [%s %s]", msgIDs(dead), m[0].ID, m[2].ID)
	}
	want := m[0]
	want.Attempts, want.LastError, want.NextAttempt, want.Dead, want.DeadAt = 3, "HTTP 410 Gone", at(3), true, at(2.5)
	if err := diff("dead letter", dead[0], want); err != nil {
		t.Error(err)
	}
	if dl, err := st.DeadLetters(ctxT(t), store.DeadLetterQuery{Limit: 1}); err != nil || len(dl) != 1 || dl[0].ID != m[0].ID {
		t.Errorf("DeadLetters(limit 1) = %v, %v", msgIDs(dl), err)
	}
	wantErr(t, "MarkFailed on a dead message", st.MarkFailed(ctxT(t), m[0].ID, failure("x", 4, 4, false)), store.ErrNotFound)
	wantErr(t, "MarkDelivered on a dead message", st.MarkDelivered(ctxT(t), m[0].ID), store.ErrNotFound)
	stats, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")
	if err := diff("stats", stats, map[string]store.OutboxCount{"hook": {Pending: 1, Dead: 1}, "other": {Dead: 1}}); err != nil {
		t.Error(err)
	}
}

func testOutboxDeliveredStats(t *testing.T, st store.Store) {
	stats, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats empty")
	if len(stats) != 0 {
		t.Errorf("empty outbox stats = %v", stats)
	}
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "bob", "e1"))
	must(t, st.MarkDelivered(ctxT(t), m[0].ID), "MarkDelivered")
	wantErr(t, "second MarkDelivered", st.MarkDelivered(ctxT(t), m[0].ID), store.ErrNotFound)
	must(t, st.MarkDelivered(ctxT(t), m[1].ID), "MarkDelivered")
	stats, err = st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")
	if stats["hook"] != (store.OutboxCount{}) {
		t.Errorf("stats after delivering everything = %v", stats)
	}
	if got := due(t, st, "hook", at(10), 0); len(got) != 0 {
		t.Errorf("due after delivery = %v", got)
	}
	// Seq keeps increasing after deliveries.
	n := enqueue(t, st, msg("hook", "alice", "e2"))
	if n[0].Seq <= m[1].Seq {
		t.Errorf("Seq %d after %d", n[0].Seq, m[1].Seq)
	}
}

// calls exercises every method once and reports the errors by method name.
func calls(ctx context.Context, st store.Store) map[string]error {
	cp := checkpoint(window(0, 48), "s")
	errs := map[string]error{}
	errs["CommitWindow"] = st.CommitWindow(ctx, alice, store.WindowCommit{Checkpoint: cp})
	errs["SaveCheckpoint"] = st.SaveCheckpoint(ctx, alice, cp)
	errs["SaveStatus"] = st.SaveStatus(ctx, fullStatus(alice))
	errs["SaveStatuses"] = st.SaveStatuses(ctx, []store.MailboxStatus{fullStatus(alice)})
	errs["SaveOOF"] = st.SaveOOF(ctx, alice, calendar.OOFSettings{State: calendar.OOFEnabled})
	_, errs["Mailbox"] = st.Mailbox(ctx, alice)
	_, errs["Mailboxes"] = st.Mailboxes(ctx)
	_, errs["Occurrences"] = st.Occurrences(ctx, alice, at(0), at(1))
	errs["AcquireLease"] = st.AcquireLease(ctx, alice, "n", at(0), time.Hour)
	errs["ReleaseLease"] = st.ReleaseLease(ctx, alice, "n")
	errs["SavePresence"] = st.SavePresence(ctx, alice, []byte("{}"))
	errs["SavePresences"] = st.SavePresences(ctx, map[string][]byte{alice: []byte("{}")})
	errs["SavePresences (empty)"] = st.SavePresences(ctx, nil)
	_, errs["LoadPresence"] = st.LoadPresence(ctx)
	_, errs["Enqueue"] = st.Enqueue(ctx, []store.OutboxMessage{msg("hook", "a", "e")})
	_, errs["Due"] = st.Due(ctx, "hook", at(0), 0)
	errs["MarkDelivered"] = st.MarkDelivered(ctx, "id")
	errs["MarkFailed"] = st.MarkFailed(ctx, "id", failure("x", 0, 0, false))
	_, errs["DeadLetters"] = st.DeadLetters(ctx, store.DeadLetterQuery{})
	_, errs["DeadLetter"] = st.DeadLetter(ctx, "id")
	_, errs["RequeueDeadLetter"] = st.RequeueDeadLetter(ctx, "id", at(0))
	_, errs["RequeueDeadLetters"] = st.RequeueDeadLetters(ctx, "hook", at(0))
	_, errs["OutboxStats"] = st.OutboxStats(ctx)
	errs["DeleteMailbox"] = st.DeleteMailbox(ctx, alice)
	return errs
}

func testCancelledContext(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range calls(ctx, st) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if _, err := st.Mailbox(ctxT(t), alice); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled CommitWindow wrote data: Mailbox error %v", err)
	}
}

func testClosed(t *testing.T, st store.Store) {
	commit(t, st, alice, checkpoint(window(0, 48), "s"), occ("a", 1, 2))
	must(t, st.Close(), "Close")
	for name, err := range calls(ctxT(t), st) {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	wantErr(t, "second Close", st.Close(), store.ErrClosed)
}
