package graphserver

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/graph/internal/graphwire"
)

// Change notification subscriptions on a mailbox's events (graph-facts
// §3): create with a validation handshake to the notificationUrl (and the
// lifecycleNotificationUrl), renew by PATCH, reauthorize, delete; the
// per-mailbox quota and the lifetime limit.

const maxSubscriptionBody = 64 << 10

type subscription struct {
	id, resource, changeType   string
	notificationURL, lifecycle string
	clientState                string
	smtp                       string
	expires                    time.Time
	paused                     bool // reauthorizationRequired not answered yet
}

func (sub *subscription) wants(change string) bool {
	for _, c := range strings.Split(sub.changeType, ",") {
		if strings.TrimSpace(c) == change {
			return true
		}
	}
	return false
}

type subscriptionStore struct {
	mu   sync.Mutex
	byID map[string]*subscription
}

func newSubscriptionStore() *subscriptionStore {
	return &subscriptionStore{byID: map[string]*subscription{}}
}

func (st *subscriptionStore) countFor(smtp string) int {
	n := 0
	for _, sub := range st.byID {
		if sub.smtp == smtp {
			n++
		}
	}
	return n
}

// Subscriptions counts the live subscriptions on mailbox smtp's events,
// as Graph's per-mailbox quota counts them.
func (s *Server) Subscriptions(smtp string) int {
	smtp = strings.ToLower(smtp)
	n := 0
	for _, sub := range s.subs.live(s.now()) {
		if sub.smtp == smtp {
			n++
		}
	}
	return n
}

// snapshot copies the live subscriptions, dropping expired ones.
func (st *subscriptionStore) live(now time.Time) []subscription {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]subscription, 0, len(st.byID))
	for id, sub := range st.byID {
		if !now.Before(sub.expires) {
			delete(st.byID, id)
			continue
		}
		out = append(out, *sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) wire(sub *subscription) graphwire.Subscription {
	f := false
	return graphwire.Subscription{ODataContext: "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
		ID: sub.id, Resource: sub.resource, ApplicationID: s.opts.ClientID, ChangeType: sub.changeType,
		ClientState: sub.clientState, NotificationURL: sub.notificationURL, LifecycleNotificationURL: sub.lifecycle,
		ExpirationDateTime: sub.expires.UTC(), CreatorID: guidFrom("sp:" + s.opts.ClientID), LatestSupportedTLSVersion: "v1_2",
		IncludeResourceData: &f}
}

// serveSubscriptions serves /subscriptions[/{id}[/reauthorize]].
func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.createSubscription(w, r)
	case len(rest) == 0 && r.Method == http.MethodGet:
		list := s.subs.live(s.now())
		page := graphwire.Page[graphwire.Subscription]{ODataContext: "https://graph.microsoft.com/v1.0/$metadata#subscriptions", Value: []graphwire.Subscription{}}
		for i := range list {
			ws := s.wire(&list[i])
			ws.ODataContext = ""
			page.Value = append(page.Value, ws)
		}
		writeJSON(w, http.StatusOK, page)
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.withSubscription(w, r, rest[0], func(sub *subscription) { writeJSON(w, http.StatusOK, s.wire(sub)) })
	case len(rest) == 1 && r.Method == http.MethodPatch:
		s.renewSubscription(w, r, rest[0])
	case len(rest) == 1 && r.Method == http.MethodDelete:
		s.subs.mu.Lock()
		_, ok := s.subs.byID[rest[0]]
		delete(s.subs.byID, rest[0])
		s.subs.mu.Unlock()
		if !ok {
			s.writeError(w, r, errSubscriptionNotFound(rest[0]))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 2 && strings.EqualFold(rest[1], "reauthorize") && r.Method == http.MethodPost:
		s.withSubscription(w, r, rest[0], func(sub *subscription) {
			sub.paused = false
			w.WriteHeader(http.StatusNoContent)
		})
	default:
		s.writeError(w, r, errMethod())
	}
}

func errSubscriptionNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFound", "The object '%s' was not found.", clip(id, 60))
}

// withSubscription runs f on a live subscription under the store's lock
// (f must not block).
func (s *Server) withSubscription(w http.ResponseWriter, r *http.Request, id string, f func(*subscription)) {
	now := s.now()
	s.subs.mu.Lock()
	sub, ok := s.subs.byID[id]
	if ok && !now.Before(sub.expires) {
		delete(s.subs.byID, id)
		ok = false
	}
	if !ok {
		s.subs.mu.Unlock()
		s.writeError(w, r, errSubscriptionNotFound(id))
		return
	}
	f(sub)
	s.subs.mu.Unlock()
}

