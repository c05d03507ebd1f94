package ewsmem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/testenv"
)

type pyItem struct {
	ItemID      string `json:"item_id"`
	Subject     string `json:"subject"`
	Start       string `json:"start"`
	End         string `json:"end"`
	AllDay      bool   `json:"all_day"`
	FreeBusy    string `json:"free_busy"`
	Sensitivity string `json:"sensitivity"`
	Cancelled   bool   `json:"cancelled"`
	ItemType    string `json:"item_type"`
}

type pyResult struct {
	Version struct {
		Build      string `json:"build"`
		APIVersion string `json:"api_version"`
	} `json:"version"`
	View    []pyItem `json:"view"`
	Fetched []pyItem `json:"fetched"`
	CRUD    struct {
		CreatedID        string `json:"created_id"`
		UpdatedSubject   string `json:"updated_subject"`
		ProjectCode      string `json:"project_code"`
		StateFlags       *int   `json:"state_flags"`
		Cancelled        bool   `json:"cancelled"`
		CancelledByFlags struct {
			Cancelled  bool `json:"cancelled"`
			Meeting    bool `json:"meeting"`
			StateFlags int  `json:"state_flags"`
		} `json:"cancelled_by_flags"`
	} `json:"crud"`
	DelegateSubscribe []string `json:"delegate_subscribe"`
	Sync              struct {
		Initial     int            `json:"initial"`
		AfterCreate map[string]int `json:"after_create"`
		AfterDelete map[string]int `json:"after_delete"`
	} `json:"sync"`
	PullEvents   []string `json:"pull_events"`
	StreamEvents []string `json:"stream_events"`
	FreeBusy     []struct {
		Merged string `json:"merged"`
		Events []struct {
			Start    string `json:"start"`
			End      string `json:"end"`
			BusyType string `json:"busy_type"`
		} `json:"events"`
	} `json:"free_busy"`
	OOF struct {
		State string `json:"state"`
	} `json:"oof"`
}

// requireExchangelib returns the python interpreter with exchangelib.
func requireExchangelib(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Missing(t, "/usr/bin/python3", "apt-get install -y python3 python3-exchangelib")
	}
	if err := exec.Command(py, "-c", "import exchangelib").Run(); err != nil {
		testenv.Missing(t, "python3-exchangelib", "apt-get install -y python3-exchangelib")
	}
	return py
}

