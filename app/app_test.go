package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/calsync/calsync/internal/testenv"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/boltstore"
)

// startApp runs calsync against a simulator over HTTP with Basic auth and
// returns an API client.
func startApp(t *testing.T, mode config.NotificationMode, users int, prepare ...func(*ewssim.Simulator)) (*ewssim.Simulator, *apiclient.Client, *app.App) {
	t.Helper()
	return startAppWithConfig(t, mode, users, nil, prepare...)
}

// appSetup is what a test may adjust before the app is built.
type appSetup struct {
	cfg  *config.Config
	sim  *ewssim.Simulator
	opts *app.Options
	// reload is handed to Run (SIGHUP in calsync run); nil: none.
	reload chan struct{}
}

// startAppWithConfig is startApp with a hook that adjusts the setup
// before the app is built.
func startAppWithConfig(t *testing.T, mode config.NotificationMode, users int, adjust func(*appSetup), prepare ...func(*ewssim.Simulator)) (*ewssim.Simulator, *apiclient.Client, *app.App) {
	t.Helper()
	sim, err := ewssim.New(ewssim.Options{
		Options: ewsmem.Options{Mailboxes: users, Servers: 2, Seed: 7, Password: "s3cret-pw"},
		Basic:   true,
	})
	if err != nil {
		t.Fatalf("ewssim.New: %v", err)
	}
	for _, p := range prepare {
		p(sim)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })

	cfg := config.Defaults()
	cfg.Exchange.EWSURL = srv.URL + "/EWS/Exchange.asmx"
	cfg.Exchange.AutodiscoverURL = srv.URL + "/autodiscover/autodiscover.svc"
	cfg.Exchange.Auth = config.Auth{Method: config.AuthBasic, Username: sim.ServiceAccount(), Password: config.NewSecret("s3cret-pw", "test")}
	cfg.Exchange.Notifications.Mode = mode
	cfg.Exchange.Notifications.PullInterval = 200 * time.Millisecond
	cfg.Exchange.Notifications.CoalesceDelay = 50 * time.Millisecond
	cfg.Store.Path = filepath.Join(t.TempDir(), "calsync.db")
	for i := 1; i <= users; i++ {
		cfg.Users.Static = append(cfg.Users.Static, "user"+itoa(i)+"@example.com")
	}
	opts := app.Options{Config: cfg}
	var setup appSetup
	if adjust != nil {
		setup.cfg, setup.sim, setup.opts = cfg, sim, &opts
		adjust(&setup)
	}
	if opts.Listener == nil { // a test may have made it (to know the URL early)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opts.Listener = ln
	}
	a, err := app.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, setup.reload) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return within 20s of cancellation")
		}
	})
	c, err := apiclient.New(a.URL(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, a
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestEndToEnd drives the whole path — simulator → EWS client → engine →
// store → presence → API/SSE — in both notification modes: a meeting
// booked now makes the user busy, its deletion makes the user available.
func TestEndToEnd(t *testing.T) {
	for _, mode := range []config.NotificationMode{config.Streaming, config.Pull} {
		t.Run(string(mode), func(t *testing.T) {
			sim, c, a := startApp(t, mode, 5)
			ctx := context.Background()
			testenv.WaitFor(t, "all mailboxes live", func() bool {
				return a.Engine().StateCounts()[engine.StateLive] == 5
			})
			// Live means stored; the scheduler publishes from the store on its
			// own goroutine, so wait for the presence the test asserts.
			testenv.WaitFor(t, "user3 available before the meeting (empty calendar)", func() bool {
				p, err := c.Presence(ctx, "user3@example.com")
				return err == nil && p.Availability == "available"
			})
			events, err := c.Events(ctx, "", "user3@example.com")
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			defer events.Close()

			now := time.Now().UTC().Truncate(time.Second)
			id, err := sim.AddCalendarItem("user3@example.com", ews.CalendarItem{
				Subject: "Incident review", Start: now.Add(-time.Minute), End: now.Add(30 * time.Minute),
				LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true,
			})
			if err != nil {
				t.Fatalf("AddCalendarItem: %v", err)
			}
			testenv.WaitFor(t, "user3 busy through the API", func() bool {
				p, err := c.Presence(ctx, "user3@example.com")
				return err == nil && p.Availability == "busy"
			})
			p, _ := c.Presence(ctx, "user3@example.com")
			if p.Until == nil || !p.Until.Equal(now.Add(30*time.Minute)) {
				t.Errorf("busy until = %v, want %v", p.Until, now.Add(30*time.Minute))
			}
			if p.Why.ItemID == "" {
				t.Errorf("presence has no deciding item: %+v", p.Why)
			}
			// The change arrives on the event stream too.
			got := make(chan apiclient.Event, 1)
			go func() {
				for {
					ev, err := events.Next()
					if err != nil {
						return
					}
					if ev.Type == "presence.changed" && strings.Contains(ev.Data, `"busy"`) {
						got <- ev
						return
					}
				}
			}()
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("no presence.changed event with busy on the SSE stream")
			}
			agenda, err := c.Agenda(ctx, "user3@example.com", now.Add(-time.Hour), now.Add(time.Hour))
			if err != nil {
				t.Fatalf("Agenda: %v", err)
			}
			if b, _ := json.Marshal(agenda); !strings.Contains(string(b), "Incident review") {
				t.Errorf("agenda does not show the meeting: %s", b)
			}

			// Delete it through EWS-equivalent write path and expect available.
			if err := deleteItem(sim, "user3@example.com", id); err != nil {
				t.Fatalf("delete: %v", err)
			}
			testenv.WaitFor(t, "user3 available again", func() bool {
				p, err := c.Presence(ctx, "user3@example.com")
				return err == nil && p.Availability == "available"
			})
			resp, err := http.Get(a.URL())
			if err != nil {
				t.Fatalf("GET dashboard: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("dashboard answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	}
}

// deleteItem deletes an item with calsync's own EWS client, impersonating
// the owner, as another EWS application would.
func deleteItem(sim *ewssim.Simulator, owner string, id ews.ItemId) error {
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{
		HTTPClient: ewsclient.BasicAuth(http.DefaultClient, sim.ServiceAccount(), "s3cret-pw"),
	})
	if err != nil {
		return err
	}
	errs, err := c.DeleteItem(context.Background(), ewsclient.ActAs(owner), ewsclient.DeleteItemRequest{Items: []ews.ItemRef{{Item: &id}}})
	if err != nil {
		return err
	}
	return errs[0]
}

// TestOutOfScopeMailboxIsUnknown: a mailbox the service account may not
// impersonate is marked denied with a hint, its presence is unknown (never
// guessed), and the other mailboxes keep syncing.
func TestOutOfScopeMailboxIsUnknown(t *testing.T) {
	_, c, a := startApp(t, config.Streaming, 4, func(sim *ewssim.Simulator) {
		if err := sim.SetImpersonationScope(sim.ServiceAccount(), []string{"user1@example.com", "user2@example.com", "user3@example.com"}); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	testenv.WaitFor(t, "three mailboxes live and one denied", func() bool {
		n := a.Engine().StateCounts()
		return n[engine.StateLive] == 3 && n[engine.StateDenied] == 1
	})
	st, err := c.SyncStatus(ctx, "user4@example.com")
	if err != nil {
		t.Fatalf("SyncStatus: %v", err)
	}
	b, _ := json.Marshal(st)
	if !strings.Contains(string(b), "ErrorImpersonateUserDenied") {
		t.Errorf("sync status of user4 does not name ErrorImpersonateUserDenied: %s", b)
	}
	testenv.WaitFor(t, "user4 presence unknown", func() bool {
		p, err := c.Presence(ctx, "user4@example.com")
		return err == nil && p.Availability == "unknown"
	})
	testenv.WaitFor(t, "user1 presence known", func() bool {
		p, err := c.Presence(ctx, "user1@example.com")
		return err == nil && p.Availability != "unknown"
	})
}

// TestPrivateItemsRevealedOnlyWhenARuleAllowsIt: the agenda masks the
// subject, location and organizer of private items unless the rule that
// decides the item sets reveal_private.
func TestPrivateItemsRevealedOnlyWhenARuleAllowsIt(t *testing.T) {
	rules := presence.RuleSet{Rules: append([]presence.Rule{{
		Name:          "shared-private",
		Match:         presence.Match{Sensitivity: []string{"private"}, Categories: []string{"Share with reception"}},
		Profile:       "busy",
		StatusText:    "Busy with {{.Subject}}",
		RevealPrivate: true,
	}}, presence.DefaultRules()...)}
	sim, c, a := startAppWithConfig(t, config.Streaming, 2, func(setup *appSetup) {
		cfg := setup.cfg
		compiled, err := presence.CompileRuleSet(rules)
		if err != nil {
			t.Fatalf("CompileRuleSet: %v", err)
		}
		cfg.Presence = config.Presence{RuleSet: rules, Compiled: compiled}
	})
	ctx := context.Background()
	testenv.WaitFor(t, "both mailboxes live", func() bool {
		return a.Engine().StateCounts()[engine.StateLive] == 2
	})
	now := time.Now().UTC().Truncate(time.Second)
	for _, it := range []ews.CalendarItem{
		{Subject: "Doctor", Location: "Clinic", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour), Sensitivity: ews.SensitivityPrivate, LegacyFreeBusyStatus: ews.FreeBusyBusy},
		{Subject: "Visitor from ACME", Location: "Lobby", Start: now.Add(3 * time.Hour), End: now.Add(4 * time.Hour), Sensitivity: ews.SensitivityPrivate, LegacyFreeBusyStatus: ews.FreeBusyBusy, Categories: []string{"Share with reception"}},
	} {
		if _, err := sim.AddCalendarItem("user1@example.com", it); err != nil {
			t.Fatalf("AddCalendarItem: %v", err)
		}
	}
	var agenda api.AgendaDTO
	testenv.WaitFor(t, "both private items in the agenda", func() bool {
		var err error
		agenda, err = c.Agenda(ctx, "user1@example.com", now, now.Add(5*time.Hour))
		return err == nil && len(agenda.Items) == 2
	})
	b, _ := json.Marshal(agenda)
	for _, secret := range []string{"Doctor", "Clinic"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("agenda reveals %q of a private item no rule allows: %s", secret, b)
		}
	}
	for _, shared := range []string{"Visitor from ACME", "Lobby"} {
		if !strings.Contains(string(b), shared) {
			t.Errorf("agenda hides %q although rule shared-private reveals it: %s", shared, b)
		}
	}
}

// TestImpersonationBySID: with exchange.impersonation.id_type sid the
// engine impersonates each user by the SID the users source gives (here a
// CSV file): a SID that names no mailbox fails that user alone, and a user
// without a SID falls back to the SMTP address.
func TestImpersonationBySID(t *testing.T) {
	_, c, a := startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		cfg, sim := setup.cfg, setup.sim
		sid1, ok := sim.SIDOf("user1@example.com")
		if !ok {
			t.Fatal("simulator has no SID for user1")
		}
		csv := "mail,upn,sid\n" +
			"user1@example.com,user1@example.com," + sid1 + "\n" +
			"user2@example.com,user2@example.com,S-1-5-21-1004336348-1177238915-682003330-99999\n" +
			"user3@example.com,user3@example.com,\n"
		path := filepath.Join(t.TempDir(), "users.csv")
		if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Users.Static = nil
		cfg.Users.CSVFile = path
		cfg.Exchange.Impersonation.IDType = config.ImpersonateSID
	})
	ctx := context.Background()
	testenv.WaitFor(t, "user1 and user3 live, user2 denied", func() bool {
		n := a.Engine().StateCounts()
		return n[engine.StateLive] == 2 && n[engine.StateDenied] == 1
	})
	st, err := c.SyncStatus(ctx, "user2@example.com")
	if err != nil {
		t.Fatalf("SyncStatus: %v", err)
	}
	if b, _ := json.Marshal(st); !strings.Contains(string(b), "ErrorNonExistentMailbox") {
		t.Errorf("user2, impersonated by a SID that names no mailbox, reports %s; want ErrorNonExistentMailbox", b)
	}
	// Live means the calendar is stored; the scheduler publishes presence from
	// it on its own goroutine, so wait for the presence itself.
	for _, u := range []string{"user1@example.com", "user3@example.com"} {
		testenv.WaitFor(t, u+" presence known through the API", func() bool {
			p, err := c.Presence(ctx, u)
			return err == nil && p.Availability != "unknown"
		})
	}
}

// TestNewFailsCleanlyWhenTheAPIAddressIsTaken: a failing New (here the API
// port is in use, e.g. by a second calsync) returns an error naming the
// address, does not panic, and releases what it opened (the store).
func TestNewFailsCleanlyWhenTheAPIAddressIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := config.Defaults()
	cfg.Exchange.EWSURL = "https://mail.example.com/EWS/Exchange.asmx"
	cfg.Exchange.Auth = config.Auth{Method: config.AuthBasic, Username: "svc", Password: config.NewSecret("pw", "test")}
	cfg.Users.Static = []string{"user1@example.com"}
	cfg.Store.Path = filepath.Join(t.TempDir(), "calsync.db")
	cfg.API.Listen = busy.Addr().String()

	a, err := app.New(context.Background(), app.Options{Config: cfg})
	if err == nil {
		t.Fatal("New succeeded on an address already in use")
	}
	if a != nil {
		t.Errorf("New returned an instance with the error %v", err)
	}
	if !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("error %q does not name the address in use", err)
	}
	st, err := boltstore.Open(cfg.Store.Path, boltstore.Options{LockTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("the failed New left the store open: %v", err)
	}
	st.Close()
}

// TestInitialSyncIsReported: the service logs one summary when every
// mailbox has settled, counting the live and the failing ones.
func TestInitialSyncIsReported(t *testing.T) {
	var logs testenv.SyncBuffer
	startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		sim, opts := setup.sim, setup.opts
		if err := sim.SetImpersonationScope(sim.ServiceAccount(), []string{"user1@example.com", "user2@example.com"}); err != nil {
			t.Fatal(err)
		}
		opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	testenv.WaitFor(t, "the initial sync summary in the log", func() bool {
		return strings.Contains(logs.String(), "initial sync done")
	})
	for _, want := range []string{"mailboxes=3", "live=2", "failing=1", "some mailboxes do not sync"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestReloadAddsAndRemovesUsers: a reload (SIGHUP) re-reads the users
// source; a user added to the CSV file starts syncing and a removed one
// stops, without a restart.
func TestReloadAddsAndRemovesUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte("user1@example.com\nuser2@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload := make(chan struct{}, 1)
	_, c, a := startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		cfg := setup.cfg
		cfg.Users.Static = nil
		cfg.Users.CSVFile = path
		setup.reload = reload
	})
	synced := func() string {
		var users []string
		for _, st := range a.Engine().Statuses() {
			if st.State == engine.StateLive {
				users = append(users, st.SMTP)
			}
		}
		sort.Strings(users)
		return strings.Join(users, ",")
	}
	testenv.WaitFor(t, "user1 and user2 live", func() bool { return synced() == "user1@example.com,user2@example.com" })

	if err := os.WriteFile(path, []byte("user2@example.com\nuser3@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	testenv.WaitFor(t, "user2 and user3 live, user1 gone", func() bool { return synced() == "user2@example.com,user3@example.com" })
	// The scheduler drops a removed user on its own goroutine: wait for what
	// the test asserts, the API no longer answering for user1.
	testenv.WaitFor(t, "the API to stop answering presence for the removed user1", func() bool {
		_, err := c.Presence(context.Background(), "user1@example.com")
		return err != nil
	})
}

// TestDeadLetterRoutesFollowTheWebhookConfig: with a webhook configured the
// dead-letter routes are served by the app's dispatcher (an empty list; a
// retry of an unknown id is 404); without webhooks they answer 501.
func TestDeadLetterRoutesFollowTheWebhookConfig(t *testing.T) {
	ctx := context.Background()
	_, c, _ := startAppWithConfig(t, config.Streaming, 1, func(setup *appSetup) {
		cfg := setup.cfg
		cfg.Webhooks = []config.Webhook{{Name: "pbx", URL: "http://127.0.0.1:1/hook", Secret: config.NewSecret("0123456789abcdef", "test"), Timeout: time.Second}}
	})
	list, err := c.DeadLetters(ctx, apiclient.DeadLettersOptions{Endpoint: "pbx"})
	if err != nil {
		t.Fatalf("DeadLetters with a webhook configured: %v", err)
	}
	if len(list.DeadLetters) != 0 {
		t.Errorf("a fresh instance lists %d dead letters", len(list.DeadLetters))
	}
	var apiErr *apiclient.Error
	if _, err := c.RetryDeadLetter(ctx, "no-such-delivery"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("RetryDeadLetter(unknown id) = %v, want a 404", err)
	}

	_, plain, _ := startApp(t, config.Streaming, 1)
	if _, err := plain.DeadLetters(ctx, apiclient.DeadLettersOptions{}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotImplemented {
		t.Errorf("DeadLetters without webhooks = %v, want a 501", err)
	}
}
