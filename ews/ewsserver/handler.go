// Package ewsserver serves Exchange Web Services over HTTP for any Backend:
// the SOAP endpoint /EWS/Exchange.asmx, SOAP Autodiscover
// /autodiscover/autodiscover.svc, Basic and NTLMv2 authentication with
// IIS-style 401 challenges, and the error mapping of Exchange (response
// messages, SOAP faults with HTTP 500, bare HTTP statuses). It also exports
// the evaluation every backend needs: recurrence expansion (Expand),
// CalendarView overlap and limits (Overlaps, LimitCalendarView) and Windows
// time zones (LoadWindowsZone).
//
// The wire format comes from ews/internal/ewswire, the codec the client
// uses too. The simulator backend is ewsserver/ewsmem. The protocol is
// specified in [MS-OXWS*]; the behaviours reproduced are listed in
// docs/simulator.md.
package ewsserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
)

// Options configures a Handler. A nil *Options means the zero value: no
// authentication, default server version, schema-conformant streaming.
type Options struct {
	// Logger receives request errors and recovered panics (default: discard).
	Logger *slog.Logger
	// Clock is used for NTLM handshakes and latency (default clock.Real{}).
	Clock clock.Clock
	// Auth selects the accepted authentication methods.
	Auth AuthOptions
	// ServerVersion is sent in every ServerVersionInfo header (default
	// Exchange 2016 CU23: 15.1.2507.39, "V2017_07_11").
	ServerVersion *ews.ServerVersionInfo
	// SchemaNotificationNamespace writes streaming notifications and the
	// ids of ErrorSubscriptionIds in the types namespace, as the schema
	// says, instead of Exchange's m:Notification and m:SubscriptionId (the
	// default, what Exchange 2013+ sends).
	SchemaNotificationNamespace bool
	// Control, when set, is served under /sim/v1/ behind the same
	// authentication as EWS.
	Control http.Handler
	// Limits bounds request size and depth (default ewswire.DefaultLimits).
	Limits ewswire.Limits
	// FrontEnd is the host name of the client access front end, sent in
	// X-FEServer (and X-BEServer when the backend names no back end);
	// default "cas01".
	FrontEnd string
}

// Handler is the EWS http.Handler. It is safe for concurrent use.
type Handler struct {
	backend  Backend
	notify   BackendNotifications
	avail    BackendAvailability
	autod    BackendAutodiscover
	folders  BackendFolders
	settings BackendMailboxSettings
	opts     Options
	log      *slog.Logger
	auth     *authenticator
	version  ews.ServerVersionInfo
	frontEnd string
	handlers map[string]operation
}

// operation is one EWS operation: serve decodes nothing (the body is
// already decoded) and returns the response body; fail builds the
// operation's response holding one error message.
type operation struct {
	serve func(ctx context.Context, c *Caller, body any, w http.ResponseWriter, r *http.Request) (any, error)
	fail  func(err error) any
}

// DefaultServerVersion is what the simulator reports: Exchange 2016.
var DefaultServerVersion = ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, MajorBuildNumber: 2507, MinorBuildNumber: 39, Version: "V2017_07_11"}

