package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/pgstore"
)

// clusterProbe reads a running rig: the instances' metrics and APIs, the
// simulator's counters, the leases in the database.
type clusterProbe struct {
	rig   *clusterrig.Rig
	st    *pgstore.Store
	users []string
}

// pollEvery is how often the probe looks at the cluster while waiting.
const pollEvery = 200 * time.Millisecond

// started is the earliest process start of the instances (their
// process_start_time_seconds metric).
func (p *clusterProbe) started(ctx context.Context) (time.Time, error) {
	var first time.Time
	for _, in := range p.rig.Instances() {
		m, err := metrics(ctx, in, "process_start_time_seconds")
		if err != nil {
			return first, err
		}
		t := time.Unix(0, int64(m["process_start_time_seconds"]*1e9))
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first, nil
}

// rss is each instance's resident memory now.
func (p *clusterProbe) rss(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, in := range p.rig.Instances() {
		m, err := metrics(ctx, in, "process_resident_memory_bytes")
		if err != nil {
			return nil, err
		}
		out[in.ID] = int64(m["process_resident_memory_bytes"])
	}
	return out, nil
}

// allLive reports whether the running instances sync every mailbox,
// each once, and all live.
func (p *clusterProbe) allLive(ctx context.Context) (bool, string, error) {
	states, err := p.rig.States(ctx)
	if err != nil {
		return false, "", err
	}
	total := 0
	for _, n := range states {
		total += n
	}
	return states[engine.StateLive] == len(p.users) && total == len(p.users), fmt.Sprint(states), nil
}

// waitLive waits until allLive, reporting progress every 10 s.
func (p *clusterProbe) waitLive(ctx context.Context, limit time.Duration, progress io.Writer) error {
	deadline := time.Now().Add(limit)
	report := time.Now()
	for {
		ok, states, err := p.allLive(ctx)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("not every mailbox live within %s: %w", limit, err)
			}
			return fmt.Errorf("not every mailbox live within %s (states %s)", limit, states)
		}
		if time.Since(report) >= 10*time.Second {
			fmt.Fprintf(progress, "bench: waiting for every mailbox live: %s\n", states)
			report = time.Now()
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
	}
}

// owners is the lease holder of every mailbox.
func (p *clusterProbe) owners(ctx context.Context) (map[string]string, error) {
	ps, err := p.st.Placements(ctx, p.users)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ps))
	for _, pl := range ps {
		out[pl.SMTP] = pl.Owner
	}
	return out, nil
}

// notAway lists the users of owner whose presence, read through in, is
// not out of office: an out-of-office appointment from now on must turn
// each out of office (it outranks every other calendar state).
func (p *clusterProbe) notAway(ctx context.Context, in *clusterrig.Instance, owners map[string]string, owner string) ([]string, error) {
	all, err := presences(ctx, in)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range p.users {
		if owners[u] == owner && all[u] != string(presence.OutOfOffice) {
			out = append(out, u)
		}
	}
	return out, nil
}

