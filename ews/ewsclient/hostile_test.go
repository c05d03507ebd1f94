package ewsclient_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// TestHostileResponses: broken answers to a normal call end in a clear,
// classified error within the call's time bound.
func TestHostileResponses(t *testing.T) {
	ok := string(unsubscribeOK())
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		check   func(error) bool
	}{
		{"invalid utf-8", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Replace(ok, "NoError", "No\xffError", 1)))
		}, 0, func(err error) bool {
			return errors.As(err, new(*ews.ProtocolError)) && strings.Contains(err.Error(), "UTF-8")
		}},
		{"deep nesting", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Replace(ok, "</ResponseMessages>", strings.Repeat("<x>", 10000)+"</ResponseMessages>", 1)))
		}, 0, func(err error) bool { return errors.Is(err, ewswire.ErrTooDeep) }},
		{"wrong body namespace", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.ReplaceAll(ok, ewswire.NSMessages, "http://schemas.microsoft.com/exchange/services/2006/message")))
		}, 0, func(err error) bool { return errors.As(err, new(*ews.ProtocolError)) }},
		{"wrong operation", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.ReplaceAll(ok, "UnsubscribeResponse", "SubscribeResponse")))
		}, 0, func(err error) bool { return errors.As(err, new(*ews.ProtocolError)) }},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(ok)))
			_, _ = w.Write([]byte(ok[:len(ok)/2]))
		}, 0, func(err error) bool {
			return errors.As(err, new(*ews.NetworkError)) || errors.As(err, new(*ews.ProtocolError))
		}},
		{"server stops sending", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(ok[:len(ok)/2]))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, 300 * time.Millisecond, func(err error) bool {
			var ne *ews.NetworkError
			return errors.As(err, &ne) && ne.Timeout() && ews.Retryable(err)
		}},
		{"wrong count", func(w http.ResponseWriter, r *http.Request) {
			resp := &ewswire.UnsubscribeResponse{}
			resp.ResponseMessages.Messages = []ewswire.ResponseMessage{ewswire.Success(), ewswire.Success()}
			_ = ewswire.EncodeEnvelope(w, nil, resp)
		}, 0, func(err error) bool { return errors.As(err, new(*ews.ProtocolError)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, tt.handler, nil)
			err := c.Unsubscribe(context.Background(), ewsclient.Call{Timeout: tt.timeout}, "sub")
			if !tt.check(err) {
				t.Fatalf("Unsubscribe() = %#v (%v)", err, err)
			}
		})
	}
}

// TestStalledBodyTail: once the answer is known (a complete envelope, a
// non-SOAP body, an HTTP error status), a server that keeps the body open
// without sending more does not hold the call until its timeout.
func TestStalledBodyTail(t *testing.T) {
	stallAfter := func(status int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/owa/auth/errorfe.aspx")
			w.WriteHeader(status)
			_, _ = w.Write(body)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}
	httpStatus := func(code int) func(error) bool {
		return func(err error) bool { var he *ews.HTTPError; return errors.As(err, &he) && he.StatusCode == code }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{"complete envelope", stallAfter(200, unsubscribeOK()), func(err error) bool { return err == nil }},
		{"html page", stallAfter(200, []byte("<html><body>Sign in")), func(err error) bool { return errors.As(err, new(*ews.ProtocolError)) }},
		{"302 to an error page", stallAfter(302, []byte("<html>Object moved")), httpStatus(302)},
		{"401 with a slow body", stallAfter(401, []byte("<html>401 - Unauthorized")), httpStatus(401)},
	}
	const timeout = 20 * time.Second
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, tt.handler, nil)
			began := time.Now()
			err := c.Unsubscribe(context.Background(), ewsclient.Call{Timeout: timeout}, "sub")
			if !tt.check(err) {
				t.Fatalf("Unsubscribe() = %#v (%v)", err, err)
			}
			if d := time.Since(began); d > timeout/4 {
				t.Fatalf("Unsubscribe() took %v: it waited for a body tail it does not need", d)
			}
			began = time.Now()
			s, err := c.GetStreamingEvents(context.Background(), ewsclient.Call{}, ewsclient.StreamRequest{SubscriptionIds: []string{"s1"}})
			if err == nil {
				s.Close()
			}
			if d := time.Since(began); d > timeout/4 {
				t.Fatalf("GetStreamingEvents() took %v (%v)", d, err)
			}
		})
	}
}
