package graphserver_test

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
)

const nodeInstall = "apt-get install -y nodejs npm"

// jsStep is one line test/graphjs/conformance.js prints.
type jsStep struct {
	Step      string `json:"step"`
	ExpiresIn int    `json:"expires_in"`
	FirstPage int    `json:"firstPage"`
	Events    []struct {
		ID    string `json:"id"`
		Start struct {
			DateTime string `json:"dateTime"`
			TimeZone string `json:"timeZone"`
		} `json:"start"`
	} `json:"events"`
	Entries []struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Removed string `json:"removed"`
	} `json:"entries"`
	Pages    int    `json:"pages"`
	TimeZone string `json:"timeZone"`
	Auto     struct {
		Status string `json:"status"`
	} `json:"automaticRepliesSetting"`
	StatusCode   int    `json:"statusCode"`
	Code         string `json:"code"`
	IsGraphError bool   `json:"isGraphError"`
}

// graphJSDir installs the pinned JavaScript Graph client (npm ci, from
// package-lock.json) unless it is there already, and returns test/graphjs.
func graphJSDir(t *testing.T) (node, dir string) {
	t.Helper()
	node = testenv.LookPath(t, "node", nodeInstall)
	npm := testenv.LookPath(t, "npm", nodeInstall)
	dir = filepath.Join(testenv.RepoRoot(t), "test", "graphjs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@microsoft", "microsoft-graph-client", "package.json")); err == nil {
		return node, dir
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "@microsoft/microsoft-graph-client (npm ci in test/graphjs failed: "+strings.TrimSpace(string(out))+")",
			"cd test/graphjs && npm ci (needs the npm registry)")
	}
	return node, dir
}

// TestMicrosoftGraphJSClient: Microsoft's JavaScript Graph client lists a
// calendarView with its PageIterator, follows two delta rounds around a
// change, reads mailboxSettings and gets a GraphError for an unknown user,
// all against the simulator, and sees the model's ground truth.
func TestMicrosoftGraphJSClient(t *testing.T) {
	node, dir := graphJSDir(t)
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 1, Seed: 9}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetOOF("user1@example.com", ews.OofSettings{State: ews.OofEnabled, InternalReply: "away"}); err != nil {
		t.Fatal(err)
	}
	g, err := graphserver.New(sim, graphserver.Options{Tenant: tenant, ClientID: clientID, ClientSecret: secret, EmptyFirstDeltaPage: true})
	if err != nil {
		t.Fatal(err)
	}
	// The JS client follows absolute nextLinks only over https, as Graph is.
	srv := httptest.NewTLSServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	now := sim.Now().UTC()
	from, to := now.Add(-7*24*time.Hour).Truncate(time.Hour), now.Add(14*24*time.Hour).Truncate(time.Hour)
	cmd := exec.Command(node, "conformance.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile, "GRAPH_HOST="+srv.URL, "TENANT="+tenant, "CLIENT_ID="+clientID,
		"CLIENT_SECRET="+secret, "USER_ID=user1@example.com", "START="+from.Format(time.RFC3339), "END="+to.Format(time.RFC3339))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	next := func(want string) jsStep {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("conformance.js ended before %s: %v\n%s", want, lines.Err(), stderr.String())
		}
		var s jsStep
		if err := json.Unmarshal(lines.Bytes(), &s); err != nil || s.Step != want {
			t.Fatalf("conformance.js printed %s, want step %s (%v)", lines.Bytes(), want, err)
		}
		return s
	}
	truth, err := sim.Occurrences("user1@example.com", from, to)
	if err != nil || len(truth) < 5 {
		t.Fatalf("generated calendar: %d items (%v)", len(truth), err)
	}
	want := map[string]bool{}
	for _, it := range truth {
		want[graphID(it.ItemId.Id)] = true
	}

	view := next("calendarView")
	if view.ExpiresIn != 3599 || view.FirstPage != 4 || len(view.Events) != len(truth) {
		t.Fatalf("calendarView: expires_in %d, first page %d, %d events; want 3599, 4 ($top), %d", view.ExpiresIn, view.FirstPage, len(view.Events), len(truth))
	}
	for _, e := range view.Events {
		if !want[e.ID] || e.Start.TimeZone != "Pacific Standard Time" {
			t.Fatalf("calendarView event %+v: unknown id or not in Pacific Standard Time", e)
		}
	}

	d1 := next("delta1")
	if len(d1.Entries) != len(truth) || d1.Pages < 3 {
		t.Fatalf("initial delta round: %d entries over %d pages; want %d over several pages", len(d1.Entries), d1.Pages, len(truth))
	}
	// Change the mailbox between the rounds: one created, one deleted.
	at := now.Add(time.Hour).Truncate(time.Hour)
	if _, err := sim.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "from Go", Start: at, End: at.Add(time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatal(err)
	}
	var gone ews.ItemId
	for _, it := range truth {
		if it.CalendarItemType == ews.ItemTypeSingle {
			gone = it.ItemId
			break
		}
	}
	if err := sim.DeleteCalendarItem("user1@example.com", ews.ItemRef{Item: &gone}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "next")
	d2 := next("delta2")
	var created, removed bool
	for _, e := range d2.Entries {
		created = created || e.Subject == "from Go"
		removed = removed || (e.ID == graphID(gone.Id) && e.Removed == "deleted")
	}
	if !created || !removed || len(d2.Entries) != 2 {
		t.Fatalf("second delta round %+v: want the created item and the deleted one", d2.Entries)
	}

	ms := next("mailboxSettings")
	if !strings.EqualFold(ms.Auto.Status, "alwaysEnabled") || ms.TimeZone == "" {
		t.Fatalf("mailboxSettings: %+v", ms)
	}
	e := next("error")
	if e.StatusCode != 404 || e.Code != "ErrorInvalidUser" || !e.IsGraphError {
		t.Fatalf("error for an unknown user: %+v", e)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("conformance.js: %v\n%s", err, stderr.String())
	}
}
