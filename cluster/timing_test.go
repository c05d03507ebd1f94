package cluster

import (
	"testing"
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// TestNextRound: a round comes a period later unless this instance waits
// for something due sooner — a dead instance's registration running out,
// a dead holder's lease running out, a live holder handing over — and
// never sooner than the floor.
func TestNextRound(t *testing.T) {
	const period = 5 * time.Second
	floor := 3 * period / 100
	alive := pgstore.Members{Alive: []string{"a", "b"}, NextExpiry: 12 * time.Second}
	mine := map[string]string{"m1": "a", "m2": "a", "m3": "b"}
	for _, c := range []struct {
		name       string
		members    pgstore.Members
		placements []pgstore.Placement
		held       map[string]int64
		want       time.Duration
	}{
		{"settled", alive, []pgstore.Placement{{SMTP: "m1", Owner: "a"}, {SMTP: "m2", Owner: "a"}, {SMTP: "m3", Owner: "b"}},
			map[string]int64{"m1": 1, "m2": 2}, period},
		{"another instance's registration runs out first", pgstore.Members{Alive: []string{"a", "b"}, NextExpiry: 2 * time.Second},
			nil, map[string]int64{"m1": 1, "m2": 2}, 2 * time.Second},
		{"a dead holder's lease runs out", alive, []pgstore.Placement{{SMTP: "m1", Owner: "a"}, {SMTP: "m2", Owner: "c", Expires: 900 * time.Millisecond}},
			map[string]int64{"m1": 1}, 900 * time.Millisecond},
		{"a live holder hands over", alive, []pgstore.Placement{{SMTP: "m2", Owner: "b", Expires: time.Hour}},
			map[string]int64{"m1": 1}, period / 4},
		{"free but not granted (taken meanwhile)", alive, []pgstore.Placement{{SMTP: "m2"}},
			map[string]int64{"m1": 1}, floor},
		{"a mailbox assigned elsewhere is not waited for", alive, []pgstore.Placement{{SMTP: "m3", Owner: "c", Expires: time.Millisecond}},
			map[string]int64{"m1": 1, "m2": 2}, period},
	} {
		if got := nextRound(period, c.members, c.placements, mine, c.held, "a"); got != c.want {
			t.Errorf("%s: next round in %s, want %s", c.name, got, c.want)
		}
	}
}
