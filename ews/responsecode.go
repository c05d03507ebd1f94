package ews

// ResponseCode is an EWS response code (m:ResponseCodeType), "NoError" or
// "Error…". The constants are generated from messages.xsd into
// responsecode_generated.go; servers may send codes newer than the schema,
// so an unknown code is kept as is.
type ResponseCode string

// Known reports whether c is in the schema's enumeration.
func (c ResponseCode) Known() bool {
	_, ok := knownResponseCodes[c]
	return ok
}

// ResponseClass is the ResponseClass attribute of a response message.
type ResponseClass string

// ResponseClass values.
const (
	ClassSuccess ResponseClass = "Success"
	ClassWarning ResponseClass = "Warning"
	ClassError   ResponseClass = "Error"
)

// Valid reports whether c is one of the three classes.
func (c ResponseClass) Valid() bool {
	return c == ClassSuccess || c == ClassWarning || c == ClassError
}

// transientCodes are codes after which the same request may succeed later
// without any change by the caller.
var transientCodes = map[ResponseCode]bool{
	ErrorServerBusy:                       true,
	ErrorExceededConnectionCount:          true,
	ErrorBatchProcessingStopped:           true,
	ErrorTimeoutExpired:                   true,
	ErrorInternalServerTransientError:     true,
	ErrorMailboxStoreUnavailable:          true,
	ErrorConnectionFailed:                 true,
	ErrorADUnavailable:                    true,
	ErrorInsufficientResources:            true,
	ErrorNoRespondingCASInDestinationSite: true,
	ErrorProxyRequestProcessingFailed:     true,
	ErrorProxiedSubscriptionCallFailure:   true,
	ErrorMailboxMoveInProgress:            true,
	ErrorServiceUnavailable:               true,
}

// Transient reports whether c is a code after which the same request may
// succeed later (throttling, busy or unavailable servers, stopped batches).
func (c ResponseCode) Transient() bool { return transientCodes[c] }

// subscriptionLostCodes mean the subscription (or its events) are gone: the
// caller must resubscribe and fully resynchronise.
var subscriptionLostCodes = map[ResponseCode]bool{
	ErrorMissedNotificationEvents:       true,
	ErrorSubscriptionNotFound:           true,
	ErrorInvalidSubscription:            true,
	ErrorExpiredSubscription:            true,
	ErrorReadEventsFailed:               true,
	ErrorInvalidWatermark:               true,
	ErrorMailboxMoveInProgress:          true,
	ErrorSubscriptionAccessDenied:       true,
	ErrorInvalidPullSubscriptionId:      true,
	ErrorProxiedSubscriptionCallFailure: true,
}

// SubscriptionLost reports whether c means "resubscribe and resync".
func (c ResponseCode) SubscriptionLost() bool { return subscriptionLostCodes[c] }
