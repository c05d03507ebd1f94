package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/calsync/calsync/store"
)

// Enqueue stores messages and returns them with ID and Seq set. Either all
// messages are stored or none.
func (s *Store) Enqueue(ctx context.Context, msgs []store.OutboxMessage) ([]store.OutboxMessage, error) {
	if err := store.ValidateOutboxMessages(msgs); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.ID != "" && s.outbox[m.ID] != nil {
			return nil, fmt.Errorf("memstore: enqueue: message id %q exists: %w", m.ID, store.ErrConflict)
		}
	}
	out := make([]store.OutboxMessage, len(msgs))
	for i, m := range msgs {
		m = copyMessage(m)
		if m.ID == "" {
			m.ID = store.NewMessageID()
		}
		s.seq++
		m.Seq = s.seq
		m.Dead, m.DeadAt = false, time.Time{}
		m.NextAttempt = utc(m.NextAttempt)
		m.CreatedAt = utc(m.CreatedAt)
		m.RequeuedAt = utc(m.RequeuedAt)
		stored := m
		s.outbox[m.ID] = &stored
		out[i] = copyMessage(m)
	}
	return out, nil
}

// sortedLocked returns the messages of one endpoint ("" = all) with the
// given dead flag, in Seq order.
func (s *Store) sortedLocked(endpoint string, dead bool) []*store.OutboxMessage {
	var list []*store.OutboxMessage
	for _, m := range s.outbox {
		if m.Dead == dead && (endpoint == "" || m.Endpoint == endpoint) {
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Seq < list[j].Seq })
	return list
}

// Due returns up to limit (<= 0: all) deliverable messages of an endpoint:
// for each Key the oldest live message, if its NextAttempt <= now.
func (s *Store) Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]store.OutboxMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	if endpoint == "" {
		return nil, fmt.Errorf("memstore: due messages need an endpoint name")
	}
	blocked := make(map[string]bool)
	var out []store.OutboxMessage
	for _, m := range s.sortedLocked(endpoint, false) {
		if blocked[m.Key] {
			continue
		}
		blocked[m.Key] = true
		if m.NextAttempt.After(now) {
			continue
		}
		out = append(out, copyMessage(*m))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// MarkDelivered removes a live message from the outbox.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	m := s.outbox[id]
	if m == nil || m.Dead {
		return fmt.Errorf("memstore: mark delivered %q: %w", id, store.ErrNotFound)
	}
	delete(s.outbox, id)
	return nil
}

// MarkFailed records a failed attempt; f.Dead moves the message to the
// dead letters, which unblocks the next message of its key.
func (s *Store) MarkFailed(ctx context.Context, id string, f store.Failure) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	m := s.outbox[id]
	if m == nil || m.Dead {
		return fmt.Errorf("memstore: mark failed %q: %w", id, store.ErrNotFound)
	}
	m.Attempts++
	m.LastError = f.Error
	m.NextAttempt = utc(f.Next)
	m.Dead = f.Dead
	if f.Dead {
		m.DeadAt = utc(f.At)
	}
	return nil
}

// DeadLetters lists the dead messages q selects, oldest first.
func (s *Store) DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	var out []store.OutboxMessage
	for _, m := range s.sortedLocked(q.Endpoint, true) {
		if m.Seq <= q.After {
			continue
		}
		out = append(out, copyMessage(*m))
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// DeadLetter returns one dead message by id.
func (s *Store) DeadLetter(ctx context.Context, id string) (store.OutboxMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return store.OutboxMessage{}, err
	}
	m := s.outbox[id]
	if m == nil || !m.Dead {
		return store.OutboxMessage{}, fmt.Errorf("memstore: dead letter %q: %w", id, store.ErrNotFound)
	}
	return copyMessage(*m), nil
}

// RequeueDeadLetter moves one dead message back to the live outbox under
// its id and Seq.
func (s *Store) RequeueDeadLetter(ctx context.Context, id string, now time.Time) (store.OutboxMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return store.OutboxMessage{}, err
	}
	m := s.outbox[id]
	if m == nil || !m.Dead {
		return store.OutboxMessage{}, fmt.Errorf("memstore: requeue dead letter %q: %w", id, store.ErrNotFound)
	}
	*m = store.Requeued(*m, now)
	return copyMessage(*m), nil
}

// RequeueDeadLetters moves every dead message of an endpoint back to the
// live outbox and returns how many.
func (s *Store) RequeueDeadLetters(ctx context.Context, endpoint string, now time.Time) (int, error) {
	if endpoint == "" {
		return 0, fmt.Errorf("memstore: requeue dead letters needs an endpoint name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return 0, err
	}
	dead := s.sortedLocked(endpoint, true)
	for _, m := range dead {
		*m = store.Requeued(*m, now)
	}
	return len(dead), nil
}

// OutboxStats counts pending and dead messages per endpoint.
func (s *Store) OutboxStats(ctx context.Context) (map[string]store.OutboxCount, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]store.OutboxCount)
	for _, m := range s.outbox {
		c := out[m.Endpoint]
		if m.Dead {
			c.Dead++
		} else {
			c.Pending++
		}
		out[m.Endpoint] = c
	}
	return out, nil
}

func copyMessage(m store.OutboxMessage) store.OutboxMessage {
	if len(m.Payload) == 0 {
		m.Payload = nil
	} else {
		m.Payload = append([]byte(nil), m.Payload...)
	}
	return m
}
