package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/store"
)

// Values in the ids bucket: 8-byte seq plus a state byte.
const (
	stateLive = 'L'
	stateDead = 'D'
)

func queueKey(endpoint, key string, seq uint64) []byte {
	k := make([]byte, 0, len(endpoint)+len(key)+10)
	k = append(k, endpoint...)
	k = append(k, 0)
	k = append(k, key...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// Enqueue stores messages in one transaction and returns them with ID and Seq set.
func (s *Store) Enqueue(ctx context.Context, msgs []store.OutboxMessage) ([]store.OutboxMessage, error) {
	if err := store.ValidateOutboxMessages(msgs); err != nil {
		return nil, err
	}
	for i, m := range msgs {
		if strings.ContainsRune(m.Endpoint, 0) || strings.ContainsRune(m.Key, 0) {
			return nil, fmt.Errorf("boltstore: outbox message %d: endpoint and key must not contain NUL", i)
		}
	}
	var out []store.OutboxMessage
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out = make([]store.OutboxMessage, len(msgs)) // a retried batch starts over
		meta, ids := tx.Bucket(bucketMeta), tx.Bucket(bucketIDs)
		var seq uint64
		if raw := meta.Get(keySeq); len(raw) == 8 {
			seq = binary.BigEndian.Uint64(raw)
		}
		added := map[string]int{} // new pending messages per endpoint
		for i, m := range msgs {
			if m.ID == "" {
				m.ID = store.NewMessageID()
			}
			if ids.Get([]byte(m.ID)) != nil {
				return fmt.Errorf("boltstore: enqueue: message id %q exists: %w", m.ID, store.ErrConflict)
			}
			seq++
			m.Seq, m.Dead, m.DeadAt = seq, false, time.Time{}
			m.NextAttempt, m.CreatedAt, m.RequeuedAt = utc(m.NextAttempt), utc(m.CreatedAt), utc(m.RequeuedAt)
			if len(m.Payload) == 0 {
				m.Payload = nil
			} else {
				m.Payload = append([]byte(nil), m.Payload...)
			}
			if err := s.putMessage(tx, bucketOutbox, m); err != nil {
				return err
			}
			if err := tx.Bucket(bucketQueue).Put(queueKey(m.Endpoint, m.Key, m.Seq), []byte{}); err != nil {
				return err
			}
			if err := ids.Put([]byte(m.ID), append(seqKey(m.Seq), stateLive)); err != nil {
				return err
			}
			added[m.Endpoint]++
			out[i] = m
		}
		for endpoint, n := range added {
			if err := addCount(tx, endpoint, n, 0); err != nil {
				return err
			}
		}
		return meta.Put(keySeq, seqKey(seq))
	})
	if err != nil {
		return nil, err
	}
	// Hand out copies so that callers cannot reach into what we keep.
	for i := range out {
		if out[i].Payload != nil {
			out[i].Payload = append([]byte(nil), out[i].Payload...)
		}
	}
	return out, nil
}

func (s *Store) putMessage(tx *bolt.Tx, bucket []byte, m store.OutboxMessage) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("boltstore: encode outbox message %s: %w", m.ID, err)
	}
	return tx.Bucket(bucket).Put(seqKey(m.Seq), raw)
}

func (s *Store) getMessage(tx *bolt.Tx, bucket []byte, seq []byte) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	raw := tx.Bucket(bucket).Get(seq)
	if raw == nil {
		return m, s.corrupt("outbox index entry", seq, fmt.Errorf("message missing from %s", bucket))
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, s.corrupt("outbox message", seq, err)
	}
	if len(m.Payload) == 0 {
		m.Payload = nil
	}
	m.NextAttempt, m.CreatedAt = utc(m.NextAttempt), utc(m.CreatedAt)
	m.DeadAt, m.RequeuedAt = utc(m.DeadAt), utc(m.RequeuedAt)
	return m, nil
}

