package ewsmem_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

// postAsync sends an EWS request as the service account from another
// goroutine; the channel delivers the body (nil and an error on failure).
func (e *wireEnv) postAsync(body string, header ...string) <-chan asyncReply {
	out := make(chan asyncReply, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(body))
		if err != nil {
			out <- asyncReply{err: err}
			return
		}
		req.SetBasicAuth(e.sim.ServiceAccount(), "password")
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- asyncReply{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		out <- asyncReply{status: resp.StatusCode, body: data, err: err}
	}()
	return out
}

type asyncReply struct {
	status int
	body   []byte
	err    error
}

func (e *wireEnv) await(what string, c <-chan asyncReply) asyncReply {
	e.t.Helper()
	select {
	case r := <-c:
		if r.err != nil {
			e.t.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(10 * time.Second):
		e.t.Fatalf("%s: no answer", what)
	}
	return asyncReply{}
}

const syncItemsBody = `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>`

func TestWireConcurrentSyncCalls(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	p.ConcurrentSyncCalls = 1
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{Policy: &p}})
	user := "user1@example.com"
	// Hold one SyncFolderItems in flight on the injected latency.
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultLatency, Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	first := e.postAsync(envelope("Exchange2013_SP1", user, syncItemsBody), "X-AnchorMailbox", user)
	testenv.WaitFor(t, "the first sync call to wait on its latency", func() bool { return e.clock.PendingTimers() > 0 })

	status, data := e.post(envelope("Exchange2013_SP1", user, syncItemsBody), "X-AnchorMailbox", user)
	if status != http.StatusOK {
		t.Fatalf("second sync call: HTTP %d, want 200 (a response message)\n%s", status, data)
	}
	ewsschema.Validate(t, "SyncFolderItems ConcurrentSyncCalls", data)
	var r ewswire.SyncFolderItemsResponse
	decode(t, data, &r)
	m := r.ResponseMessages.Messages[0]
	if m.ResponseClass != "Error" || m.ResponseCode != string(ews.ErrorServerBusy) || !strings.Contains(m.MessageText, "ConcurrentSyncCalls") {
		t.Errorf("second sync call = %s %s %q, want Error ErrorServerBusy naming ConcurrentSyncCalls", m.ResponseClass, m.ResponseCode, m.MessageText)
	}
	if err := m.Err("SyncFolderItems", -1); codeOf(err) != ews.ErrorServerBusy || ews.BackOffOf(m.MessageXml) != 5*time.Second {
		t.Errorf("second sync call = %v, back-off %s, want ErrorServerBusy with 5s", err, ews.BackOffOf(m.MessageXml))
	}

	e.clock.Advance(time.Hour)
	reply := e.await("first sync call", first)
	ewsschema.Validate(t, "SyncFolderItems", reply.body)
	var ok ewswire.SyncFolderItemsResponse
	decode(t, reply.body, &ok)
	if c := ok.ResponseMessages.Messages[0].ResponseCode; c != "NoError" {
		t.Errorf("first sync call = %s, want NoError", c)
	}
}

