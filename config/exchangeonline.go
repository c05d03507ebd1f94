package config

import (
	"strings"
	"time"
)

// ExchangeOnline configures Exchange Online through Microsoft Graph
// (exchange_online:), app-only: an Entra app registration with a client
// secret or a certificate. nil when the section is absent.
type ExchangeOnline struct {
	// TenantID is the tenant GUID or a verified domain.
	TenantID string
	// ClientID is the app registration's application (client) id.
	ClientID string
	// ClientSecret, or CertificateFile with KeyFile (PEM), authenticates
	// the app.
	ClientSecret    Secret
	CertificateFile string
	KeyFile         string
	// GraphURL is the Graph v1.0 root (default https://graph.microsoft.com/v1.0);
	// LoginURL the Entra authority (default https://login.microsoftonline.com).
	GraphURL string
	LoginURL string
	// Notifications says how changes are found.
	Notifications GraphNotifications
}

// GraphNotifications is exchange_online.notifications.
type GraphNotifications struct {
	// Mode is "delta" (calendarView/delta polled every DeltaInterval) or
	// "webhook" (change notifications to PublicURL; a delta round every
	// DeltaInterval as the safety net).
	Mode string
	// DeltaInterval is the delta polling period (default 30 s).
	DeltaInterval time.Duration
	// PublicURL is the base URL under which Graph reaches calsync's HTTP
	// listener (webhook mode); notifications go to PublicURL + GraphNotifyPath.
	PublicURL string
}

// GraphNotifyPath is where calsync receives Graph's change and lifecycle
// notifications (webhook mode), without API tokens: clientState
// authenticates them.
const GraphNotifyPath = "/graph/notifications"

// Defaults of exchange_online, documented in docs/operations.md.
const (
	DefaultGraphURL      = "https://graph.microsoft.com/v1.0"
	DefaultLoginURL      = "https://login.microsoftonline.com"
	DefaultDeltaInterval = 30 * time.Second
)

var (
	exchangeOnlineKeys = []string{"tenant_id", "client_id", "client_secret", "client_secret_env", "client_secret_file",
		"certificate_file", "key_file", "graph_url", "login_url", "notifications"}
	graphNotificationKeys = []string{"mode", "delta_interval", "public_url"}
)

// exchangeOnline reads exchange_online.
func (d *decoder) exchangeOnline(m *mapNode) *ExchangeOnline {
	if m == nil {
		return nil
	}
	x := &ExchangeOnline{GraphURL: DefaultGraphURL, LoginURL: DefaultLoginURL,
		Notifications: GraphNotifications{Mode: "delta", DeltaInterval: DefaultDeltaInterval}}
	for _, k := range []string{"tenant_id", "client_id"} {
		n := m.get(k)
		if n == nil {
			d.required(m, k, "missing; expected the %s of the app registration in Entra ID", strings.ReplaceAll(k, "_", " "))
			continue
		}
		v := strings.TrimSpace(d.str(m.sub(k), n))
		if v == "" {
			d.errorf(n, m.sub(k), "is empty; expected the %s of the app registration in Entra ID", strings.ReplaceAll(k, "_", " "))
		}
		if k == "tenant_id" {
			x.TenantID = v
		} else {
			x.ClientID = v
		}
	}
	hasCert := m.has("certificate_file") || m.has("key_file")
	hasSecret := m.has("client_secret") || m.has("client_secret_env") || m.has("client_secret_file")
	switch {
	case hasCert && hasSecret:
		d.errorf(m.at, m.path, "set either a client secret (client_secret_env or client_secret_file) or certificate_file with key_file, not both")
	case hasCert:
		for _, k := range []string{"certificate_file", "key_file"} {
			n := m.get(k)
			if n == nil {
				d.required(m, k, "missing; a certificate needs both certificate_file and key_file (PEM)")
				continue
			}
			p, _ := d.existingFile(m.sub(k), n)
			if k == "certificate_file" {
				x.CertificateFile = p
			} else {
				x.KeyFile = p
			}
		}
	default:
		x.ClientSecret = d.secret(m, "client_secret", "to obtain app-only tokens, unless certificate_file and key_file are set")
	}
	for _, k := range []string{"graph_url", "login_url"} {
		n := m.get(k)
		if n == nil {
			continue
		}
		if u, ok := d.parseURL(m.sub(k), n, "https", "http"); ok {
			d.plainHTTPWarning(m.sub(k), n, u.Scheme, u.Hostname())
			s := strings.TrimRight(u.String(), "/")
			if k == "graph_url" {
				x.GraphURL = s
			} else {
				x.LoginURL = s
			}
		}
	}
	if v := m.get("notifications"); v != nil {
		if nm := d.mapping(m.sub("notifications"), m.key("notifications"), v, graphNotificationKeys...); nm != nil {
			if mode := nm.get("mode"); mode != nil {
				if s, ok := d.enum(nm.sub("mode"), mode, "delta", "webhook"); ok {
					x.Notifications.Mode = s
				}
			}
			if p := nm.get("public_url"); p != nil {
				if u, ok := d.parseURL(nm.sub("public_url"), p, "https", "http"); ok {
					d.plainHTTPWarning(nm.sub("public_url"), p, u.Scheme, u.Hostname())
					x.Notifications.PublicURL = strings.TrimRight(u.String(), "/")
				}
				if x.Notifications.Mode != "webhook" {
					d.errorf(p, nm.sub("public_url"), "is used by mode \"webhook\" only; set mode: webhook or remove it")
				}
			} else if x.Notifications.Mode == "webhook" {
				d.required(nm, "public_url", "missing; mode \"webhook\" needs the public HTTPS URL under which Graph reaches calsync (it posts to <public_url>%s)", GraphNotifyPath)
			}
			if di := nm.get("delta_interval"); di != nil {
				if v, ok := d.duration(nm.sub("delta_interval"), di, 5*time.Second, time.Hour); ok {
					x.Notifications.DeltaInterval = v
				}
			}
		}
	}
	return x
}
