package ewsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// GetMailTipsOOF asks for the automatic-replies mail tip of up to
// maxRecipients recipients in one request (see GetServiceConfiguration for
// the server's limit): one tip per recipient, in input order. sendingAs is
// the sender Exchange evaluates the tips for (an internal address, so the
// internal reply counts). The error is only for a failure of the whole
// call; a recipient's own error is in its tip.
func (c *Client) GetMailTipsOOF(ctx context.Context, call Call, sendingAs string, recipients []string, maxRecipients int) ([]ews.OutOfOfficeTip, error) {
	const op = "GetMailTips"
	if maxRecipients <= 0 {
		maxRecipients = ews.DefaultMaxMailTipsRecipients
	}
	if sendingAs == "" {
		return nil, errors.New("ewsclient: GetMailTips: the sending address is required")
	}
	if len(recipients) == 0 || len(recipients) > maxRecipients {
		return nil, fmt.Errorf("ewsclient: GetMailTips: %d recipients, want 1..%d", len(recipients), maxRecipients)
	}
	w := &ewswire.GetMailTips{SendingAs: ewswire.EmailAddress{EmailAddress: sendingAs, RoutingType: "SMTP"}, MailTipsRequested: "OutOfOfficeMessage"}
	for _, r := range recipients {
		w.Recipients.Mailbox = append(w.Recipients.Mailbox, ewswire.EmailAddress{EmailAddress: r, RoutingType: "SMTP"})
	}
	var resp ewswire.GetMailTipsResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	if err := resp.ResponseMessage.Err(op, -1); err != nil {
		return nil, err
	}
	if resp.ResponseMessages == nil {
		return nil, &ews.ProtocolError{Op: op, Err: errors.New("response without ResponseMessages")}
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(recipients)); err != nil {
		return nil, err
	}
	out := make([]ews.OutOfOfficeTip, len(msgs))
	for i := range msgs {
		out[i].Recipient = recipients[i]
		if err := msgs[i].Err(op, i); err != nil {
			out[i].Err = err
			continue
		}
		if msgs[i].MailTips == nil {
			out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("recipient %d (%s): success without MailTips", i, recipients[i])}
			continue
		}
		tip := msgs[i].MailTips.ToEWS()
		tip.Recipient = recipients[i] // the caller's spelling: answers come in request order
		out[i] = tip
	}
	return out, nil
}

// GetMailTipsConfiguration reads the server's MailTips configuration
// (GetServiceConfiguration), above all MaxRecipientsPerGetMailTipsRequest.
func (c *Client) GetMailTipsConfiguration(ctx context.Context, call Call) (ews.MailTipsConfiguration, error) {
	const op = "GetServiceConfiguration"
	w := &ewswire.GetServiceConfiguration{}
	w.RequestedConfiguration.ConfigurationName = []string{"MailTips"}
	var resp ewswire.GetServiceConfigurationResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return ews.MailTipsConfiguration{}, err
	}
	if err := resp.ResponseMessage.Err(op, -1); err != nil {
		return ews.MailTipsConfiguration{}, err
	}
	if resp.ResponseMessages == nil || len(resp.ResponseMessages.Messages) == 0 {
		return ews.MailTipsConfiguration{}, &ews.ProtocolError{Op: op, Err: errors.New("response without a ServiceConfigurationResponseMessageType")}
	}
	m := resp.ResponseMessages.Messages[0]
	if err := m.Err(op, 0); err != nil {
		return ews.MailTipsConfiguration{}, err
	}
	if m.MailTipsConfiguration == nil {
		return ews.MailTipsConfiguration{}, &ews.ProtocolError{Op: op, Err: errors.New("response without MailTipsConfiguration")}
	}
	return m.MailTipsConfiguration.ToEWS(), nil
}