// liveMessage looks a live message up by id.
func (s *Store) liveMessage(tx *bolt.Tx, id string, op string) (store.OutboxMessage, error) {
	ref := tx.Bucket(bucketIDs).Get([]byte(id))
	if len(ref) != 9 || ref[8] != stateLive {
		return store.OutboxMessage{}, fmt.Errorf("boltstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	return s.getMessage(tx, bucketOutbox, ref[:8])
}

// Due returns, for each key of the endpoint, the oldest live message if it
// is due, in Seq order, up to limit (<= 0: all). It visits one queue entry
// per key with pending messages, not every pending message.
func (s *Store) Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]store.OutboxMessage, error) {
	if endpoint == "" {
		return nil, fmt.Errorf("boltstore: due messages need an endpoint name")
	}
	var out []store.OutboxMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		// Collect the head of every key (the first queue entry of its
		// group), then decode them in Seq order only until limit is reached.
		var heads [][]byte
		prefix := append([]byte(endpoint), 0)
		c := tx.Bucket(bucketQueue).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); {
			if len(k) < len(prefix)+9 {
				return s.corrupt("outbox queue key", k, fmt.Errorf("too short"))
			}
			heads = append(heads, k[len(k)-8:])
			// Skip the rest of this key: seek past <endpoint>\0<key>\0.
			next := append([]byte(nil), k[:len(k)-9]...)
			k, _ = c.Seek(append(next, 1))
		}
		sort.Slice(heads, func(i, j int) bool { return bytes.Compare(heads[i], heads[j]) < 0 })
		for _, seq := range heads {
			m, err := s.getMessage(tx, bucketOutbox, seq)
			if err != nil {
				return err
			}
			if m.NextAttempt.After(now) {
				continue
			}
			out = append(out, m)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// removeLive deletes a live message and its queue entry.
func (s *Store) removeLive(tx *bolt.Tx, m store.OutboxMessage) error {
	if err := tx.Bucket(bucketOutbox).Delete(seqKey(m.Seq)); err != nil {
		return err
	}
	return tx.Bucket(bucketQueue).Delete(queueKey(m.Endpoint, m.Key, m.Seq))
}

// MarkDelivered removes a live message from the outbox.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		m, err := s.liveMessage(tx, id, "mark delivered")
		if err != nil {
			return err
		}
		if err := s.removeLive(tx, m); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIDs).Delete([]byte(id)); err != nil {
			return err
		}
		return addCount(tx, m.Endpoint, -1, 0)
	})
}

// MarkFailed records a failed attempt; f.Dead moves the message to the
// dead letters, which unblocks the next message of its key.
func (s *Store) MarkFailed(ctx context.Context, id string, f store.Failure) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		m, err := s.liveMessage(tx, id, "mark failed")
		if err != nil {
			return err
		}
		m.Attempts++
		m.LastError = f.Error
		m.NextAttempt = utc(f.Next)
		if !f.Dead {
			return s.putMessage(tx, bucketOutbox, m)
		}
		m.Dead, m.DeadAt = true, utc(f.At)
		if err := s.removeLive(tx, m); err != nil {
			return err
		}
		if err := s.putMessage(tx, bucketDead, m); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIDs).Put([]byte(id), append(seqKey(m.Seq), stateDead)); err != nil {
			return err
		}
		return addCount(tx, m.Endpoint, -1, 1)
	})
}

