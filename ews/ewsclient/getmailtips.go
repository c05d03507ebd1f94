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
	tips, _, err := c.GetMailTipsOOFSince(ctx, call, sendingAs, recipients, maxRecipients, 0)
	return tips, err
}

// GetMailTipsOOFSince is GetMailTipsOOF for a caller that sends the same
// request again and again (the engine's automatic-replies poll): it also
// returns a memo of the answer, and when since is the memo an earlier
// call returned for the same request and the answer is byte-for-byte the
// same, it returns (nil, since, nil) without decoding the answer —
// nothing changed. since 0 always decodes. The memo of a failed call is 0.
func (c *Client) GetMailTipsOOFSince(ctx context.Context, call Call, sendingAs string, recipients []string, maxRecipients int, since uint64) ([]ews.OutOfOfficeTip, uint64, error) {
	const op = "GetMailTips"
	if maxRecipients <= 0 {
		maxRecipients = ews.DefaultMaxMailTipsRecipients
	}
	if sendingAs == "" {
		return nil, 0, errors.New("ewsclient: GetMailTips: the sending address is required")
	}
	if len(recipients) == 0 || len(recipients) > maxRecipients {
		return nil, 0, fmt.Errorf("ewsclient: GetMailTips: %d recipients, want 1..%d", len(recipients), maxRecipients)
	}
	w := &ewswire.GetMailTips{SendingAs: ewswire.EmailAddress{EmailAddress: sendingAs, RoutingType: "SMTP"}, MailTipsRequested: "OutOfOfficeMessage"}
	for _, r := range recipients {
		w.Recipients.Mailbox = append(w.Recipients.Mailbox, ewswire.EmailAddress{EmailAddress: r, RoutingType: "SMTP"})
	}
	// The key names what the tips depend on: the sender they are
	// evaluated for and the recipients in order (an answer's tips are
	// matched to the recipients by position).
	memo := &ewswire.AnswerMemo{Key: ewswire.RequestKey(sendingAs, recipients), Since: since}
	resp := ewswire.GetMailTipsResponse{Memo: memo}
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, 0, err
	}
	if memo.Same {
		return nil, since, nil
	}
	if err := resp.ResponseMessage.Err(op, -1); err != nil {
		return nil, 0, err
	}
	if resp.ResponseMessages == nil {
		return nil, 0, &ews.ProtocolError{Op: op, Err: errors.New("response without ResponseMessages")}
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(recipients)); err != nil {
		return nil, 0, err
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
	return out, memo.Digest, nil
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
