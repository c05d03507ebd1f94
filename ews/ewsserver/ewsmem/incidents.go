package ewsmem

import (
	"fmt"

	"github.com/calsync/calsync/ews"
)

// The incidents of a real Exchange farm that clients must survive: streams
// cut, subscriptions expiring, a mailbox server restarting, a mailbox
// moving, sync states invalidated, event reads failing. They are part of
// the model because they change its state; the simulator (ewssim) triggers
// them on demand.

// DropStreams cuts every open streaming connection without a final
// envelope and returns how many there were.
func (x *Exchange) DropStreams() int {
	conns := x.streams()
	for _, c := range conns {
		c.drop()
	}
	return len(conns)
}

// WakeStreams makes every streaming connection look at its state again
// (after Conditions.StreamsSilent changed) and returns how many there are.
func (x *Exchange) WakeStreams() int {
	conns := x.streams()
	for _, c := range conns {
		c.wake()
	}
	return len(conns)
}

// ExpireSubscriptions makes every subscription expire now and returns how
// many there were.
func (x *Exchange) ExpireSubscriptions() int { return x.expireSubscriptions() }

// RestartServer simulates a mailbox server restart: the subscriptions and
// streams of server fqdn ("" = every server) are lost; a restart of the
// whole farm also invalidates every old watermark. It returns how many
// subscriptions were lost.
func (x *Exchange) RestartServer(fqdn string) (int, error) {
	server := -1
	if fqdn != "" {
		i, ok := x.serverIndex(fqdn)
		if !ok {
			return 0, fmt.Errorf("ewsmem: unknown server %q", fqdn)
		}
		server = i
	}
	for _, c := range x.streams() {
		if server < 0 || c.onServer(server) {
			c.drop()
		}
	}
	n := x.dropSubscriptions(server)
	if server < 0 {
		x.subs.mu.Lock()
		x.epoch++
		x.subs.mu.Unlock()
	}
	return n, nil
}

// MoveMailbox moves a mailbox to server fqdn ("" = the next one): its
// subscriptions are lost and Autodiscover answers the new server. It
// returns the new server and how many subscriptions were lost.
func (x *Exchange) MoveMailbox(smtp, fqdn string) (string, int, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", 0, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	next := (mb.server + 1) % len(x.servers)
	if fqdn != "" {
		i, ok := x.serverIndex(fqdn)
		if !ok {
			mb.mu.Unlock()
			return "", 0, fmt.Errorf("ewsmem: unknown server %q", fqdn)
		}
		next = i
	}
	mb.server = next
	mb.mu.Unlock()
	n := x.endMovedSubscriptions(mb)
	return x.servers[next], n, nil
}

// InvalidateSyncStates makes every existing SyncFolderItems state of
// mailbox smtp ("" = all mailboxes) fail with ErrorInvalidSyncStateData,
// and returns how many mailboxes it touched.
func (x *Exchange) InvalidateSyncStates(smtp string) int {
	n := 0
	for _, addr := range x.Mailboxes() {
		if smtp != "" && addr != smtp {
			continue
		}
		mb, _ := x.mailbox(addr)
		mb.mu.Lock()
		mb.syncEpoch++
		mb.mu.Unlock()
		n++
	}
	return n
}

// FailNextGetEvents makes the next GetEvents of every pull subscription
// fail with ErrorReadEventsFailed (which deletes it), and returns how many
// subscriptions it marked.
func (x *Exchange) FailNextGetEvents() int {
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	n := 0
	for _, s := range x.subs.byID {
		if s.kind == ews.SubscriptionPull {
			s.readFailed = true
			n++
		}
	}
	return n
}

func (s *streamConn) onServer(server int) bool {
	s.x.subs.mu.Lock()
	defer s.x.subs.mu.Unlock()
	for _, sub := range s.subs {
		if sub.server == server {
			return true
		}
	}
	return false
}
