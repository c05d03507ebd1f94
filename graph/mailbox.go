package graph

import "time"

// MailboxSettings is what calsync reads of /users/{id}/mailboxSettings.
type MailboxSettings struct {
	// TimeZone is the mailbox's zone in the admin-configured format: a
	// Windows id (default) or an IANA name.
	TimeZone         string
	AutomaticReplies AutomaticReplies
	WorkingHours     *WorkingHours
}

// AutomaticReplies is automaticRepliesSetting.
type AutomaticReplies struct {
	Status           AutoRepliesStatus
	ExternalAudience ExternalAudience
	// ScheduledStart and ScheduledEnd count only when Status is
	// AutoRepliesScheduled; Graph does not say whether now is inside.
	ScheduledStart       DateTimeTimeZone
	ScheduledEnd         DateTimeTimeZone
	InternalReplyMessage string
	ExternalReplyMessage string
}

// ActiveAt reports whether automatic replies are on at t. A scheduled
// window whose bounds do not parse is reported as an error.
func (a AutomaticReplies) ActiveAt(t time.Time) (bool, error) {
	switch a.Status {
	case AutoRepliesAlwaysEnabled:
		return true, nil
	case AutoRepliesScheduled:
		start, err := a.ScheduledStart.Time()
		if err != nil {
			return false, err
		}
		end, err := a.ScheduledEnd.Time()
		if err != nil {
			return false, err
		}
		return !t.Before(start) && t.Before(end), nil
	}
	return false, nil
}

// WorkingHours is mailboxSettings.workingHours.
type WorkingHours struct {
	DaysOfWeek []string
	// StartTime and EndTime are "08:00:00.0000000".
	StartTime string
	EndTime   string
	// TimeZone is timeZone.name ("Pacific Standard Time"); "" for a
	// custom zone.
	TimeZone string
}