// NewHandler returns a Handler for b. Optional interfaces of b
// (BackendNotifications, BackendAvailability, BackendAutodiscover,
// BackendFolders) enable their operations; an operation whose interface is
// missing answers ErrorInvalidOperation.
func NewHandler(b Backend, opts *Options) (*Handler, error) {
	if b == nil {
		return nil, errors.New("ewsserver: NewHandler needs a backend")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.FrontEnd == "" {
		o.FrontEnd = "cas01"
	}
	h := &Handler{backend: b, opts: o, log: o.Logger, version: DefaultServerVersion, frontEnd: netBIOSName(o.FrontEnd)}
	if o.ServerVersion != nil {
		h.version = *o.ServerVersion
	}
	h.notify, _ = b.(BackendNotifications)
	h.avail, _ = b.(BackendAvailability)
	h.autod, _ = b.(BackendAutodiscover)
	h.folders, _ = b.(BackendFolders)
	h.settings, _ = b.(BackendMailboxSettings)
	auth, err := newAuthenticator(o.Auth, o.Clock)
	if err != nil {
		return nil, err
	}
	h.auth = auth
	h.handlers = map[string]operation{
		"GetFolder":                  {h.getFolder, getFolderError},
		"FindItem":                   {h.findItem, findItemError},
		"GetItem":                    {h.getItem, getItemError},
		"SyncFolderItems":            {h.syncFolderItems, syncFolderItemsError},
		"CreateItem":                 {h.createItem, createItemError},
		"UpdateItem":                 {h.updateItem, updateItemError},
		"DeleteItem":                 {h.deleteItem, deleteItemError},
		"GetUserAvailabilityRequest": {h.getUserAvailability, getUserAvailabilityError},
		"GetUserOofSettingsRequest":  {h.getUserOofSettings, getUserOofSettingsError},
		"Subscribe":                  {h.subscribe, subscribeError},
		"GetEvents":                  {h.getEvents, getEventsError},
		"GetStreamingEvents":         {h.getStreamingEvents, getStreamingEventsError},
		"Unsubscribe":                {h.unsubscribe, unsubscribeError},
		"GetServerTimeZones":         {h.getServerTimeZones, getServerTimeZonesError},
		"ConvertId":                  {h.convertId, convertIdError},
		"GetMailTips":                {h.getMailTips, getMailTipsError},
		"GetServiceConfiguration":    {h.getServiceConfiguration, getServiceConfigurationError},
		"GetUserConfiguration":       {h.getUserConfiguration, getUserConfigurationError},
	}
	return h, nil
}

// Operations lists the EWS operations the handler serves (body element
// names, sorted); every other operation is answered ErrorInvalidOperation.
func (h *Handler) Operations() []string {
	ops := make([]string, 0, len(h.handlers))
	for name := range h.handlers {
		ops = append(ops, name)
	}
	slices.Sort(ops)
	return ops
}

// ServeHTTP routes EWS, Autodiscover and the control API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, not a returned error
				panic(v)
			}
			h.log.Error("ewsserver: panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			h.writeFault(w, ewswire.FaultFromError(errors.New("panic")))
		}
	}()
	h.writeCommonHeaders(w)
	path := strings.ToLower(r.URL.Path)
	switch {
	case path == "/ews/exchange.asmx":
	case path == "/autodiscover/autodiscover.svc":
	case strings.HasPrefix(path, "/sim/v1/") && h.opts.Control != nil:
	default:
		http.NotFound(w, r)
		return
	}
	account, ok := h.auth.authenticate(w, r)
	if !ok {
		return
	}
	switch {
	case strings.HasPrefix(path, "/sim/v1/"):
		h.opts.Control.ServeHTTP(w, r)
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "EWS accepts POST only", http.StatusMethodNotAllowed)
	case path == "/autodiscover/autodiscover.svc":
		h.serveAutodiscover(w, r, account)
	default:
		h.serveEWS(w, r, account)
	}
}

// header is the response header of every normal EWS response.
func (h *Handler) header() *ewswire.Header {
	return &ewswire.Header{ServerVersionInfo: ewswire.ServerVersionInfoFrom(h.version)}
}

func (h *Handler) serveEWS(w http.ResponseWriter, r *http.Request, account string) {
	// The raw body is kept for the request parts the shared codec does not
	// decode but Exchange judges (see findItemParts).
	var raw bytes.Buffer
	env, err := ewswire.DecodeRequest(io.TeeReader(r.Body, &raw), h.opts.Limits)
	if err != nil {
		var re *ewswire.ReadError
		if errors.As(err, &re) {
			return // client went away
		}
		h.writeFault(w, schemaFaultAt(err))
		return
	}
	opName := env.BodyName.Local
	op, known := h.handlers[opName]
	switch {
	case env.BodyName.Space != ewswire.NSMessages:
		// Not an EWS operation at all: Exchange's schema check refuses it.
		line, col := positionOf(raw.Bytes(), opName)
		f := SchemaFault(fmt.Sprintf("The element '%s' in namespace '%s' is not an EWS operation.", opName, env.BodyName.Space))
		f.MessageXml[ews.ValueLineNumber], f.MessageXml[ews.ValueLinePosition] = fmt.Sprint(line), fmt.Sprint(col)
		h.writeFault(w, ewswire.FaultFromError(f))
		return
	case !known:
		// Never ErrorInvalidRequest: clients such as exchangelib read that
		// code as "wrong RequestServerVersion" and give up on the server.
		h.writeFault(w, ewswire.NewFault(ews.ErrorInvalidOperation, fmt.Sprintf("The simulator does not implement the operation %s.", opName), nil))
		return
	}
	c, ferr := h.caller(r, env, account, opName)
	if ferr != nil {
		h.writeFault(w, ferr)
		return
	}
	ctx := r.Context()
	h.log.Debug("ewsserver: request", "op", opName, "account", account, "mailbox", c.Mailbox(), "version", c.RequestVersion,
		"anchor", c.AnchorMailbox, "affinity", c.PreferServerAffinity)
	release, err := h.backend.Admit(ctx, c)
	if err != nil {
		h.log.Debug("ewsserver: request refused", "op", opName, "mailbox", c.Mailbox(), "err", err)
		h.writeError(w, op, err)
		return
	}
	h.writeRoutingHeaders(w, r, c)
	if opName == "GetStreamingEvents" {
		// A hanging connection counts against the streaming connection
		// limit (checked by OpenStream), not against EWSMaxConcurrency.
		release()
	} else {
		defer release()
	}
	body := env.Body
	if fi, ok := body.(*ewswire.FindItem); ok {
		body = &findItemBody{FindItem: fi, parts: findItemParts(raw.Bytes())}
	}
	resp, err := op.serve(ctx, c, body, w, r)
	if err != nil {
		if errors.Is(err, errStreamed) {
			return
		}
		placeSchemaFault(err, raw.Bytes(), opName)
		h.writeError(w, op, err)
		return
	}
	if c.SetCookie != "" {
		http.SetCookie(w, &http.Cookie{Name: "X-BackEndOverrideCookie", Value: c.SetCookie, Path: "/", HttpOnly: true, Secure: r.TLS != nil})
	}
	h.writeEnvelope(w, http.StatusOK, resp)
}

