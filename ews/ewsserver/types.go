package ewsserver

import (
	"fmt"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
)

// Fail returns a response-message error with optional MessageXml values
// given as name, value pairs.
func Fail(code ews.ResponseCode, message string, values ...string) *ews.ResponseError {
	e := &ews.ResponseError{Index: -1, Class: ews.ClassError, Code: code, MessageText: message}
	if len(values) > 0 {
		e.MessageXml = map[string]string{}
		for i := 0; i+1 < len(values); i += 2 {
			e.MessageXml[values[i]] = values[i+1]
		}
		e.BackOff = ews.BackOffOf(e.MessageXml)
	}
	return e
}

// Failf is Fail with a formatted message.
func Failf(code ews.ResponseCode, format string, args ...any) *ews.ResponseError {
	return Fail(code, fmt.Sprintf(format, args...))
}

// Fault returns a SOAP fault (HTTP 500) with the EWS code in its detail.
func Fault(code ews.ResponseCode, message string, values ...string) *ews.SOAPFault {
	f := &ews.SOAPFault{FaultCode: string(code), FaultCodeSpace: "http://schemas.microsoft.com/exchange/services/2006/types",
		FaultString: message, Code: code, Message: message, StatusCode: 500}
	if len(values) > 0 {
		f.MessageXml = map[string]string{}
		for i := 0; i+1 < len(values); i += 2 {
			f.MessageXml[values[i]] = values[i+1]
		}
		f.BackOff = ews.BackOffOf(f.MessageXml)
	}
	return f
}

// ServerBusy returns ErrorServerBusy with a BackOffMilliseconds hint, as a
// SOAP fault (request-level throttling) or a response message.
func ServerBusy(backOff time.Duration, fault bool) error {
	const msg = "The server cannot service this request right now. Try again later."
	ms := fmt.Sprint(backOff.Milliseconds())
	if fault {
		return Fault(ews.ErrorServerBusy, msg, ews.ValueBackOffMilliseconds, ms)
	}
	return Fail(ews.ErrorServerBusy, msg, ews.ValueBackOffMilliseconds, ms)
}

// Caller is who sends a request and how it should be routed.
type Caller struct {
	// Account is the authenticated account (lower-case SMTP address or
	// user name).
	Account string
	// Impersonation is the ExchangeImpersonation header, zero without.
	Impersonation ews.ConnectingSID
	// RequestVersion is RequestServerVersion/@Version (Exchange2007 when
	// the header is absent).
	RequestVersion ews.ExchangeVersion
	// AnchorMailbox is the X-AnchorMailbox header.
	AnchorMailbox string
	// PreferServerAffinity is X-PreferServerAffinity: true.
	PreferServerAffinity bool
	// BackEndOverrideCookie is the X-BackEndOverrideCookie cookie value.
	BackEndOverrideCookie string
	// Operation is the EWS operation name (body element local name).
	Operation string
	// SetCookie is filled by the backend when the response must set
	// X-BackEndOverrideCookie (the anchor's Subscribe with affinity).
	SetCookie string
	// BackEndServer is filled by the backend's Admit with the host name
	// of the mailbox server that serves the request (X-BEServer).
	BackEndServer string
}

// Mailbox is the effective user: the impersonated one, else the account.
func (c *Caller) Mailbox() string {
	if !c.Impersonation.IsZero() {
		return strings.ToLower(c.Impersonation.Value)
	}
	return strings.ToLower(c.Account)
}

// FieldUpdate is one SetItemField or DeleteItemField of an UpdateItem
// ItemChange. Value carries the new value in the field named by FieldURI
// (for example "calendar:Start"). An update of an extended property has
// Extended set (FieldURI empty) and its new value in Property.
type FieldUpdate struct {
	FieldURI string
	Delete   bool
	Value    ews.CalendarItem
	Extended *ews.ExtendedFieldURI
	Property ews.ExtendedProperty
}

// ItemChange is one t:ItemChange of an UpdateItem request.
type ItemChange struct {
	Ref     ews.ItemRef
	Updates []FieldUpdate
}

// ItemResult is a per-item outcome of a batch operation: an item or an
// error (normally *ews.ResponseError).
type ItemResult struct {
	Item *ews.CalendarItem
	Err  error
}

// TransportFault is a failure answered below SOAP, as a front end or IIS
// does: a status with headers and an optional body (for example a 302 to
// /ews/genericerrorpage.htm, or a 500 with X-CasErrorCode).
type TransportFault struct {
	StatusCode int
	Header     map[string]string
	Body       string
}

// Error implements error.
func (f *TransportFault) Error() string {
	return fmt.Sprintf("ewsserver: transport fault HTTP %d", f.StatusCode)
}

// notSupported answers an operation whose Backend interface is missing.
// It is never ErrorInvalidRequest, which clients read as a version
// mismatch.
func notSupported(what string) *ews.ResponseError {
	return Failf(ews.ErrorInvalidOperation, "%s not supported by this server.", what)
}
