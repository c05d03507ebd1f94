package ewsmem_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// panicWatcher is a slog handler that records recovered panics.
type panicWatcher struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicWatcher) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatcher) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.mu.Lock()
		p.panics = append(p.panics, r.Message)
		p.mu.Unlock()
	}
	return nil
}
func (p *panicWatcher) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicWatcher) WithGroup(string) slog.Handler      { return p }

// FuzzEWSRequest feeds arbitrary request bodies to the EWS endpoint: the
// simulator must answer with a SOAP response, a fault or an HTTP error and
// never panic.
func FuzzEWSRequest(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join(testenv.ReferenceDir(f), "ews-samples", "*request*.xml"))
	for _, s := range samples {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>AAAA</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)))
	f.Add([]byte(envelope("Exchange2013_SP1", "user1@example.com", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-03-01T00:00:00Z" EndDate="2026-02-01T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`)))
	// Extended properties in every place a request carries them.
	f.Add([]byte(envelope("Exchange2013_SP1", "user1@example.com", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject><t:ExtendedProperty>`+xpFlags+`<t:Value>5</t:Value></t:ExtendedProperty><t:ExtendedProperty>`+xpTags+`<t:Values><t:Value>a</t:Value></t:Values></t:ExtendedProperty><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`)))
	f.Add([]byte(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+xpProject+xpCodepage+`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="QUFNa0k6MTox"/></m:ItemIds></m:GetItem>`)))
	f.Add([]byte(envelope("Exchange2013_SP1", "user1@example.com", `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="QUFNa0k6MTox"/><t:Updates>`+setXP(xpBusy, `<t:Value>3</t:Value>`)+`<t:DeleteItemField>`+xpProject+`</t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)))
	watcher := &panicWatcher{}
	sim, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 3, Seed: 1,
		Clock: clock.NewFake(t0), Logger: slog.New(watcher)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(sim.Close)
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // streaming requests must not hang the fuzzer
		req := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(body)).WithContext(ctx)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusInternalServerError {
			t.Errorf("HTTP %d for a request body", rec.Code)
		}
		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		if len(watcher.panics) > 0 {
			t.Fatalf("handler panicked: %v", watcher.panics)
		}
	})
}
