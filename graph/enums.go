package graph

import "strings"

// ShowAs is how an event shows the owner's time (event.showAs).
type ShowAs string

// ShowAs values, canonical spelling.
const (
	ShowFree             ShowAs = "free"
	ShowTentative        ShowAs = "tentative"
	ShowBusy             ShowAs = "busy"
	ShowOOF              ShowAs = "oof"
	ShowWorkingElsewhere ShowAs = "workingElsewhere"
	ShowUnknown          ShowAs = "unknown"
)

// Sensitivity is event.sensitivity.
type Sensitivity string

// Sensitivity values, canonical spelling.
const (
	SensitivityNormal       Sensitivity = "normal"
	SensitivityPersonal     Sensitivity = "personal"
	SensitivityPrivate      Sensitivity = "private"
	SensitivityConfidential Sensitivity = "confidential"
)

// EventType is event.type.
type EventType string

// EventType values, canonical spelling.
const (
	TypeSingleInstance EventType = "singleInstance"
	TypeOccurrence     EventType = "occurrence"
	TypeException      EventType = "exception"
	TypeSeriesMaster   EventType = "seriesMaster"
)

// Response is responseStatus.response, the owner's answer to a meeting.
type Response string

// Response values, canonical spelling.
const (
	ResponseNone                Response = "none"
	ResponseOrganizer           Response = "organizer"
	ResponseTentativelyAccepted Response = "tentativelyAccepted"
	ResponseAccepted            Response = "accepted"
	ResponseDeclined            Response = "declined"
	ResponseNotResponded        Response = "notResponded"
)

// AutoRepliesStatus is automaticRepliesSetting.status.
type AutoRepliesStatus string

// AutoRepliesStatus values, canonical spelling.
const (
	AutoRepliesDisabled      AutoRepliesStatus = "disabled"
	AutoRepliesAlwaysEnabled AutoRepliesStatus = "alwaysEnabled"
	AutoRepliesScheduled     AutoRepliesStatus = "scheduled"
)

// ExternalAudience is automaticRepliesSetting.externalAudience.
type ExternalAudience string

// ExternalAudience values, canonical spelling.
const (
	AudienceNone         ExternalAudience = "none"
	AudienceContactsOnly ExternalAudience = "contactsOnly"
	AudienceAll          ExternalAudience = "all"
)

// ChangeType is a change notification's changeType.
type ChangeType string

// ChangeType values.
const (
	ChangeCreated ChangeType = "created"
	ChangeUpdated ChangeType = "updated"
	ChangeDeleted ChangeType = "deleted"
)

// LifecycleEvent is a lifecycle notification's lifecycleEvent.
type LifecycleEvent string

// LifecycleEvent values.
const (
	LifecycleReauthorizationRequired LifecycleEvent = "reauthorizationRequired"
	LifecycleSubscriptionRemoved     LifecycleEvent = "subscriptionRemoved"
	LifecycleMissed                  LifecycleEvent = "missed"
)

// canonical returns the member of known equal to s ignoring case and
// surrounding space, else s unchanged (an unknown value stays visible).
func canonical[T ~string](s string, known ...T) T {
	t := strings.TrimSpace(s)
	for _, k := range known {
		if strings.EqualFold(t, string(k)) {
			return k
		}
	}
	return T(s)
}

// ParseShowAs returns the canonical ShowAs for s ("Busy" → ShowBusy).
func ParseShowAs(s string) ShowAs {
	return canonical(s, ShowFree, ShowTentative, ShowBusy, ShowOOF, ShowWorkingElsewhere, ShowUnknown)
}

// ParseSensitivity returns the canonical Sensitivity for s.
func ParseSensitivity(s string) Sensitivity {
	return canonical(s, SensitivityNormal, SensitivityPersonal, SensitivityPrivate, SensitivityConfidential)
}

// ParseEventType returns the canonical EventType for s.
func ParseEventType(s string) EventType {
	return canonical(s, TypeSingleInstance, TypeOccurrence, TypeException, TypeSeriesMaster)
}

// ParseResponse returns the canonical Response for s ("Accepted" → ResponseAccepted).
func ParseResponse(s string) Response {
	return canonical(s, ResponseNone, ResponseOrganizer, ResponseTentativelyAccepted, ResponseAccepted, ResponseDeclined, ResponseNotResponded)
}

// ParseAutoRepliesStatus returns the canonical AutoRepliesStatus for s ("Scheduled" → AutoRepliesScheduled).
func ParseAutoRepliesStatus(s string) AutoRepliesStatus {
	return canonical(s, AutoRepliesDisabled, AutoRepliesAlwaysEnabled, AutoRepliesScheduled)
}

// ParseExternalAudience returns the canonical ExternalAudience for s ("All" → AudienceAll).
func ParseExternalAudience(s string) ExternalAudience {
	return canonical(s, AudienceNone, AudienceContactsOnly, AudienceAll)
}

// ParseLifecycleEvent returns the canonical LifecycleEvent for s.
func ParseLifecycleEvent(s string) LifecycleEvent {
	return canonical(s, LifecycleReauthorizationRequired, LifecycleSubscriptionRemoved, LifecycleMissed)
}
