package storetest

import (
	"math"
	"reflect"
	"testing"

	"github.com/calsync/calsync/store"
)

// failure is a failed attempt at hour atHour with the retry at nextHour.
func failure(errText string, atHour, nextHour float64, dead bool) store.Failure {
	return store.Failure{Error: errText, At: at(atHour), Next: at(nextHour), Dead: dead}
}

func deadLetters(t *testing.T, st store.Store, q store.DeadLetterQuery) []string {
	t.Helper()
	msgs, err := st.DeadLetters(ctxT(t), q)
	must(t, err, "DeadLetters")
	return msgIDs(msgs)
}

func stats(t *testing.T, st store.Store) map[string]store.OutboxCount {
	t.Helper()
	s, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")
	return s
}

// testDeadLettersList: every field an administrator needs, filtered by
// endpoint and paged by Seq.
func testDeadLettersList(t *testing.T, st store.Store) {
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "bob", "e1"), msg("other", "alice", "e1"),
		msg("hook", "carol", "e1"), msg("hook", "alice", "e2"))
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 500", 0.5, 1, false)), "MarkFailed")
	for i, id := range []string{m[0].ID, m[1].ID, m[2].ID, m[3].ID} {
		must(t, st.MarkFailed(ctxT(t), id, failure("HTTP 410 Gone", float64(i+1), float64(i+2), true)), "MarkFailed dead")
	}

	got, err := st.DeadLetters(ctxT(t), store.DeadLetterQuery{})
	must(t, err, "DeadLetters")
	if ids, want := msgIDs(got), []string{m[0].ID, m[1].ID, m[2].ID, m[3].ID}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("DeadLetters() = %v, want %v (all endpoints, oldest first)", ids, want)
	}
	want := m[0]
	want.Attempts, want.LastError, want.NextAttempt, want.Dead, want.DeadAt = 2, "HTTP 410 Gone", at(2), true, at(1)
	if err := diff("dead letter", got[0], want); err != nil {
		t.Error(err)
	}
	one, err := st.DeadLetter(ctxT(t), m[1].ID)
	must(t, err, "DeadLetter")
	if err := diff("DeadLetter(id)", one, got[1]); err != nil {
		t.Error(err)
	}

	tests := []struct {
		name string
		q    store.DeadLetterQuery
		want []string
	}{
		{"one endpoint", store.DeadLetterQuery{Endpoint: "hook"}, []string{m[0].ID, m[1].ID, m[3].ID}},
		{"first page", store.DeadLetterQuery{Endpoint: "hook", Limit: 2}, []string{m[0].ID, m[1].ID}},
		{"second page", store.DeadLetterQuery{Endpoint: "hook", After: m[1].Seq, Limit: 2}, []string{m[3].ID}},
		{"after the last", store.DeadLetterQuery{Endpoint: "hook", After: m[3].Seq}, []string{}},
		{"after everything", store.DeadLetterQuery{After: math.MaxUint64}, []string{}},
		{"all endpoints paged", store.DeadLetterQuery{After: m[0].Seq, Limit: 2}, []string{m[1].ID, m[2].ID}},
		{"unknown endpoint", store.DeadLetterQuery{Endpoint: "nobody"}, []string{}},
	}
	for _, tc := range tests {
		if got := deadLetters(t, st, tc.q); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DeadLetters(%s %+v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}

	_, err = st.DeadLetter(ctxT(t), m[4].ID)
	wantErr(t, "DeadLetter of a live message", err, store.ErrNotFound)
	_, err = st.DeadLetter(ctxT(t), "no-such-id")
	wantErr(t, "DeadLetter of an unknown id", err, store.ErrNotFound)

	// What a caller does to a returned message does not reach the store.
	one.Payload[0] = 'X'
	got[1].Payload[0] = 'X'
	again, err := st.DeadLetter(ctxT(t), m[1].ID)
	must(t, err, "DeadLetter")
	if string(again.Payload) != `{"key":"bob"}` {
		t.Errorf("stored payload changed through a returned copy: %s", again.Payload)
	}
}

