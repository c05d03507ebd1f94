package sip_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors/sip"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/clusterrig/rigtest"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
)

// Real processes (internal/clusterrig): two calsync instances on
// PostgreSQL publish to Kamailio. After a SIGKILL the survivor takes the
// dead instance's users over and continues their publications; an
// instance paused (SIGSTOP) past its lease and resumed publishes nothing
// over its successor. Throughout, the server keeps one publication per
// user and the watcher's documents carry one tuple.
func TestClusterProcessesKeepOnePublicationPerUser(t *testing.T) {
	const n = 9
	srv := kamailiotest.New(t, kamailio.Options{})
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	secret := filepath.Join(t.TempDir(), "sip-password")
	if err := os.WriteFile(secret, []byte(srv.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	r := rigtest.Start(t, clusterrig.Options{Instances: 2, Mailboxes: n, Servers: 2, Instance: clusterrig.InstanceConfig{
		Extra: fmt.Sprintf("connectors:\n  sip: {server: %q, domain: %q, username: %q, password_file: %q, concurrency: 8}\n",
			"sip:"+srv.Addr, srv.Domain, srv.Publisher, secret)}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	entities := make([]string, n)
	for i := range entities {
		entities[i] = fmt.Sprintf("sip:user%d@%s", i+1, srv.Domain)
		if err := w.Subscribe(ctx, entities[i], 3600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := pgstore.Open(ctx, r.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// settled: the running instances publish n users between them, each
	// user has one publication whose tag is in the shared store.
	settled := func(what string, running ...*clusterrig.Instance) {
		t.Helper()
		testenv.WaitForWithin(t, 2*time.Minute, what, func() bool {
			users := 0
			for _, in := range running {
				u, ok := publishing(ctx, in)
				if !ok {
					return false
				}
				users += u
			}
			if users != n {
				return false
			}
			stored, err := sip.StoredTags(ctx, st, "sip")
			if err != nil {
				t.Fatal(err)
			}
			return kamailiotest.TagsSaved(ctx, t, srv, stored, entities)
		})
	}
	// republished waits for a NOTIFY of every user after the counts in
	// before, each with one tuple.
	republished := func(what string, before map[string]int) {
		t.Helper()
		for _, e := range entities {
			testenv.WaitFor(t, e+" "+what, func() bool {
				l := w.Notifies(e)
				return len(l) > before[e] && l[len(l)-1].Doc != nil && l[len(l)-1].Doc.Tuples == 1
			})
		}
	}
	counts := func() map[string]int {
		m := map[string]int{}
		for _, e := range entities {
			m[e] = len(w.Notifies(e))
		}
		return m
	}
	a, b := r.Instances()[0], r.Instances()[1]
	settled("both instances publishing their users", a, b)

	before := counts()
	a.Kill()
	settled("the survivor publishing every user after the SIGKILL", b)
	// a's users were taken over and republished (b's own may see no
	// NOTIFY meanwhile). The server NOTIFYs after it answered the PUBLISH
	// whose tag settled saw stored, so the NOTIFY may still be on its way.
	testenv.WaitFor(t, "a user republished after the SIGKILL", func() bool {
		for e, c := range before {
			if len(w.Notifies(e)) > c {
				return true
			}
		}
		return false
	})

	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForWithin(t, 2*time.Minute, "the restarted instance to take a share", func() bool {
		u, ok := publishing(ctx, a)
		return ok && u > 0
	})
	settled("both instances publishing again", a, b)
	before = counts()
	if err := b.Pause(); err != nil {
		t.Fatal(err)
	}
	settled("the other instance publishing every user while one is paused", a)
	if err := b.Resume(); err != nil {
		t.Fatal(err)
	}
	settled("both instances publishing after the resume", a, b)
	republished("published once more, one tuple", before)
}

// publishing is how many users an instance's SIP connector publishes.
func publishing(ctx context.Context, in *clusterrig.Instance) (int, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL()+"api/v1/connectors", nil)
	if err != nil {
		return 0, false
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	var l struct {
		Connectors []struct {
			Users int `json:"users"`
		} `json:"connectors"`
	}
	if json.NewDecoder(res.Body).Decode(&l) != nil || len(l.Connectors) != 1 {
		return 0, false
	}
	return l.Connectors[0].Users, true
}
