package ewsclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// presenceFake answers GetMailTips, GetServiceConfiguration and
// GetUserConfiguration the way Exchange does: alice has automatic replies
// on (scheduled), bob off, carol does not exist; the MailTips limit is 100;
// OWA.UserOptions holds a Windows zone name.
func presenceFake(t *testing.T) (*fakeEWS, *ewsclient.Client) {
	f, c, _ := newFake(t, nil)
	f.override = func(w http.ResponseWriter, env *ewswire.Envelope) bool {
		var resp any
		switch req := env.Body.(type) {
		case *ewswire.GetMailTips:
			r := &ewswire.GetMailTipsResponse{ResponseMessage: ewswire.Success()}
			r.ResponseMessages = &struct {
				Messages []ewswire.MailTipsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsResponseMessageType"`
			}{}
			for _, m := range req.Recipients.Mailbox {
				var msg ewswire.MailTipsResponseMessage
				switch m.EmailAddress {
				case "alice@contoso.com":
					msg = ewswire.MailTipsResponseMessage{ResponseMessage: ewswire.Success(), MailTips: ewswire.MailTipsFrom(ews.OutOfOfficeTip{
						Recipient: m.EmailAddress, On: true, Message: "Back on Monday", Start: testStart, End: testStart.Add(72 * time.Hour)})}
				case "carol@contoso.com":
					msg = ewswire.MailTipsResponseMessage{ResponseMessage: ewswire.ErrorResponseMessage(&ews.ResponseError{Code: ews.ErrorMailRecipientNotFound, MessageText: "no such recipient"})}
				default:
					msg = ewswire.MailTipsResponseMessage{ResponseMessage: ewswire.Success(), MailTips: ewswire.MailTipsFrom(ews.OutOfOfficeTip{Recipient: m.EmailAddress})}
				}
				r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, msg)
			}
			resp = r
		case *ewswire.GetServiceConfiguration:
			r := &ewswire.GetServiceConfigurationResponse{ResponseMessage: ewswire.Success()}
			r.ResponseMessages = &struct {
				Messages []ewswire.ServiceConfigurationResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ServiceConfigurationResponseMessageType"`
			}{Messages: []ewswire.ServiceConfigurationResponseMessage{{ResponseMessage: ewswire.Success(),
				MailTipsConfiguration: ewswire.MailTipsServiceConfigurationFrom(ews.MailTipsConfiguration{Enabled: true, MaxRecipientsPerRequest: 100})}}}
			resp = r
		case *ewswire.GetUserConfiguration:
			r := &ewswire.GetUserConfigurationResponse{}
			r.ResponseMessages.Messages = []ewswire.GetUserConfigurationResponseMessage{{ResponseMessage: ewswire.Success(),
				UserConfiguration: ewswire.UserConfigurationFrom(req.UserConfigurationName.Name, "root", []string{"timezone", "timeformat"}, []string{"Eastern Standard Time", "HH:mm"})}}
			resp = r
		default:
			return false
		}
		var buf bytes.Buffer
		if err := ewswire.EncodeEnvelope(&buf, nil, resp); err != nil {
			t.Errorf("encode: %v", err)
		}
		f.mu.Lock()
		f.responses = append(f.responses, buf.Bytes())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
		return true
	}
	return f, c
}

func TestPresenceOperations(t *testing.T) {
	f, c := presenceFake(t)
	ctx := context.Background()
	svc := ewsclient.Call{}

	cfg, err := c.GetMailTipsConfiguration(ctx, svc)
	if err != nil || !cfg.Enabled || cfg.MaxRecipientsPerRequest != 100 {
		t.Fatalf("GetMailTipsConfiguration() = %+v, %v; want enabled, 100", cfg, err)
	}

	tips, err := c.GetMailTipsOOF(ctx, svc, "calsync@contoso.com", []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}, cfg.MaxRecipientsPerRequest)
	if err != nil || len(tips) != 3 {
		t.Fatalf("GetMailTipsOOF() = %+v, %v", tips, err)
	}
	if a := tips[0]; a.Err != nil || !a.On || a.Message != "Back on Monday" || !a.Start.Equal(testStart) || !a.End.Equal(testStart.Add(72*time.Hour)) {
		t.Errorf("alice's tip = %+v, want on, scheduled", a)
	}
	if b := tips[1]; b.Err != nil || b.On || b.Recipient != "bob@contoso.com" {
		t.Errorf("bob's tip = %+v, want off", b)
	}
	var re *ews.ResponseError
	if cr := tips[2]; !errors.As(cr.Err, &re) || re.Code != ews.ErrorMailRecipientNotFound {
		t.Errorf("carol's tip = %+v, want ErrorMailRecipientNotFound", cr)
	}
	if _, err := c.GetMailTipsOOF(ctx, svc, "calsync@contoso.com", make([]string, 101), 100); err == nil {
		t.Error("101 recipients with a limit of 100 were sent")
	}

	entries, err := c.GetUserConfigurationStrings(ctx, ewsclient.ActAs("alice@contoso.com"), ews.OWAUserOptions)
	if err != nil || entries["timezone"] != "Eastern Standard Time" {
		t.Fatalf("GetUserConfigurationStrings() = %v, %v", entries, err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	ewsschema.Validate(t, "presence-requests", bytes.Join(f.requests, nil))
	ewsschema.Validate(t, "presence-responses", bytes.Join(f.responses, nil))
}
