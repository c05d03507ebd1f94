package ewsexchange

import (
	"context"
	"strings"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

var _ engine.OOFTipReader = (*Client)(nil)

// OOFTipLimit implements engine.OOFTipReader: the server's
// MaxRecipientsPerGetMailTipsRequest (GetServiceConfiguration), or
// ews.DefaultMaxMailTipsRecipients when it does not say.
func (x *Client) OOFTipLimit(ctx context.Context) int {
	cfg, err := x.c.GetMailTipsConfiguration(ctx, ewsclient.Call{}) // as the service account
	if err != nil || cfg.MaxRecipientsPerRequest <= 0 {
		return ews.DefaultMaxMailTipsRecipients
	}
	return cfg.MaxRecipientsPerRequest
}

// OOFTips implements engine.OOFTipReader with one GetMailTips request,
// impersonating the first mailbox of the batch and asking as it (an
// internal sender, so the internal reply is what the tip shows).
//
// When Exchange refuses that mailbox as the account the request acts as
// (it moved to Exchange Online or was deleted since the last Autodiscover,
// impersonation of it is denied, its database is down), the refusal is
// that mailbox's own tip error and the rest of the batch is sent again as
// its next member: one gone mailbox must not cost the whole batch its
// automatic replies. After maxTipAccounts such refusals in a row the
// batch gives up for this round with the last one.
func (x *Client) OOFTips(ctx context.Context, smtps []string) ([]engine.OOFTip, error) {
	tips, _, err := x.OOFTipsSince(ctx, smtps, 0)
	return tips, err
}

var _ engine.OOFTipMemoReader = (*Client)(nil)

// OOFTipsSince implements engine.OOFTipMemoReader: OOFTips whose answer,
// when it is byte-for-byte the one memo since names, is not decoded
// (ewsclient.GetMailTipsOOFSince). A batch that had to drop a refused
// first member has no memo.
func (x *Client) OOFTipsSince(ctx context.Context, smtps []string, since uint64) ([]engine.OOFTip, uint64, error) {
	var out []engine.OOFTip
	for refused := 0; len(smtps) > 0; {
		tips, memo, err := x.c.GetMailTipsOOFSince(ctx, x.call(engine.Target{SMTP: smtps[0]}), smtps[0], smtps, len(smtps), since)
		if err == nil {
			if tips == nil && since != 0 && memo == since {
				return nil, since, nil
			}
			for i, t := range tips {
				tip := engine.OOFTip{SMTP: smtps[i], Fingerprint: fingerprint(t)}
				if t.Err != nil {
					tip.Err = classify("GetMailTips", t.Err)
				}
				out = append(out, tip)
			}
			if refused > 0 {
				memo = 0
			}
			return out, memo, nil
		}
		xerr := classify("GetMailTips", err)
		if !refusesAccount(xerr) {
			return nil, 0, xerr
		}
		if refused++; refused == maxTipAccounts && len(smtps) > 1 {
			return nil, 0, xerr
		}
		out = append(out, engine.OOFTip{SMTP: smtps[0], Err: xerr})
		smtps, since = smtps[1:], 0
	}
	return out, 0, nil
}

// maxTipAccounts bounds the members one OOFTips call tries as its account:
// more refusals in a row than a few moves or deletions explain point at
// the service account or the server, and the next round tries again.
const maxTipAccounts = 3

// refusesAccount reports whether err is Exchange refusing the mailbox a
// request impersonates, not the request: the codes engine/recovery.go
// sends a worker to Autodiscover or marks denied for.
func refusesAccount(err error) bool {
	switch engine.ErrorCode(err) {
	case "ErrorNonExistentMailbox", "ErrorInvalidSmtpAddress", "ErrorImpersonateUserDenied",
		"ErrorImpersonationFailed", "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable":
		return true
	}
	return false
}

// fingerprint condenses a tip: empty while replies are off, else the
// message and the schedule, so that any change to them shows.
func fingerprint(t ews.OutOfOfficeTip) string {
	if !t.On {
		return ""
	}
	var b strings.Builder
	b.WriteString("on|")
	if !t.Start.IsZero() {
		b.WriteString(t.Start.UTC().Format(time.RFC3339))
		b.WriteString("|")
		b.WriteString(t.End.UTC().Format(time.RFC3339))
	}
	b.WriteString("|")
	b.WriteString(t.Message)
	return b.String()
}
