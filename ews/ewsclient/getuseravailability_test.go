package ewsclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// An error of the whole request comes as one error message however many
// mailboxes were asked (the simulator answers ErrorMailboxDataArrayTooBig
// so): it is the call's error with its code, not "1 response message for 3
// inputs".
func TestGetUserAvailabilityWholeRequestError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body>` +
			`<m:GetUserAvailabilityResponse><m:FreeBusyResponseArray><m:FreeBusyResponse><m:ResponseMessage ResponseClass="Error"><m:MessageText>Too many mailboxes requested.</m:MessageText><m:ResponseCode>ErrorMailboxDataArrayTooBig</m:ResponseCode></m:ResponseMessage></m:FreeBusyResponse></m:FreeBusyResponseArray></m:GetUserAvailabilityResponse>` +
			`</s:Body></s:Envelope>`))
	}))
	t.Cleanup(srv.Close)
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var mbs []ews.MailboxData
	for _, a := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		mbs = append(mbs, ews.MailboxData{Email: ews.Mailbox{EmailAddress: a}})
	}
	res, err := c.GetUserAvailability(context.Background(), ewsclient.Call{}, ewsclient.AvailabilityRequest{Mailboxes: mbs, Start: start, End: start.Add(24 * time.Hour), View: ews.ViewFreeBusy})
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != ews.ErrorMailboxDataArrayTooBig || res != nil {
		t.Errorf("GetUserAvailability = %+v, %v; want the call to fail with ErrorMailboxDataArrayTooBig", res, err)
	}
}