// testRequeueOne: a re-queued dead letter keeps its id, body and Seq, so it
// is its key's head again, before the key's later pending messages.
func testRequeueOne(t *testing.T, st store.Store) {
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "alice", "e2"), msg("hook", "alice", "e3"), msg("hook", "bob", "e1"))
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 500", 0, 0.5, false)), "MarkFailed")
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 410 Gone", 0.5, 1, true)), "MarkFailed dead")
	// The dead letter let alice's next message through; it failed once.
	must(t, st.MarkFailed(ctxT(t), m[1].ID, failure("HTTP 503", 0.75, 1.25, false)), "MarkFailed e2")

	got, err := st.RequeueDeadLetter(ctxT(t), m[0].ID, at(1.5).In(berlin))
	must(t, err, "RequeueDeadLetter")
	want := m[0]
	want.LastError, want.NextAttempt, want.RequeuedAt, want.Requeues = "HTTP 410 Gone", at(1.5), at(1.5), 1
	if err := diff("re-queued message", got, want); err != nil {
		t.Error(err)
	}
	dueNow, err := st.Due(ctxT(t), "hook", at(1.5), 0)
	must(t, err, "Due")
	if err := diff("due after re-queue (alice's head is the re-queued message, as stored)", dueNow, []store.OutboxMessage{got, m[3]}); err != nil {
		t.Error(err)
	}
	if got, want := due(t, st, "hook", at(1.4), 0), []string{m[3].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due before the re-queue instant = %v, want %v (alice blocked behind her re-queued head)", got, want)
	}
	if got := deadLetters(t, st, store.DeadLetterQuery{}); len(got) != 0 {
		t.Errorf("dead letters after re-queue = %v, want none", got)
	}
	if err := diff("stats after re-queue", stats(t, st), map[string]store.OutboxCount{"hook": {Pending: 4}}); err != nil {
		t.Error(err)
	}
	_, err = st.RequeueDeadLetter(ctxT(t), m[0].ID, at(1.5))
	wantErr(t, "second re-queue of the same id", err, store.ErrNotFound)

	// Dead again and re-queued again: the count goes on.
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 502", 1.75, 2, true)), "MarkFailed dead again")
	dead, err := st.DeadLetter(ctxT(t), m[0].ID)
	must(t, err, "DeadLetter")
	if dead.Attempts != 1 || dead.Requeues != 1 || dead.LastError != "HTTP 502" || !dead.DeadAt.Equal(at(1.75)) || !dead.RequeuedAt.Equal(at(1.5)) {
		t.Errorf("dead again = %+v, want 1 attempt since the re-queue, 1 re-queue at +1.5h, dead at +1.75h", dead)
	}
	got, err = st.RequeueDeadLetter(ctxT(t), m[0].ID, at(2))
	must(t, err, "second RequeueDeadLetter")
	if got.Requeues != 2 || got.Attempts != 0 || got.Seq != m[0].Seq || got.ID != m[0].ID {
		t.Errorf("re-queued twice = %+v", got)
	}
	must(t, st.MarkDelivered(ctxT(t), m[0].ID), "MarkDelivered of the re-queued message")
	if got, want := due(t, st, "hook", at(2), 0), []string{m[1].ID, m[3].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("due after delivering the re-queued message = %v, want %v", got, want)
	}
}

