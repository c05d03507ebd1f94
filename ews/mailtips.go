package ews

import "time"

// DefaultMaxMailTipsRecipients is the recipients one GetMailTips request
// may name when the server's MailTipsConfiguration is not known (the value
// Exchange reports for MaxRecipientsPerGetMailTipsRequest by default).
const DefaultMaxMailTipsRecipients = 50

// OutOfOfficeTip is the automatic-replies part of one recipient's mail tips
// (t:MailTips/t:OutOfOffice): Exchange fills Message while automatic
// replies are on for the sender, and Start/End when they are scheduled.
// It only tells that the settings changed; GetUserOofSettings has them.
type OutOfOfficeTip struct {
	// Recipient is the recipient's address as Exchange returned it.
	Recipient string
	// On is true when automatic replies are on now (a reply message is
	// returned).
	On      bool
	Message string
	// Start and End are set when the replies are scheduled (UTC).
	Start, End time.Time
	// Err is the per-recipient error, nil on success.
	Err error
}

// MailTipsConfiguration is the part of t:MailTipsServiceConfiguration
// calsync uses.
type MailTipsConfiguration struct {
	Enabled bool
	// MaxRecipientsPerRequest is MaxRecipientsPerGetMailTipsRequest.
	MaxRecipientsPerRequest int
}

// OWAUserOptions is the user configuration object that holds a mailbox's
// regional settings; its "timezone" entry is a Windows zone name.
const OWAUserOptions = "OWA.UserOptions"