// book adds an out-of-office appointment from a minute before at to an
// hour after to each user's calendar on the simulator, eight at a time.
func (p *clusterProbe) book(ctx context.Context, users []string, at time.Time) error {
	item := ewssim.ItemJSON{Subject: "Failover check", Start: at.Add(-time.Minute).UTC(), End: at.Add(time.Hour).UTC(), FreeBusy: string(ews.FreeBusyOOF)}
	work := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for u := range work {
				if err := p.rig.Sim().Control(ctx, http.MethodPost, "mailboxes/"+u+"/items", item, nil); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, u := range users {
		work <- u
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// waitFailover waits until every mailbox is live on the running instances
// (live is when that was first seen) and then until every user of away
// shows out of office through one of them (done).
func (p *clusterProbe) waitFailover(ctx context.Context, limit time.Duration, victim string, away []string) (taken, live, done time.Time, err error) {
	deadline := time.Now().Add(limit)
	left := map[string]bool{}
	for _, u := range away {
		left[u] = true
	}
	var states string
	for {
		now := time.Now()
		if taken.IsZero() {
			if owners, err := p.owners(ctx); err == nil && leasedBySurvivors(owners, victim) {
				taken = now
			}
		}
		if live.IsZero() {
			var ok bool
			ok, states, err = p.allLive(ctx)
			if err == nil && ok {
				live = now
			}
		}
		if !live.IsZero() {
			for _, in := range p.rig.Instances() {
				if !in.Running() || len(left) == 0 {
					continue
				}
				all, err := presences(ctx, in)
				if err != nil {
					continue // answered next time
				}
				for u := range left {
					if all[u] == string(presence.OutOfOffice) {
						delete(left, u)
					}
				}
			}
			if len(left) == 0 {
				return taken, live, now, nil
			}
		}
		if now.After(deadline) {
			return taken, live, done, fmt.Errorf("within %s: every mailbox live: %v (states %s); %d of %d booked users not out of office yet",
				limit, !live.IsZero(), states, len(left), len(away))
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return taken, live, done, err
		}
	}
}

// leasedBySurvivors reports whether every mailbox is leased, none by
// victim.
func leasedBySurvivors(owners map[string]string, victim string) bool {
	for _, o := range owners {
		if o == "" || o == victim {
			return false
		}
	}
	return true
}

func (p *clusterProbe) simStats(ctx context.Context) (ewssim.Stats, error) {
	var st ewssim.Stats
	err := p.rig.Sim().Control(ctx, http.MethodGet, "stats", nil, &st)
	return st, err
}

// presences reads every user's availability through in's API.
func presences(ctx context.Context, in *clusterrig.Instance) (map[string]string, error) {
	c, err := apiclient.New(in.URL(), "", nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for offset := 0; ; {
		page, err := c.Users(ctx, apiclient.ListUsersOptions{Offset: offset, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, u := range page.Users {
			out[u.User] = u.Availability
		}
		offset += len(page.Users)
		if len(page.Users) == 0 || offset >= page.Total {
			return out, nil
		}
	}
}

// metrics reads the named gauges (without labels) from in's /metrics.
func metrics(ctx context.Context, in *clusterrig.Instance, names ...string) (map[string]float64, error) {
	out := map[string]float64{}
	err := scrape(ctx, in, func(name, value string) {
		for _, n := range names {
			if name == n {
				if v, err := strconv.ParseFloat(value, 64); err == nil {
					out[n] = v
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s /metrics has no %s", in.ID, n)
		}
	}
	return out, nil
}

// scrape calls each with every sample line of in's /metrics: the name
// with its labels ({…} as written) and the value.
func scrape(ctx context.Context, in *clusterrig.Instance, each func(name, value string)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL()+"metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /metrics: %s", in.ID, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if name, value, ok := sampleLine(sc.Text()); ok {
			each(name, value)
		}
	}
	return sc.Err()
}

// sampleLine splits a sample line of the text format, name{labels} value,
// at the last space: a label value may hold spaces (the read reason "time
// zone"), and the registry writes no timestamps.
func sampleLine(line string) (name, value string, ok bool) {
	line = strings.TrimSpace(line)
	i := strings.LastIndexByte(line, ' ')
	if i < 0 || strings.HasPrefix(line, "#") {
		return "", "", false
	}
	return strings.TrimSpace(line[:i]), line[i+1:], true
}

// labelled reads the samples of a counter with one label from in's
// /metrics, by label value.
func labelled(ctx context.Context, in *clusterrig.Instance, metric string) (map[string]int64, error) {
	out := map[string]int64{}
	err := scrape(ctx, in, func(name, value string) {
		rest, ok := strings.CutPrefix(name, metric+"{")
		if !ok {
			return
		}
		_, label, ok := strings.Cut(strings.TrimSuffix(rest, "}"), "=")
		v, err := strconv.ParseFloat(value, 64)
		if ok && err == nil {
			out[strings.Trim(label, `"`)] = int64(v)
		}
	})
	return out, err
}

// readCauses sums the reads by reason and streaming connection events of
// the instances ins (every instance when none are named).
func (p *clusterProbe) readCauses(ctx context.Context, ins ...*clusterrig.Instance) (ReadCauses, error) {
	if len(ins) == 0 {
		ins = p.rig.Instances()
	}
	var sum ReadCauses
	for _, in := range ins {
		reads, err := labelled(ctx, in, readsMetric)
		if err != nil {
			return sum, err
		}
		events, err := labelled(ctx, in, streamEventsMetric)
		if err != nil {
			return sum, err
		}
		sum.add(ReadCauses{Reads: reads, StreamEvents: events})
	}
	return sum, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