// checkExpiry applies the lifetime limit to a requested expiry.
func (s *Server) checkExpiry(t time.Time) *apiError {
	now := s.now()
	max := s.opts.MaxSubscriptionLifetime
	switch {
	case t.IsZero():
		return errorf(http.StatusBadRequest, "InvalidRequest", "expirationDateTime is required.")
	case !t.After(now):
		return errorf(http.StatusBadRequest, "InvalidRequest", "Subscription expiration must be in the future (requested %s, now %s).", t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case t.Sub(now) > max:
		return errorf(http.StatusBadRequest, "InvalidRequest", "Subscription expiration can only be %d minutes in the future.", int(max/time.Minute))
	}
	return nil
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) {
	var req graphwire.Subscription
	if err := graphwire.Decode(r.Body, maxSubscriptionBody, &req); err != nil {
		if errors.Is(err, graphwire.ErrTooLarge) {
			s.writeError(w, r, errorf(http.StatusRequestEntityTooLarge, "BadRequest", "The subscription body is larger than %d bytes.", maxSubscriptionBody))
			return
		}
		s.writeError(w, r, errBadRequest("Invalid subscription body: %v.", err))
		return
	}
	smtp, e := s.checkSubscription(req)
	if e == nil {
		e = s.checkExpiry(req.ExpirationDateTime)
	}
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	if h, ok := s.model.(Hosting); ok && !h.InCloud(smtp) {
		s.writeError(w, r, errNotRESTEnabled())
		return
	}
	if !s.scope.allowed(smtp, s.now()) {
		s.writeError(w, r, errAccessDenied())
		return
	}
	for _, u := range []string{req.NotificationURL, req.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		if err := s.validateEndpoint(r, u); err != nil {
			s.log.Info("graph: subscription validation failed", "url", redactURL(u), "err", err)
			s.writeError(w, r, errorf(http.StatusBadRequest, "ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."))
			return
		}
	}
	sub := &subscription{id: newGUID(), resource: req.Resource, changeType: req.ChangeType, notificationURL: req.NotificationURL,
		lifecycle: req.LifecycleNotificationURL, clientState: req.ClientState, smtp: smtp, expires: req.ExpirationDateTime}
	s.subs.mu.Lock()
	if s.subs.countFor(smtp) >= s.opts.MaxSubscriptionsPerMailbox {
		s.subs.mu.Unlock()
		s.writeError(w, r, errorf(http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: The maximum number of %d subscriptions per mailbox has been reached.]", s.opts.MaxSubscriptionsPerMailbox))
		return
	}
	s.subs.byID[sub.id] = sub
	s.subs.mu.Unlock()
	s.watchMailbox(smtp)
	w.Header().Set("Location", baseURL(r)+"/v1.0/subscriptions/"+sub.id)
	writeJSON(w, http.StatusCreated, s.wire(sub))
}

// checkSubscription validates a create request and returns the mailbox.
func (s *Server) checkSubscription(req graphwire.Subscription) (string, *apiError) {
	bad := func(format string, args ...any) (string, *apiError) {
		return "", errorf(http.StatusBadRequest, "InvalidRequest", format, args...)
	}
	if req.ChangeType == "" {
		return bad("changeType is required: a comma-separated list of created, updated, deleted.")
	}
	for _, c := range strings.Split(req.ChangeType, ",") {
		switch strings.TrimSpace(c) {
		case "created", "updated", "deleted":
		default:
			return bad("changeType '%s' is not supported for events: use created, updated, deleted.", clip(c, 40))
		}
	}
	if len(req.ClientState) > 128 {
		return bad("clientState is longer than 128 characters.")
	}
	for name, u := range map[string]string{"notificationUrl": req.NotificationURL, "lifecycleNotificationUrl": req.LifecycleNotificationURL} {
		if u == "" && name == "notificationUrl" {
			return bad("notificationUrl is required.")
		}
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return bad("%s '%s' is not an absolute http(s) URL.", name, clip(u, 100))
		}
	}
	if req.IncludeResourceData != nil && *req.IncludeResourceData {
		return bad("includeResourceData needs an encryptionCertificate, which this simulator does not support.")
	}
	res := strings.Trim(req.Resource, "/")
	parts := strings.Split(res, "/")
	switch {
	case len(parts) >= 1 && strings.EqualFold(parts[0], "me"):
		return bad("/me is not valid with application permissions: use /users/{id}/events.")
	case len(parts) == 3 && strings.EqualFold(parts[0], "users") && strings.EqualFold(parts[2], "events"),
		len(parts) == 4 && strings.EqualFold(parts[0], "users") && strings.EqualFold(parts[2], "calendar") && strings.EqualFold(parts[3], "events"):
	default:
		return bad("Resource '%s' is not supported: subscribe to /users/{id}/events.", clip(req.Resource, 100))
	}
	smtp := s.users.resolve(parts[1])
	if smtp == "" {
		return "", errInvalidUser(parts[1])
	}
	return smtp, nil
}

func (s *Server) renewSubscription(w http.ResponseWriter, r *http.Request, id string) {
	var req graphwire.Subscription
	if err := graphwire.Decode(r.Body, maxSubscriptionBody, &req); err != nil {
		s.writeError(w, r, errBadRequest("Invalid subscription body: %v.", err))
		return
	}
	if e := s.checkExpiry(req.ExpirationDateTime); e != nil {
		s.writeError(w, r, e)
		return
	}
	s.withSubscription(w, r, id, func(sub *subscription) {
		sub.expires = req.ExpirationDateTime
		sub.paused = false
		writeJSON(w, http.StatusOK, s.wire(sub))
	})
}

// redactURL drops the query of a URL for logs (it may carry secrets).
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.RawQuery, p.User = "", nil
	return p.String()
}