// DeadLetters lists the dead messages q selects, oldest first. It seeks to
// q.After and reads the dead letters from there in Seq order; with an
// endpoint filter it decodes the other endpoints' dead letters on the way.
func (s *Store) DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error) {
	var out []store.OutboxMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if q.After == math.MaxUint64 {
			return nil
		}
		c := tx.Bucket(bucketDead).Cursor()
		for k, _ := c.Seek(seqKey(q.After + 1)); k != nil && (q.Limit <= 0 || len(out) < q.Limit); k, _ = c.Next() {
			m, err := s.getMessage(tx, bucketDead, k)
			if err != nil {
				return err
			}
			if q.Endpoint != "" && m.Endpoint != q.Endpoint {
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// deadMessage looks a dead message up by id.
func (s *Store) deadMessage(tx *bolt.Tx, id string, op string) (store.OutboxMessage, error) {
	ref := tx.Bucket(bucketIDs).Get([]byte(id))
	if len(ref) != 9 || ref[8] != stateDead {
		return store.OutboxMessage{}, fmt.Errorf("boltstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	return s.getMessage(tx, bucketDead, ref[:8])
}

// DeadLetter returns one dead message by id.
func (s *Store) DeadLetter(ctx context.Context, id string) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		m, err = s.deadMessage(tx, id, "dead letter")
		return err
	})
	return m, err
}

// revive moves dead message m back to the live outbox and its key's queue
// under its Seq, as store.Requeued describes, and returns it as stored.
// The caller adjusts the counters.
func (s *Store) revive(tx *bolt.Tx, m store.OutboxMessage, now time.Time) (store.OutboxMessage, error) {
	m = store.Requeued(m, now)
	if err := tx.Bucket(bucketDead).Delete(seqKey(m.Seq)); err != nil {
		return m, err
	}
	if err := s.putMessage(tx, bucketOutbox, m); err != nil {
		return m, err
	}
	if err := tx.Bucket(bucketQueue).Put(queueKey(m.Endpoint, m.Key, m.Seq), []byte{}); err != nil {
		return m, err
	}
	return m, tx.Bucket(bucketIDs).Put([]byte(m.ID), append(seqKey(m.Seq), stateLive))
}

// RequeueDeadLetter moves one dead message back to the live outbox under
// its id and Seq, in one transaction.
func (s *Store) RequeueDeadLetter(ctx context.Context, id string, now time.Time) (store.OutboxMessage, error) {
	var out store.OutboxMessage
	err := s.update(ctx, func(tx *bolt.Tx) error {
		m, err := s.deadMessage(tx, id, "requeue dead letter")
		if err != nil {
			return err
		}
		if out, err = s.revive(tx, m, now); err != nil {
			return err
		}
		return addCount(tx, m.Endpoint, 1, -1)
	})
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return out, nil
}

// RequeueDeadLetters moves every dead message of an endpoint back to the
// live outbox in one transaction and returns how many. It reads every dead
// letter to find the endpoint's.
func (s *Store) RequeueDeadLetters(ctx context.Context, endpoint string, now time.Time) (int, error) {
	if endpoint == "" {
		return 0, fmt.Errorf("boltstore: requeue dead letters needs an endpoint name")
	}
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0 // a retried batch starts over
		// Collect first: bolt cursors must not run over keys being deleted.
		var msgs []store.OutboxMessage
		c := tx.Bucket(bucketDead).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			m, err := s.getMessage(tx, bucketDead, k)
			if err != nil {
				return err
			}
			if m.Endpoint == endpoint {
				msgs = append(msgs, m)
			}
		}
		for _, m := range msgs {
			if _, err := s.revive(tx, m, now); err != nil {
				return err
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		n = len(msgs)
		return addCount(tx, endpoint, n, -n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// OutboxStats counts pending and dead messages per endpoint from counters
// kept in the same transactions as the messages.
func (s *Store) OutboxStats(ctx context.Context) (map[string]store.OutboxCount, error) {
	out := map[string]store.OutboxCount{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
			if len(v) != 16 {
				return s.corrupt("outbox counter", k, fmt.Errorf("%d bytes, want 16", len(v)))
			}
			out[string(k)] = store.OutboxCount{Pending: int(binary.BigEndian.Uint64(v)), Dead: int(binary.BigEndian.Uint64(v[8:]))}
			return nil
		})
	})
	return out, err
}

// addCount adjusts an endpoint's pending and dead counters; an endpoint
// whose counters reach zero is removed.
func addCount(tx *bolt.Tx, endpoint string, pending, dead int) error {
	b := tx.Bucket(bucketCounts)
	var p, d int64
	if v := b.Get([]byte(endpoint)); len(v) == 16 {
		p, d = int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
	}
	p, d = max(p+int64(pending), 0), max(d+int64(dead), 0)
	if p == 0 && d == 0 {
		return b.Delete([]byte(endpoint))
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(p))
	return b.Put([]byte(endpoint), binary.BigEndian.AppendUint64(v, uint64(d)))
}
