package ewsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// MaxAutodiscoverUsers is the most mailboxes one GetUserSettings request
// carries (Exchange's default MaxUsersPerGetUserSettingsRequest).
const MaxAutodiscoverUsers = 90

// Autodiscover setting names calsync uses.
const (
	SettingInternalEwsURL        = "InternalEwsUrl"
	SettingExternalEwsURL        = "ExternalEwsUrl"
	SettingGroupingInformation   = "GroupingInformation"
	SettingEwsSupportedSchemas   = "EwsSupportedSchemas"
	SettingCasVersion            = "CasVersion"
	SettingInternalMailboxServer = "InternalMailboxServer"
	SettingUserDisplayName       = "UserDisplayName"
)

// DefaultAutodiscoverSettings are requested when none are given.
var DefaultAutodiscoverSettings = []string{SettingInternalEwsURL, SettingExternalEwsURL, SettingGroupingInformation,
	SettingEwsSupportedSchemas, SettingCasVersion, SettingInternalMailboxServer}

// AutodiscoverRequest asks SOAP Autodiscover (…/autodiscover/autodiscover.svc)
// for user settings.
type AutodiscoverRequest struct {
	// URL is the Autodiscover SOAP endpoint.
	URL       string
	Mailboxes []string
	// Settings defaults to DefaultAutodiscoverSettings.
	Settings []string
	// MaxHops bounds RedirectAddress/RedirectUrl redirects per mailbox
	// (default 3).
	MaxHops int
}

// UserSettings is one mailbox's Autodiscover answer.
type UserSettings struct {
	// Mailbox is the address as requested; Resolved the address after
	// RedirectAddress redirects.
	Mailbox  string
	Resolved string
	Settings map[string]string
	Err      error
}

// EWSURL returns ExternalEwsUrl, else InternalEwsUrl.
func (u UserSettings) EWSURL() string {
	if v := u.Settings[SettingExternalEwsURL]; v != "" {
		return v
	}
	return u.Settings[SettingInternalEwsURL]
}

// AffinityGroup is the grouping key for streaming subscriptions:
// GroupingInformation plus ExternalEwsUrl.
func (u UserSettings) AffinityGroup() string {
	return u.Settings[SettingGroupingInformation] + u.Settings[SettingExternalEwsURL]
}

// AutodiscoverError is a per-user or per-request Autodiscover error code
// (InvalidUser, ServerBusy, …).
type AutodiscoverError struct {
	Code    string
	Message string
}

// Error implements error.
func (e *AutodiscoverError) Error() string {
	return "ewsclient: autodiscover: " + e.Code + ": " + e.Message
}

// Describe is the answer for people, without the code: "Autodiscover:
// The e-mail address cannot be found."
func (e *AutodiscoverError) Describe() string {
	if m := strings.TrimSpace(e.Message); m != "" {
		return "Autodiscover: " + m
	}
	return "Autodiscover answered " + e.Code
}

// GetUserSettings runs SOAP Autodiscover, following RedirectAddress and
// RedirectUrl answers up to MaxHops times per mailbox. Results are in input
// order.
func (c *Client) GetUserSettings(ctx context.Context, req AutodiscoverRequest) ([]UserSettings, error) {
	const op = "GetUserSettings"
	n := len(req.Mailboxes)
	if n == 0 || n > MaxAutodiscoverUsers {
		return nil, fmt.Errorf("ewsclient: %s: %d mailboxes, want 1..%d", op, n, MaxAutodiscoverUsers)
	}
	start, err := parseEndpoint(req.URL)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	settings := req.Settings
	if len(settings) == 0 {
		settings = DefaultAutodiscoverSettings
	}
	hops := req.MaxHops
	if hops <= 0 {
		hops = 3
	}
	out := make([]UserSettings, n)
	type pending struct {
		index   int
		address string
	}
	// Group the work by URL; redirects add work for later rounds.
	work := map[string][]pending{start.String(): nil}
	for i, m := range req.Mailboxes {
		out[i] = UserSettings{Mailbox: m, Resolved: m}
		work[start.String()] = append(work[start.String()], pending{i, m})
	}
	for round := 0; round <= hops && len(work) > 0; round++ {
		next := map[string][]pending{}
		for endpoint, list := range work {
			addrs := make([]string, len(list))
			for i, p := range list {
				addrs[i] = p.address
			}
			resps, err := c.getUserSettingsOnce(ctx, endpoint, addrs, settings)
			if err != nil {
				return nil, err
			}
			for i, p := range list {
				r := resps[i]
				switch r.ErrorCode {
				case "NoError", "":
					out[p.index].Settings = r.Settings()
					out[p.index].Err = nil
				case "RedirectAddress":
					target := strings.TrimSpace(r.RedirectTarget)
					if !strings.Contains(target, "@") {
						out[p.index].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("RedirectAddress to %q", target)}
						continue
					}
					out[p.index].Resolved = target
					out[p.index].Err = &AutodiscoverError{Code: "RedirectAddress", Message: "too many redirects"}
					next[endpoint] = append(next[endpoint], pending{p.index, target})
				case "RedirectUrl":
					u, err := c.redirectURL(start, r.RedirectTarget)
					if err != nil {
						out[p.index].Err = &ews.ProtocolError{Op: op, Err: err}
						continue
					}
					out[p.index].Err = &AutodiscoverError{Code: "RedirectUrl", Message: "too many redirects"}
					next[u] = append(next[u], pending{p.index, p.address})
				default:
					out[p.index].Err = &AutodiscoverError{Code: r.ErrorCode, Message: r.ErrorMessage}
				}
			}
		}
		work = next
	}
	return out, nil
}

