package ewsclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

func TestPushHandler(t *testing.T) {
	var got []ews.Notification
	h := ewsclient.PushHandler(func(_ context.Context, ns []ews.Notification) ews.PushStatus {
		got = append(got, ns...)
		if len(got) > 1 {
			return ews.PushUnsubscribe
		}
		return ews.PushOK
	}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	push := func() []byte {
		msg := &ewswire.SendNotification{}
		msg.ResponseMessages.Messages = []ewswire.SendNotificationResponseMessage{{ResponseMessage: ewswire.Success(),
			Notification: ewswire.NotificationFrom(ews.Notification{SubscriptionId: "push1", PreviousWatermark: "w0", Events: []ews.Event{
				{Type: ews.EventCreated, Watermark: "w1", TimeStamp: time.Unix(1.7e9, 0).UTC(), ItemId: &ews.ItemId{Id: "i"}, ParentFolderId: &ews.FolderId{Id: "f"}, UnreadCount: -1}}})}}
		b, err := ewswire.Marshal(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var replies [][]byte
	var sent [][]byte
	for i, want := range []string{"OK", "Unsubscribe"} {
		body := push()
		sent = append(sent, body)
		resp, err := http.Post(srv.URL, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(reply), ">"+want+"</SubscriptionStatus>") {
			t.Fatalf("push %d: %d %s", i, resp.StatusCode, reply)
		}
		replies = append(replies, reply)
	}
	if len(got) != 2 || got[0].SubscriptionId != "push1" || got[0].Events[0].Watermark != "w1" {
		t.Fatalf("notifications = %+v", got)
	}
	ewsschema.Validate(t, "push-requests-and-replies", bytes.Join(append(sent, replies...), nil))
	resp, err := http.Post(srv.URL, "text/xml", strings.NewReader("<nonsense/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed push = %d, want 400", resp.StatusCode)
	}
}