// testRequeueAll moves one endpoint's dead letters back in one call; each
// key gets its messages in their original order.
func testRequeueAll(t *testing.T, st store.Store) {
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "alice", "e2"), msg("hook", "bob", "e1"),
		msg("other", "alice", "e1"), msg("hook", "alice", "e3"))
	for _, id := range []string{m[0].ID, m[1].ID, m[2].ID, m[3].ID} {
		must(t, st.MarkFailed(ctxT(t), id, failure("HTTP 500", 1, 2, true)), "MarkFailed dead")
	}
	n, err := st.RequeueDeadLetters(ctxT(t), "hook", at(3))
	must(t, err, "RequeueDeadLetters")
	if n != 3 {
		t.Errorf("RequeueDeadLetters(hook) = %d, want 3", n)
	}
	if got, want := deadLetters(t, st, store.DeadLetterQuery{}), []string{m[3].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("dead letters after re-queueing hook = %v, want the other endpoint's %v", got, want)
	}
	if err := diff("stats", stats(t, st), map[string]store.OutboxCount{"hook": {Pending: 4}, "other": {Dead: 1}}); err != nil {
		t.Error(err)
	}
	if got := due(t, st, "hook", at(2.9), 0); len(got) != 0 {
		t.Errorf("due before the re-queue instant = %v, want none", got)
	}
	// Drain hook: alice's messages come one at a time in enqueue order.
	var order []string
	for range 10 {
		msgs, err := st.Due(ctxT(t), "hook", at(3), 0)
		must(t, err, "Due")
		if len(msgs) == 0 {
			break
		}
		for _, d := range msgs {
			if d.Requeues != 0 && (d.Attempts != 0 || !d.RequeuedAt.Equal(at(3)) || d.Dead || !d.DeadAt.IsZero()) {
				t.Errorf("re-queued message as due = %+v", d)
			}
			if d.Key == "alice" {
				order = append(order, d.ID)
			}
			must(t, st.MarkDelivered(ctxT(t), d.ID), "MarkDelivered")
		}
	}
	if want := []string{m[0].ID, m[1].ID, m[4].ID}; !reflect.DeepEqual(order, want) {
		t.Errorf("alice's deliveries = %v, want %v", order, want)
	}
	if n, err := st.RequeueDeadLetters(ctxT(t), "hook", at(4)); n != 0 || err != nil {
		t.Errorf("RequeueDeadLetters without dead letters = %d, %v; want 0, nil", n, err)
	}
	if n, err := st.RequeueDeadLetters(ctxT(t), "nobody", at(4)); n != 0 || err != nil {
		t.Errorf("RequeueDeadLetters of an unknown endpoint = %d, %v; want 0, nil", n, err)
	}
	if _, err := st.RequeueDeadLetters(ctxT(t), "", at(4)); err == nil {
		t.Error("RequeueDeadLetters without endpoint name = nil error")
	}
	if got, want := deadLetters(t, st, store.DeadLetterQuery{}), []string{m[3].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("dead letters at the end = %v, want %v", got, want)
	}
}

// testRequeueUnknown: ids that are not dead letters answer ErrNotFound and
// change nothing.
func testRequeueUnknown(t *testing.T, st store.Store) {
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "bob", "e1"))
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 503", 0, 1, false)), "MarkFailed")
	must(t, st.MarkDelivered(ctxT(t), m[1].ID), "MarkDelivered")
	before := stats(t, st)
	for name, id := range map[string]string{"unknown": "no-such-id", "live": m[0].ID, "delivered": m[1].ID, "empty": ""} {
		got, err := st.RequeueDeadLetter(ctxT(t), id, at(2))
		wantErr(t, "RequeueDeadLetter of a "+name+" id", err, store.ErrNotFound)
		if !reflect.DeepEqual(got, store.OutboxMessage{}) {
			t.Errorf("RequeueDeadLetter of a %s id returned %+v", name, got)
		}
	}
	if err := diff("stats", stats(t, st), before); err != nil {
		t.Error(err)
	}
	msgs, err := st.Due(ctxT(t), "hook", at(1), 0)
	must(t, err, "Due")
	if len(msgs) != 1 || msgs[0].Attempts != 1 || msgs[0].Requeues != 0 || !msgs[0].NextAttempt.Equal(at(1)) {
		t.Errorf("the live message changed: %+v", msgs)
	}
}
