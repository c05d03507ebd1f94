package ewsmem

import (
	"context"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// MailTipsConfiguration implements ewsserver.BackendMailboxSettings:
// MaxRecipientsPerGetMailTipsRequest is Options.MaxMailTipsRecipients.
func (x *Exchange) MailTipsConfiguration() ews.MailTipsConfiguration {
	return ews.MailTipsConfiguration{Enabled: true, MaxRecipientsPerRequest: x.opts.MaxMailTipsRecipients}
}

// OutOfOfficeTips implements ewsserver.BackendMailboxSettings: the
// automatic-reply tip of each recipient as the caller (an internal sender)
// sees it: the internal reply while replies are on now, with the scheduled
// period. An address without a mailbox gets an empty tip, as an external
// recipient does.
func (x *Exchange) OutOfOfficeTips(ctx context.Context, c *ewsserver.Caller, recipients []string) ([]ews.OutOfOfficeTip, error) {
	now := x.clock.Now()
	out := make([]ews.OutOfOfficeTip, len(recipients))
	for i, r := range recipients {
		out[i].Recipient = r
		mb, ok := x.mailbox(strings.ToLower(r))
		if !ok {
			continue
		}
		mb.mu.Lock()
		s := mb.oof
		mb.mu.Unlock()
		if !oofActive(s, now) {
			continue
		}
		out[i].On, out[i].Message = true, s.InternalReply
		if s.State == ews.OofScheduled {
			out[i].Start, out[i].End = s.Start, s.End
		}
	}
	return out, nil
}

// oofActive reports whether automatic replies are on at now.
func oofActive(s ews.OofSettings, now time.Time) bool {
	switch s.State {
	case ews.OofEnabled:
		return true
	case ews.OofScheduled:
		return !now.Before(s.Start) && now.Before(s.End)
	}
	return false
}

// UserConfiguration implements ewsserver.BackendMailboxSettings. Only
// OWA.UserOptions in the root folder exists, and only once the mailbox has
// a time zone (as on Exchange, where OWA writes it at the user's first
// logon): its "timezone" entry is the mailbox's Windows zone.
func (x *Exchange) UserConfiguration(ctx context.Context, c *ewsserver.Caller, name, folder string) (keys, values []string, err error) {
	mb, err := x.accessMailbox(c, c.Mailbox())
	if err != nil {
		return nil, nil, err
	}
	mb.mu.Lock()
	zone := mb.timeZone
	mb.mu.Unlock()
	if name != ews.OWAUserOptions || !strings.EqualFold(folder, "root") || zone == "" {
		return nil, nil, ewsserver.Fail(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	return []string{"timezone"}, []string{zone}, nil
}

var _ ewsserver.BackendMailboxSettings = (*Exchange)(nil)