func TestExchangelibConformance(t *testing.T) {
	py := requireExchangelib(t)
	script := filepath.Join(testenv.RepoRoot(t), "test", "exchangelib", "conformance.py")
	// delegate: NTLM as user3, who holds FullAccess (--full-access) and
	// opens the mailboxes without impersonation.
	for _, run := range []string{"basic", "ntlm", "delegate"} {
		auth, delegate := run, run == "delegate"
		if delegate {
			auth = "ntlm"
		}
		t.Run(run, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Hour)
			// The NTLM run streams the m:Notification namespace Exchange
			// writes (the default), the Basic run the schema's t: form, so
			// both variants are proven with exchangelib.
			sim, err := ewssim.New(ewssim.Options{Generate: true, Basic: auth == "basic", NTLM: auth == "ntlm", SchemaNotificationNamespace: auth == "basic",
				Options: ewsmem.Options{Mailboxes: 3, Servers: 2, Seed: 42, Password: "Passw0rd!"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			defer func() { srv.Close(); sim.Close() }()
			user, other := "user1@example.com", "user2@example.com"
			account, access := sim.ServiceAccount(), "impersonation"
			if delegate {
				account, access = "user3@example.com", "delegate"
				if err := sim.GrantFullAccess(account, "*"); err != nil {
					t.Fatal(err)
				}
			}
			if err := sim.SetOOF(user, ews.OofSettings{State: ews.OofEnabled, InternalReply: "away"}); err != nil {
				t.Fatal(err)
			}
			start, end := now.Add(-24*time.Hour), now.Add(6*24*time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, script, "--endpoint", srv.URL+"/EWS/Exchange.asmx", "--user", account,
				"--password", "Passw0rd!", "--auth", auth, "--access", access, "--mailbox", user, "--other", other,
				"--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			// Ground truth before the script changes anything.
			truth, err := sim.Occurrences(user, start, end)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Run(); err != nil {
				t.Fatalf("conformance.py: %v\n%s", err, stderr.String())
			}
			var got pyResult
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("conformance.py output: %v\n%s", err, stdout.String())
			}
			if len(got.View) != len(truth) || len(truth) == 0 {
				t.Fatalf("exchangelib view has %d items, ground truth %d", len(got.View), len(truth))
			}
			for i, it := range got.View {
				w := truth[i]
				want := pyItem{ItemID: w.ItemId.Id, Subject: w.Subject, Start: w.Start.UTC().Format(time.RFC3339), End: w.End.UTC().Format(time.RFC3339),
					AllDay: w.IsAllDayEvent, FreeBusy: string(w.LegacyFreeBusyStatus), Sensitivity: string(w.Sensitivity), Cancelled: w.IsCancelled, ItemType: string(w.CalendarItemType)}
				if it != want {
					t.Errorf("view[%d] = %+v\nwant      %+v", i, it, want)
				}
			}
			if len(got.Fetched) != min(5, len(truth)) {
				t.Errorf("fetched %d items", len(got.Fetched))
			}
			for i, it := range got.Fetched {
				if it.Subject != truth[i].Subject || it.ItemType != string(truth[i].CalendarItemType) {
					t.Errorf("fetched[%d] = %+v, want %s %s", i, it, truth[i].Subject, truth[i].CalendarItemType)
				}
			}
			if got.CRUD.UpdatedSubject != "exchangelib updated" {
				t.Errorf("updated subject = %q", got.CRUD.UpdatedSubject)
			}
			// Extended properties as exchangelib registers them: a custom
			// named property stored and returned, the appointment-state
			// flags read (0: neither meeting nor cancelled) and written.
			c := got.CRUD
			if c.ProjectCode != "P-42" || c.StateFlags == nil || *c.StateFlags != 0 || c.Cancelled {
				t.Errorf("extended properties after create: project %q, flags %v, cancelled %v", c.ProjectCode, c.StateFlags, c.Cancelled)
			}
			if f := c.CancelledByFlags; !f.Cancelled || !f.Meeting || f.StateFlags != 5 {
				t.Errorf("after setting PidLidAppointmentStateFlags = 5: %+v, want cancelled meeting with flags 5", f)
			}
			if got.Sync.Initial == 0 || got.Sync.AfterCreate["create"] != 1 || got.Sync.AfterDelete["delete"] != 1 {
				t.Errorf("sync = %+v", got.Sync)
			}
			// No version was given to exchangelib: it found it itself.
			if got.Version.Build != "15.1.2507.39" || got.Version.APIVersion != "Exchange2016" {
				t.Errorf("exchangelib detected %+v, want build 15.1.2507.39, Exchange2016", got.Version)
			}
			// Exchange refuses a delegate's subscription to another user's
			// mailbox, as Microsoft documents; the delegate run streams its
			// own mailbox instead.
			wantRefusals := []string{}
			if delegate {
				wantRefusals = []string{"ErrorSubscriptionDelegateAccessNotSupported", "ErrorSubscriptionDelegateAccessNotSupported"}
			}
			if !slices.Equal(got.DelegateSubscribe, wantRefusals) {
				t.Errorf("delegate subscriptions to %s (pull, streaming) = %v, want %v", user, got.DelegateSubscribe, wantRefusals)
			}
			if !containsAll(got.PullEvents, "CreatedEvent", "ModifiedEvent", "DeletedEvent") {
				t.Errorf("pull events = %v", got.PullEvents)
			}
			if !containsAll(got.StreamEvents, "CreatedEvent") {
				t.Errorf("streaming events = %v", got.StreamEvents)
			}
			if len(got.FreeBusy) != 2 || len(got.FreeBusy[0].Merged) != int(end.Sub(start)/time.Hour) {
				t.Fatalf("free/busy = %+v", got.FreeBusy)
			}
			var busy int
			for _, w := range truth {
				if !w.IsCancelled && w.LegacyFreeBusyStatus != ews.FreeBusyFree {
					busy++
				}
			}
			if len(got.FreeBusy[0].Events) != busy {
				t.Errorf("free/busy events for %s = %d, ground truth %d", user, len(got.FreeBusy[0].Events), busy)
			}
			if got.OOF.State != "Enabled" {
				t.Errorf("oof = %+v", got.OOF)
			}
		})
	}
}

func containsAll(list []string, want ...string) bool {
	have := map[string]bool{}
	for _, s := range list {
		have[s] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}
