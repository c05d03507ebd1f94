// Package ewswire is the one EWS wire codec, shared by the client
// (ews/ewsclient) and the simulator's server (ews/ewsserver): the SOAP
// envelope, the EWS headers, SOAP faults, response messages, the XML structs
// of every operation calsync uses (requests and responses, both directions)
// and explicit conversions between those structs and the ews vocabulary.
//
// Parsing is by namespace URI, never by prefix. SOAP 1.1 envelopes are
// written; SOAP 1.1 and 1.2 envelopes are read; anything else (for example
// the "https://schemas.xmlsoap.org/..." namespace of broken documentation
// samples) is rejected. Unknown header and body elements are tolerated and,
// where useful, kept as RawXML. Every decoder enforces Limits (bytes and
// element depth) so that a hostile peer cannot make it hang or grow
// without bound; errors are *ews.ProtocolError-compatible values wrapping
// ErrTooLarge, ErrTooDeep or a syntax error.
//
// # Client use
//
//	var buf bytes.Buffer
//	ewswire.EncodeEnvelope(&buf, &ewswire.Header{RequestServerVersion: ...}, &ewswire.GetItem{...})
//	env, err := ewswire.DecodeEnvelope(resp.Body, ewswire.DefaultLimits, ewswire.Expect(&out))
//	// env.Body is &out, or a *ewswire.Fault
//
// # Server use (the simulator)
//
//	env, err := ewswire.DecodeRequest(r.Body, ewswire.DefaultLimits)
//	switch req := env.Body.(type) {   // dispatch on the body element's local name
//	case *ewswire.GetItem: ...
//	}
//	ewswire.EncodeEnvelope(w, &ewswire.Header{ServerVersionInfo: ...}, &ewswire.GetItemResponse{...})
//	ewswire.EncodeFault(w, ewswire.NewFault(ews.ErrorServerBusy, "…", values)) // with HTTP 500
//
// For GetStreamingEvents a server writes one envelope per event batch with a
// StreamWriter (which flushes after each envelope); the client reads them
// incrementally with a StreamReader. ErrorResponseMessage builds a response
// message from any error: *ews.ResponseError passes through, anything else
// becomes ErrorInternalServerError without leaking internals.
//
// Structs carry the XSD type name they implement ([MS-OXWSCORE],
// [MS-OXWSCDATA], [MS-OXWSNTIF], [MS-OXWSMSHR] …) in their doc comment; their
// field order is the XSD sequence order, which encoding follows.
package ewswire

// XML namespaces EWS uses.
const (
	NSSOAP11       = "http://schemas.xmlsoap.org/soap/envelope/"
	NSSOAP12       = "http://www.w3.org/2003/05/soap-envelope"
	NSMessages     = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSTypes        = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSErrors       = "http://schemas.microsoft.com/exchange/services/2006/errors"
	NSAutodiscover = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
	NSAddressing   = "http://www.w3.org/2005/08/addressing"
	NSXSI          = "http://www.w3.org/2001/XMLSchema-instance"
)