func TestWireBatchStopped(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	var ids string
	for i := 0; i < 4; i++ {
		id, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "batch", Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i)*time.Hour + time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids += `<t:ItemId Id="` + id.Id + `"/>`
	}
	checkCodes := func(t *testing.T, name string, data []byte, want ...string) {
		t.Helper()
		ewsschema.Validate(t, name, data)
		var r ewswire.GetItemResponse
		decode(t, data, &r)
		ms := r.ResponseMessages.Messages
		if len(ms) != len(want) {
			t.Fatalf("%s: %d messages, want %d", name, len(ms), len(want))
		}
		for i, m := range ms {
			if m.ResponseCode != want[i] {
				t.Errorf("%s: message %d = %s, want %s", name, i, m.ResponseCode, want[i])
			}
			if m.ResponseCode == string(ews.ErrorBatchProcessingStopped) && m.ResponseClass != "Warning" {
				t.Errorf("%s: message %d class %s, want Warning", name, i, m.ResponseClass)
			}
		}
	}

	t.Run("time limit", func(t *testing.T) {
		if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultItemLatency, Latency: 40 * time.Second}); err != nil {
			t.Fatal(err)
		}
		defer e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultItemLatency})
		reply := e.postAsync(envelope("Exchange2013_SP1", user, `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>`+ids+`</m:ItemIds></m:GetItem>`), "X-AnchorMailbox", user)
		var got asyncReply
		deadline := time.Now().Add(10 * time.Second)
		for done := false; !done; {
			select {
			case got = <-reply:
				done = true
			default:
				if e.clock.PendingTimers() > 0 {
					e.clock.Advance(40 * time.Second)
				} else if time.Now().After(deadline) {
					t.Fatal("GetItem did not answer")
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		}
		if got.err != nil || got.status != http.StatusOK {
			t.Fatalf("GetItem: HTTP %d, %v", got.status, got.err)
		}
		// 40 s per item: the second ends at 80 s, past the one-minute cap.
		checkCodes(t, "GetItem batch time limit", got.body, "NoError", "NoError", string(ews.ErrorBatchProcessingStopped), string(ews.ErrorBatchProcessingStopped))
	})

	t.Run("access denied", func(t *testing.T) {
		item := `<t:CalendarItem><t:Subject>x</t:Subject><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End></t:CalendarItem>`
		status, data := e.post(envelope("Exchange2013_SP1", "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>user2@example.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:SavedItemFolderId><m:Items>`+item+item+item+`</m:Items></m:CreateItem>`))
		if status != http.StatusOK {
			t.Fatalf("CreateItem: HTTP %d\n%s", status, data)
		}
		ewsschema.Validate(t, "CreateItem access denied batch", data)
		var r ewswire.CreateItemResponse
		decode(t, data, &r)
		want := []string{string(ews.ErrorAccessDenied), string(ews.ErrorBatchProcessingStopped), string(ews.ErrorBatchProcessingStopped)}
		ms := r.ResponseMessages.Messages
		if len(ms) != 3 {
			t.Fatalf("CreateItem: %d messages, want 3", len(ms))
		}
		for i, m := range ms {
			if m.ResponseCode != want[i] {
				t.Errorf("CreateItem message %d = %s %s, want %s", i, m.ResponseClass, m.ResponseCode, want[i])
			}
		}
		if ms[0].ResponseClass != "Error" || ms[1].ResponseClass != "Warning" || ms[2].ResponseClass != "Warning" {
			t.Errorf("CreateItem classes = %s %s %s, want Error Warning Warning", ms[0].ResponseClass, ms[1].ResponseClass, ms[2].ResponseClass)
		}
	})
}

func TestWireCalendarViewRejections(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "one", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The root folder's id, as GetFolder hands it out.
	_, data := e.post(envelope("Exchange2013_SP1", user, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"/></m:FolderIds></m:GetFolder>`), "X-AnchorMailbox", user)
	var gf ewswire.GetFolderResponse
	decode(t, data, &gf)
	if len(gf.ResponseMessages.Messages) != 1 || len(gf.ResponseMessages.Messages[0].Folders) != 1 || gf.ResponseMessages.Messages[0].Folders[0].FolderId == nil {
		t.Fatalf("GetFolder(root) = %s", data)
	}
	rootID := gf.ResponseMessages.Messages[0].Folders[0].FolderId.Id

	view := `<m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/>`
	calendar := `<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>`
	shape := `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>`
	restriction := `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="one"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`
	sortOrder := `<m:SortOrder><t:FieldOrder Order="Descending"><t:FieldURI FieldURI="calendar:Start"/></t:FieldOrder></m:SortOrder>`
	tests := []struct {
		name     string
		findItem string
		want     ews.ResponseCode
		text     string
	}{
		{"restriction", shape + view + restriction + calendar, ews.ErrorInvalidRestriction, "Restrictions and sort order may not be specified for a CalendarView."},
		{"sort order", shape + view + sortOrder + calendar, ews.ErrorInvalidRestriction, "Restrictions and sort order may not be specified for a CalendarView."},
		{"MaxEntriesReturned 0", shape + `<m:CalendarView MaxEntriesReturned="0" StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/>` + calendar, ews.ErrorInvalidPagingMaxRows, ""},
		{"root folder by name", shape + view + `<m:ParentFolderIds><t:DistinguishedFolderId Id="root"/></m:ParentFolderIds>`, ews.ErrorCalendarFolderIsInvalidForCalendarView, ""},
		{"inbox", shape + view + `<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>`, ews.ErrorCalendarFolderIsInvalidForCalendarView, ""},
		{"root folder by id", shape + view + `<m:ParentFolderIds><t:FolderId Id="` + rootID + `"/></m:ParentFolderIds>`, ews.ErrorCalendarFolderIsInvalidForCalendarView, ""},
		{"seek to condition", shape + `<m:SeekToConditionPageItemView BasePoint="Beginning"><t:Condition><t:IsGreaterThan><t:FieldURI FieldURI="calendar:Start"/><t:FieldURIOrConstant><t:Constant Value="2026-03-02T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThan></t:Condition></m:SeekToConditionPageItemView>` + calendar,
			ews.ErrorCalendarSeekToConditionNotSupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := e.post(envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow">`+tt.findItem+`</m:FindItem>`), "X-AnchorMailbox", user)
			if status != http.StatusOK {
				t.Fatalf("FindItem: HTTP %d, want 200\n%s", status, data)
			}
			ewsschema.Validate(t, "FindItem "+tt.name, data)
			var r ewswire.FindItemResponse
			decode(t, data, &r)
			m := r.ResponseMessages.Messages[0]
			if m.ResponseClass != "Error" || m.ResponseCode != string(tt.want) || m.RootFolder != nil {
				t.Errorf("FindItem %s = %s %s (root folder %v), want Error %s", tt.name, m.ResponseClass, m.ResponseCode, m.RootFolder != nil, tt.want)
			}
			if tt.text != "" && m.MessageText != tt.text {
				t.Errorf("FindItem %s text = %q, want %q", tt.name, m.MessageText, tt.text)
			}
		})
	}

	// A plain view of the same calendar still answers.
	_, data = e.post(envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow">`+shape+view+calendar+`</m:FindItem>`), "X-AnchorMailbox", user)
	ewsschema.Validate(t, "FindItem CalendarView", data)
	var r ewswire.FindItemResponse
	decode(t, data, &r)
	if rf := r.ResponseMessages.Messages[0].RootFolder; rf == nil || len(rf.Items.CalendarItem) != 1 {
		t.Errorf("plain CalendarView = %+v, want one item", r.ResponseMessages.Messages[0])
	}
}