// errStreamed tells serveEWS that the operation wrote its own response.
var errStreamed = errors.New("ewsserver: response streamed")

// caller builds the Caller from headers, checking RequestServerVersion and
// ExchangeImpersonation as Exchange does.
func (h *Handler) caller(r *http.Request, env *ewswire.Envelope, account, op string) (*Caller, *ewswire.Fault) {
	c := &Caller{Account: account, Operation: op, RequestVersion: ews.Exchange2007}
	if v := env.Header.RequestServerVersion; v != nil {
		switch ver := ews.ExchangeVersion(v.Version); {
		case ver == "Exchange2019":
			return nil, ewswire.NewFault(ews.ErrorInvalidRequest, "The request is invalid.", nil)
		case !ver.Known():
			return nil, ewswire.NewFault(ews.ErrorInvalidServerVersion, "The specified server version is invalid.", nil)
		default:
			c.RequestVersion = ver
		}
	}
	if imp := env.Header.Impersonation; imp != nil {
		sid, err := imp.ToEWS()
		if err != nil {
			return nil, ewswire.NewFault(ews.ErrorInvalidExchangeImpersonationHeaderData, "The impersonation header is invalid.", nil)
		}
		c.Impersonation = sid
	}
	c.AnchorMailbox = strings.TrimSpace(r.Header.Get("X-AnchorMailbox"))
	c.PreferServerAffinity = strings.EqualFold(strings.TrimSpace(r.Header.Get("X-PreferServerAffinity")), "true")
	if ck, err := r.Cookie("X-BackEndOverrideCookie"); err == nil {
		c.BackEndOverrideCookie = ck.Value
	} else if v := r.Header.Get("X-BackEndOverrideCookie"); v != "" {
		c.BackEndOverrideCookie = v
	}
	return c, nil
}

// writeError maps a backend error at the edge: SOAP faults, HTTP statuses,
// response messages; anything else is logged and hidden behind
// ErrorInternalServerError.
func (h *Handler) writeError(w http.ResponseWriter, op operation, err error) {
	var fault *ews.SOAPFault
	var herr *ews.HTTPError
	var rerr *ews.ResponseError
	var tf *TransportFault
	switch {
	case errors.As(err, &tf):
		for k, v := range tf.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(tf.StatusCode)
		_, _ = io.WriteString(w, tf.Body)
	case errors.As(err, &fault):
		h.writeFault(w, ewswire.FaultFromError(fault))
	case errors.As(err, &herr):
		if herr.StatusCode == http.StatusUnauthorized {
			h.auth.challenge(w)
			return
		}
		if herr.Location != "" {
			w.Header().Set("Location", herr.Location)
		}
		w.WriteHeader(herr.StatusCode)
	case errors.As(err, &rerr):
		h.writeEnvelope(w, http.StatusOK, op.fail(rerr))
	case errors.Is(err, context.Canceled):
	default:
		h.log.Error("ewsserver: backend error", "err", err)
		h.writeEnvelope(w, http.StatusOK, op.fail(err))
	}
}

func (h *Handler) writeEnvelope(w http.ResponseWriter, status int, body any) {
	data, err := ewswire.Marshal(h.header(), body)
	if err != nil {
		h.log.Error("ewsserver: encode response", "err", err)
		h.writeFault(w, ewswire.FaultFromError(err))
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func (h *Handler) writeFault(w http.ResponseWriter, f *ewswire.Fault) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_ = ewswire.EncodeFault(w, f)
}

// responseFor turns a per-item error (or nil) into a response message.
func responseFor(err error) ewswire.ResponseMessage {
	if err == nil {
		return ewswire.Success()
	}
	return ewswire.ErrorResponseMessage(err)
}
