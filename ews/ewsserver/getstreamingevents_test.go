package ewsserver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

const getStreamingEvents = `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>s1</t:SubscriptionId></m:SubscriptionIds>` +
	`<m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`

// readChunks sends a GetStreamingEvents over a raw connection and returns
// the HTTP chunks of the answer, as a client that reads chunk by chunk
// sees them.
func readChunks(t *testing.T, addr string) []string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := soapRequest(getStreamingEvents)
	fmt.Fprintf(conn, "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("status %d, transfer encoding %v; want 200 chunked", resp.StatusCode, resp.TransferEncoding)
	}
	// http.ReadResponse would de-chunk the body; read the raw chunks from r.
	var chunks []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read chunk size: %v (chunks so far %q)", err, chunks)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			return chunks
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, string(buf[:n]))
	}
}

func TestStreamingOneEnvelopePerChunkInExchangesForm(t *testing.T) {
	events := make([]ews.Event, 100) // a big envelope, beyond net/http's 2 KiB chunking buffer
	for i := range events {
		events[i] = ews.Event{Type: ews.EventModified, TimeStamp: time.Unix(0, 0).UTC(), ItemId: &ews.ItemId{Id: fmt.Sprint("item-", i), ChangeKey: "ck"}, ParentFolderId: &ews.FolderId{Id: "calendar"}}
	}
	b := &fakeBackend{stream: []ewsserver.StreamMessage{
		{Status: ews.ConnectionOK},
		{Notifications: []ews.Notification{{SubscriptionId: "s1", Events: events}}},
		{Status: ews.ConnectionClosed},
	}}
	for _, schema := range []bool{false, true} {
		t.Run(fmt.Sprint("schema=", schema), func(t *testing.T) {
			srv := newFakeServer(t, b, &ewsserver.Options{SchemaNotificationNamespace: schema})
			chunks := readChunks(t, srv.Listener.Addr().String())
			if len(chunks) != 3 {
				t.Fatalf("%d chunks, want 3 (one per envelope): %q", len(chunks), chunks)
			}
			for i, c := range chunks {
				if !strings.HasPrefix(c, `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Header`) || !strings.HasSuffix(c, "</soap11:Body></Envelope>") {
					t.Errorf("chunk %d is not one envelope in Exchange's form: %.200s…", i, c)
				}
			}
			tForm := strings.Contains(chunks[1], `<Notification xmlns="http://schemas.microsoft.com/exchange/services/2006/types">`)
			mForm := strings.Contains(chunks[1], `<Notifications><Notification>`)
			if schema && !tForm || !schema && !mForm {
				t.Errorf("schema=%v: notification namespace wrong: %.400s", schema, chunks[1])
			}
		})
	}
}

func TestStreamingErrorWithClosedInOneEnvelope(t *testing.T) {
	b := &fakeBackend{stream: []ewsserver.StreamMessage{{
		Err: ewsserver.Fail(ews.ErrorSubscriptionNotFound, "The specified subscription was not found."), ErrorIDs: []string{"s1"}, Status: ews.ConnectionClosed}}}
	srv := newFakeServer(t, b, nil)
	chunks := readChunks(t, srv.Listener.Addr().String())
	if len(chunks) != 1 {
		t.Fatalf("%d envelopes, want exactly one: %q", len(chunks), chunks)
	}
	for _, want := range []string{`ResponseClass="Error"`, `<MessageText>The specified subscription was not found.</MessageText>`,
		`<ResponseCode>ErrorSubscriptionNotFound</ResponseCode>`, `<ErrorSubscriptionIds><SubscriptionId>s1</SubscriptionId></ErrorSubscriptionIds>`,
		`<ConnectionStatus>Closed</ConnectionStatus>`} {
		if !strings.Contains(chunks[0], want) {
			t.Errorf("envelope lacks %s:\n%s", want, chunks[0])
		}
	}
}
