package ewsmem_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
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
	e := newWireEnv(t, ewsmem.SimulatorOptions{Basic: true, Options: ewsmem.Options{Policy: &p}})
	user := "user1@example.com"
	// Hold one SyncFolderItems in flight on the injected latency.
	if _, err := e.sim.InjectFault(ewsmem.Fault{Kind: ewsmem.FaultLatency, Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	first := e.postAsync(envelope("Exchange2013_SP1", user, syncItemsBody), "X-AnchorMailbox", user)
	waitFor(t, "the first sync call to wait on its latency", func() bool { return e.clock.PendingTimers() > 0 })

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
