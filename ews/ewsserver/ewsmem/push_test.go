package ewsmem_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

func TestPushSubscription(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{NoDuplicates: true}})
	var mu sync.Mutex
	var bodies [][]byte
	answer := "OK"
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, data)
		status := answer
		mu.Unlock()
		resp, _ := ewswire.Marshal(nil, &ewswire.SendNotificationResult{SubscriptionStatus: status})
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(resp)
	}))
	defer listener.Close()
	user := "user1@example.com"
	_, data := e.post(envelope("Exchange2013_SP1", user, `<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:StatusFrequency>5</t:StatusFrequency><t:URL>`+listener.URL+`</t:URL></m:PushSubscriptionRequest></m:Subscribe>`), "X-AnchorMailbox", user)
	ewsschema.Validate(t, "Subscribe push", data)
	var r ewswire.SubscribeResponse
	decode(t, data, &r)
	id := r.ResponseMessages.Messages[0].SubscriptionId
	if id == "" {
		t.Fatalf("push Subscribe = %+v", r.ResponseMessages.Messages[0])
	}
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "pushed", Start: t0, End: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "push notification", func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == 1 })
	mu.Lock()
	first := bodies[0]
	answer = "Unsubscribe"
	mu.Unlock()
	ewsschema.Validate(t, "SendNotification", first)
	var sn ewswire.SendNotification
	decode(t, first, &sn)
	n := sn.ResponseMessages.Messages[0].Notification
	if n == nil || n.SubscriptionId != id || len(n.Events) != 1 || n.Events[0].Type != "CreatedEvent" {
		t.Fatalf("pushed notification = %+v", n)
	}
	// No events: a StatusEvent after StatusFrequency; the listener answers
	// Unsubscribe and the subscription ends.
	testenv.WaitFor(t, "status timer", func() bool { return e.clock.PendingTimers() > 0 })
	e.clock.Advance(5 * time.Minute)
	testenv.WaitFor(t, "status push", func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == 2 })
	testenv.WaitFor(t, "subscription removal", func() bool { return e.sim.Stats().Subscriptions == 0 })
	var sn2 ewswire.SendNotification
	decode(t, bodies[1], &sn2)
	if n := sn2.ResponseMessages.Messages[0].Notification; n == nil || n.Events[0].Type != "StatusEvent" {
		t.Errorf("status push = %+v", n)
	}
}
