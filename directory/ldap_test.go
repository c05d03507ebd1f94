package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

func ldapOptions(srv *slapdServer) LDAPOptions {
	return LDAPOptions{
		URL:      srv.URL,
		BindDN:   testSvcDN,
		Password: testSvcPW,
		BaseDN:   testSuffix,
		GroupDN:  groupDN("calendar-sync"),
		Nested:   true,
		PageSize: 4,
		Timeout:  10 * time.Second,
	}
}

func smtps(users []User) string {
	var s []string
	for _, u := range users {
		s = append(s, u.SMTP)
	}
	return strings.Join(s, ",")
}

func expected(nums ...int) string {
	var s []string
	for _, i := range nums {
		s = append(s, fmt.Sprintf("u%02d@example.com", i))
	}
	return strings.Join(s, ",")
}

func without(nums []int, drop ...int) []int {
	var out []int
	for _, n := range nums {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

func TestLDAPAgainstSlapd(t *testing.T) {
	srv := startSlapd(t, testLDIF(), false, testSizeLimit)
	ctx := context.Background()

	t.Run("nested groups with a cycle, paged", func(t *testing.T) {
		src, err := NewLDAP(ldapOptions(srv))
		if err != nil {
			t.Fatal(err)
		}
		users, err := src.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := smtps(users), expected(without(span(1, 22), 5)...); got != want {
			t.Errorf("users = %s\nwant    %s", got, want)
		}
		if users[0].DisplayName != "Test User 01" {
			t.Errorf("display name = %q", users[0].DisplayName)
		}
		st := src.LastStats()
		if st.Strategy != StrategyRecursive || st.Groups != 3 || st.Cycles != 2 {
			t.Errorf("stats = %+v; want recursive over 3 groups with 2 cycles skipped", st)
		}
		// 24 mail-enabled entries in pages of 4 is 6 pages, plus one page of groups.
		if st.Pages < 7 {
			t.Errorf("pages = %d; want at least 7 (paging must be used)", st.Pages)
		}
	})

	t.Run("SIP address attribute", func(t *testing.T) {
		o := ldapOptions(srv)
		o.SIPAttribute = "labeledURI"
		src, _ := NewLDAP(o)
		users, err := src.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sips := map[string]string{}
		for _, u := range users {
			sips[u.SMTP] = u.SIPAddress
		}
		// u02's value is no SIP address: the user is synced, the connector
		// uses its template for them.
		if sips["u01@example.com"] != "sip:user.one@voice.example.com" || sips["u02@example.com"] != "" || len(users) != 21 {
			t.Errorf("SIP addresses = %v of %d users; want u01's from labeledURI and none for u02", sips, len(users))
		}
	})

	t.Run("direct members only", func(t *testing.T) {
		o := ldapOptions(srv)
		o.Nested = false
		src, _ := NewLDAP(o)
		users, err := src.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := smtps(users), expected(without(span(1, 10), 5)...); got != want {
			t.Errorf("users = %s, want %s", got, want)
		}
	})

	t.Run("paging is necessary: a page above the server limit fails with a hint", func(t *testing.T) {
		o := ldapOptions(srv)
		o.PageSize = 1000
		src, _ := NewLDAP(o)
		_, err := src.Users(ctx)
		if err == nil || !strings.Contains(err.Error(), "size limit") || !strings.Contains(err.Error(), "page_size") {
			t.Fatalf("Users with page size 1000 = %v; want a size-limit error naming page_size", err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		o := ldapOptions(srv)
		o.Password = "wrong"
		src, _ := NewLDAP(o)
		_, err := src.Users(ctx)
		if err == nil || !strings.Contains(err.Error(), "bind as") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("Users = %v; want a bind error without the password", err)
		}
	})

	t.Run("missing group is an error, not an empty list", func(t *testing.T) {
		o := ldapOptions(srv)
		o.GroupDN = groupDN("no-such-group")
		src, _ := NewLDAP(o)
		users, err := src.Users(ctx)
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("Users = %v, %v; want a does-not-exist error", users, err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		src, _ := NewLDAP(ldapOptions(srv))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := src.Users(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Users(cancelled) = %v; want context.Canceled", err)
		}
	})

	t.Run("watcher propagates removal and addition", func(t *testing.T) {
		src, _ := NewLDAP(ldapOptions(srv))
		fake := clock.NewFake(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
		type change struct{ added, removed []User }
		changes := make(chan change, 4)
		w := NewWatcher(src, WatcherOptions{Interval: time.Minute, Clock: fake, OnChange: func(a, r []User) {
			changes <- change{a, r}
		}})
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		defer func() { cancel(); <-done }()

		first := <-changes
		if len(first.added) != 21 || len(first.removed) != 0 {
			t.Fatalf("first change: %d added, %d removed; want 21, 0", len(first.added), len(first.removed))
		}
		// An administrator removes u12 from nested team-a and adds u23 to
		// nested team-b.
		srv.modify(t, groupDN("team-a"), nil, []string{userDN(12)})
		srv.modify(t, groupDN("team-b"), []string{userDN(23)}, nil)
		testenv.WaitFor(t, "the watcher's timer", func() bool { return fake.PendingTimers() > 0 })
		fake.Advance(time.Minute)
		var next change
		select {
		case next = <-changes:
		case <-time.After(15 * time.Second):
			t.Fatal("no change reported after the refresh interval")
		}
		if smtps(next.added) != expected(23) || smtps(next.removed) != expected(12) {
			t.Errorf("change = added %s, removed %s; want added u23, removed u12", smtps(next.added), smtps(next.removed))
		}
		if got := len(w.Users()); got != 21 {
			t.Errorf("watcher holds %d users, want 21", got)
		}
	})
}

func TestLDAPStartTLSAndLDAPS(t *testing.T) {
	srv := startSlapd(t, testLDIF(), true, testSizeLimit)
	ctx := context.Background()
	tests := []struct {
		name    string
		mutate  func(*LDAPOptions)
		wantErr string
	}{
		{"starttls with the CA file", func(o *LDAPOptions) { o.StartTLS, o.CAFile = true, srv.CAFile }, ""},
		{"ldaps with the CA file", func(o *LDAPOptions) { o.URL, o.CAFile = srv.LDAPSURL, srv.CAFile }, ""},
		{"starttls without the CA is refused", func(o *LDAPOptions) { o.StartTLS = true }, "certificate"},
		{"ldaps without the CA is refused", func(o *LDAPOptions) { o.URL = srv.LDAPSURL }, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ldapOptions(srv)
			tc.mutate(&o)
			src, err := NewLDAP(o)
			if err != nil {
				t.Fatal(err)
			}
			users, err := src.Users(ctx)
			if tc.wantErr == "" {
				if err != nil || len(users) != 21 {
					t.Fatalf("Users = %d users, %v; want 21", len(users), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Users = %v; want an error about %q", err, tc.wantErr)
			}
		})
	}
}