// redirectURL accepts https targets (http only when the first URL was http,
// as in tests against local servers) within the organization of the first
// URL: the service account's credentials go with the next request.
func (c *Client) redirectURL(start *url.URL, target string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("RedirectUrl %q is not an absolute URL", target)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && start.Scheme == "http") {
		return "", fmt.Errorf("RedirectUrl %q is not https", u.Redacted())
	}
	if !sameOrganization(start.Hostname(), u.Hostname()) {
		return "", fmt.Errorf("RedirectUrl %q leaves %s; calsync sends the service account's credentials only within that domain (set exchange.autodiscover_url to the right endpoint)", u.Redacted(), start.Hostname())
	}
	if !strings.HasSuffix(strings.ToLower(u.Path), ".svc") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/autodiscover/autodiscover.svc"
	}
	return u.String(), nil
}

func (c *Client) getUserSettingsOnce(ctx context.Context, endpoint string, addrs, settings []string) ([]ewswire.UserResponse, error) {
	const op = "GetUserSettings"
	w := &ewswire.GetUserSettingsRequestMessage{}
	for _, a := range addrs {
		w.AddUser(a)
	}
	w.Request.RequestedSettings.Setting = settings
	h := &ewswire.Header{
		AutodiscoverVersion: &ewswire.AutodiscoverRequestedServerVersion{Value: "Exchange2013"},
		Action:              &ewswire.AddressingHeader{XMLName: xmlName(ewswire.NSAddressing, "Action"), Value: ewswire.AutodiscoverActionGetUserSettings},
		To:                  &ewswire.AddressingHeader{XMLName: xmlName(ewswire.NSAddressing, "To"), Value: endpoint},
	}
	payload, err := ewswire.Marshal(h, w)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// X-AnchorMailbox routes the request to the first user's site (and is
	// required for app-only OAuth tokens).
	resp, err := c.post(ctx, Call{Endpoint: endpoint, Anchor: addrs[0]}, op, payload) //nolint:bodyclose // closeBody below
	if err != nil {
		return nil, err
	}
	defer closeBody(resp.Body)
	var out ewswire.GetUserSettingsResponseMessage
	if _, err := c.decode(ctx, op, resp, &out); err != nil {
		return nil, err
	}
	if code := out.Response.ErrorCode; code != "" && code != "NoError" {
		return nil, &AutodiscoverError{Code: code, Message: out.Response.ErrorMessage}
	}
	list := out.Response.UserResponses.UserResponse
	if len(list) != len(addrs) {
		return nil, &ews.ProtocolError{Op: op, Err: errors.New("user responses do not match the request")}
	}
	return list, nil
}

// sameOrganization reports whether host target may receive credentials
// meant for host start: the same host, or a host under the same
// registrable domain (mail.example.com and autodiscover.example.com, not
// example.net or another customer of a shared suffix such as co.uk).
func sameOrganization(start, target string) bool {
	start, target = strings.ToLower(strings.TrimSuffix(start, ".")), strings.ToLower(strings.TrimSuffix(target, "."))
	if start == target {
		return true
	}
	if net.ParseIP(start) != nil || net.ParseIP(target) != nil {
		return false
	}
	sd, err := publicsuffix.EffectiveTLDPlusOne(start)
	if err != nil {
		return false
	}
	td, err := publicsuffix.EffectiveTLDPlusOne(target)
	return err == nil && sd == td
}
