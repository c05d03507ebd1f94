package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.yaml.in/yaml/v3"
)

const (
	defaultPullInterval      = 30 * time.Second
	defaultPullTimeout       = 30 * time.Minute
	defaultConnectionTimeout = 30 * time.Minute
	defaultHeartbeatTimeout  = 90 * time.Second
	defaultCoalesceDelay     = 2 * time.Second
	defaultOOFInterval       = 15 * time.Minute
	defaultOOFPollInterval   = time.Minute
	defaultReconcileInterval = time.Hour
	defaultMaxBackOff        = 5 * time.Minute
	defaultLDAPRefresh       = 15 * time.Minute
	defaultLDAPTimeout       = 30 * time.Second
	defaultWebhookTimeout    = 10 * time.Second
	// exchangeDefaultConcurrency is EWSMaxConcurrency in Exchange's default
	// throttling policy (2013 and later).
	exchangeDefaultConcurrency = 27
)

var (
	exchangeKeys      = []string{"ews_url", "autodiscover_url", "server_version", "auth", "tls", "impersonation", "notifications", "vendor_config"}
	authKeys          = []string{"method", "username", "password", "password_env", "password_file", "oauth2"}
	oauthKeys         = []string{"token_url", "client_id", "client_secret", "client_secret_env", "client_secret_file", "scopes"}
	tlsKeys           = []string{"ca_file", "insecure_skip_verify"}
	notificationsKeys = []string{"mode", "pull_interval", "pull_timeout", "connection_timeout", "heartbeat_timeout", "coalesce_delay", "reconcile_interval", "oof_interval", "oof_poll_interval", "group_size"}
	budgetKeys        = []string{"max_concurrency", "max_concurrency_per_server", "max_concurrency_per_user", "requests_per_second", "max_backoff"}
	ldapKeys          = []string{"url", "starttls", "tls", "bind_dn", "password", "password_env", "password_file", "base_dn", "group_dn", "nested", "page_size", "mail_attribute", "sip_address_attribute", "refresh_interval", "timeout"}
	apiKeys           = []string{"listen", "tokens", "tokens_env", "tokens_file", "read_tokens", "read_tokens_env", "read_tokens_file", "tls_cert_file", "tls_key_file"}
	webhookKeys       = []string{"name", "url", "secret", "secret_env", "secret_file", "events", "timeout"}
)

func (d *decoder) exchange(x *Exchange, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("ews_url"); v != nil {
		if u, ok := d.parseURL(m.sub("ews_url"), v, "https", "http"); ok {
			x.EWSURL = u.String()
			d.plainHTTPWarning(m.sub("ews_url"), v, u.Scheme, u.Hostname())
		}
	}
	if v := m.get("autodiscover_url"); v != nil {
		if u, ok := d.parseURL(m.sub("autodiscover_url"), v, "https", "http"); ok {
			x.AutodiscoverURL = u.String()
			d.plainHTTPWarning(m.sub("autodiscover_url"), v, u.Scheme, u.Hostname())
		}
	}
	if !m.has("ews_url") && !m.has("autodiscover_url") && !d.misspelt[m.sub("ews_url")] && !d.misspelt[m.sub("autodiscover_url")] {
		d.errorf(m.at, m.path, "ews_url or autodiscover_url is required; expected e.g. ews_url: https://mail.example.com/EWS/Exchange.asmx")
	}
	if v := m.get("server_version"); v != nil {
		if s, ok := d.enum(m.sub("server_version"), v, ServerVersions...); ok {
			x.ServerVersion = s
		}
	}
	d.auth(&x.Auth, d.mapping(m.sub("auth"), m.key("auth"), m.get("auth"), authKeys...))
	if v := m.get("tls"); v != nil {
		d.tls(&x.TLS, d.mapping(m.sub("tls"), m.key("tls"), v, tlsKeys...), "Exchange")
	}
	if v := m.get("impersonation"); v != nil {
		if im := d.mapping(m.sub("impersonation"), m.key("impersonation"), v, "id_type"); im != nil {
			if t := im.get("id_type"); t != nil {
				if s, ok := d.enum(im.sub("id_type"), t, "smtp", "upn", "sid"); ok {
					x.Impersonation.IDType = ImpersonationIDType(s)
					d.idType, d.idTypeNode = x.Impersonation.IDType, t
				}
			}
		}
	}
	if v := m.get("notifications"); v != nil {
		d.notifications(&x.Notifications, d.mapping(m.sub("notifications"), m.key("notifications"), v, notificationsKeys...))
	}
	if v := m.get("vendor_config"); v != nil {
		d.vendorConfig(x, m, v)
	}
}

// vendorMode maps the vendor's spellings (EwsStream, EwsPull) to a mode.
func vendorMode(s string) NotificationMode {
	switch {
	case strings.EqualFold(strings.TrimSpace(s), VendorStream):
		return Streaming
	case strings.EqualFold(strings.TrimSpace(s), VendorPull):
		return Pull
	}
	return ""
}

// plainHTTPWarning warns about http:// towards a host that is not loopback.
func (d *decoder) plainHTTPWarning(path string, n *yaml.Node, scheme, host string) {
	if strings.EqualFold(scheme, "http") && !isLoopbackHost(host) {
		d.warnf(n, path, "plain http sends the service account's credentials and all calendar data unencrypted; use https")
	}
}

func (d *decoder) auth(a *Auth, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("method"); v != nil {
		if s, ok := d.enum(m.sub("method"), v, "basic", "ntlm", "oauth2"); ok {
			a.Method = AuthMethod(s)
		}
	}
	if a.Method == AuthOAuth2 {
		for _, k := range []string{"username", "password", "password_env", "password_file"} {
			if m.has(k) {
				d.errorf(m.key(k), m.sub(k), "not used with auth method oauth2; remove it or set method to basic or ntlm")
			}
		}
		if !m.has("oauth2") {
			d.errorf(m.at, m.sub("oauth2"), "missing; auth method oauth2 needs this section with token_url, client_id and client_secret_env or client_secret_file")
			return
		}
		d.oauth2(&a.OAuth2, d.mapping(m.sub("oauth2"), m.key("oauth2"), m.get("oauth2"), oauthKeys...))
		return
	}
	if m.has("oauth2") {
		d.errorf(m.key("oauth2"), m.sub("oauth2"), "only used with auth method oauth2 (method is %s)", a.Method)
	}
	if v := m.get("username"); v != nil {
		a.Username = d.str(m.sub("username"), v)
	} else {
		d.required(m, "username", "missing; expected the service account as DOMAIN\\user or user@domain (needed for auth method %s)", a.Method)
	}
	a.Password = d.secret(m, "password", "for auth method "+string(a.Method))
}

func (d *decoder) oauth2(o *OAuth2, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("token_url"); v != nil {
		if u, ok := d.parseURL(m.sub("token_url"), v, "https", "http"); ok {
			o.TokenURL = u.String()
		}
	} else {
		d.required(m, "token_url", "missing; expected e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token")
	}
	if v := m.get("client_id"); v != nil {
		o.ClientID = d.str(m.sub("client_id"), v)
	} else {
		d.required(m, "client_id", "missing; expected the application (client) id")
	}
	o.ClientSecret = d.secret(m, "client_secret", "for OAuth2 client credentials")
	o.Scopes = []string{"https://outlook.office365.com/.default"}
	if v := m.get("scopes"); v != nil {
		o.Scopes = d.stringList(m.sub("scopes"), v)
	}
}

func (d *decoder) tls(t *TLS, m *mapNode, peer string) {
	if m == nil {
		return
	}
	if v := m.get("ca_file"); v != nil {
		t.CAFile, _ = d.existingFile(m.sub("ca_file"), v)
	}
	if v := m.get("insecure_skip_verify"); v != nil {
		if b, ok := d.boolean(m.sub("insecure_skip_verify"), v); ok && b {
			t.InsecureSkipVerify = true
			d.warnf(v, m.sub("insecure_skip_verify"), "TLS CERTIFICATES OF %s ARE NOT VERIFIED: anyone on the network path can read the credentials and data; use ca_file instead", strings.ToUpper(peer))
		}
	}
}

func (d *decoder) notifications(nt *Notifications, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("mode"); v != nil {
		if vendor := vendorMode(v.Value); vendor != "" && v.Kind == yaml.ScalarNode {
			d.errorf(v, m.sub("mode"), "%q is not valid; expected \"streaming\" or \"pull\" (%q is the vendor file's name for %s: write mode: %s)", v.Value, v.Value, vendor, vendor)
		} else if s, ok := d.enum(m.sub("mode"), v, "streaming", "pull"); ok {
			nt.Mode = NotificationMode(s)
		}
	}
	dur := func(key string, dst *time.Duration, lo, hi time.Duration) {
		if v := m.get(key); v != nil {
			if x, ok := d.duration(m.sub(key), v, lo, hi); ok {
				*dst = x
			}
		}
	}
	dur("pull_interval", &nt.PullInterval, time.Second, 10*time.Minute)
	dur("pull_timeout", &nt.PullTimeout, time.Minute, 24*time.Hour)
	dur("connection_timeout", &nt.ConnectionTimeout, time.Minute, 30*time.Minute)
	dur("heartbeat_timeout", &nt.HeartbeatTimeout, 50*time.Second, 10*time.Minute)
	dur("coalesce_delay", &nt.CoalesceDelay, 0, time.Minute)
	dur("reconcile_interval", &nt.ReconcileInterval, 5*time.Minute, 24*time.Hour)
	if v := m.get("oof_interval"); v != nil {
		// 0 is allowed: automatic replies are then read only at load and
		// reconciliation.
		if x, ok := d.duration(m.sub("oof_interval"), v, 0, 24*time.Hour); ok {
			if x > 0 && x < time.Minute {
				d.errorf(v, m.sub("oof_interval"), "%s is too short; expected 0 (off) or 1m–24h: every read costs one GetUserOofSettings per mailbox", formatDuration(x))
			} else {
				nt.OOFInterval = x
			}
		}
	}
	if v := m.get("oof_poll_interval"); v != nil {
		// 0 turns mail-tip polling off; below 10s the requests only
		// multiply (the rate is ceil(mailboxes/limit) per interval).
		if x, ok := d.duration(m.sub("oof_poll_interval"), v, 0, time.Hour); ok {
			if x > 0 && x < 10*time.Second {
				d.errorf(v, m.sub("oof_poll_interval"), "%s is too short; expected 0 (off) or 10s–1h: every round sends one GetMailTips per server limit of mailboxes (200 for 10,000 mailboxes at a limit of 50)", formatDuration(x))
			} else {
				nt.OOFPollInterval = x
			}
		}
	}
	if v := m.get("group_size"); v != nil {
		if x, ok := d.integer(m.sub("group_size"), v, 1, 200); ok {
			nt.GroupSize = x
		}
	}
	if nt.PullInterval >= nt.PullTimeout {
		at := m.get("pull_interval")
		if at == nil {
			at = m.get("pull_timeout")
		}
		d.errorf(at, m.sub("pull_interval"), "%s must be shorter than pull_timeout (%s), or Exchange expires the subscription between polls", formatDuration(nt.PullInterval), formatDuration(nt.PullTimeout))
	}
}

func (d *decoder) window(w *Window, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("days_before"); v != nil {
		if x, ok := d.integer(m.sub("days_before"), v, 0, 365); ok {
			w.DaysBefore = x
		}
	}
	if v := m.get("days_after"); v != nil {
		if x, ok := d.integer(m.sub("days_after"), v, 0, 365); ok {
			w.DaysAfter = x
		}
	}
	if v := m.get("default_time_zone"); v != nil {
		s := d.str(m.sub("default_time_zone"), v)
		if _, err := time.LoadLocation(s); err != nil || s == "" || strings.EqualFold(s, "local") {
			d.errorf(v, m.sub("default_time_zone"), "%q is not a known IANA time zone; expected a name such as \"Europe/Berlin\" or \"UTC\"", s)
		} else {
			w.DefaultTimeZone = s
		}
	}
}

func (d *decoder) budget(b *Budget, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("max_concurrency"); v != nil {
		if x, ok := d.integer(m.sub("max_concurrency"), v, 1, 100); ok {
			b.MaxConcurrency = x
			if x > exchangeDefaultConcurrency {
				d.warnf(v, m.sub("max_concurrency"), "%d is above Exchange's default EWSMaxConcurrency (%d); expect ErrorServerBusy unless the service account has a custom throttling policy", x, exchangeDefaultConcurrency)
			}
		}
	}
	perServer := m.get("max_concurrency_per_server")
	if perServer != nil {
		if x, ok := d.integer(m.sub("max_concurrency_per_server"), perServer, 1, 100); ok {
			b.PerServer = x
		}
	} else {
		b.PerServer = min(b.PerServer, b.MaxConcurrency)
	}
	perUser := m.get("max_concurrency_per_user")
	if perUser != nil {
		if x, ok := d.integer(m.sub("max_concurrency_per_user"), perUser, 1, 10); ok {
			b.PerUser = x
		}
	} else {
		b.PerUser = min(b.PerUser, b.PerServer)
	}
	if b.PerServer > b.MaxConcurrency {
		d.errorf(perServer, m.sub("max_concurrency_per_server"), "%d is larger than max_concurrency (%d); expected at most %d", b.PerServer, b.MaxConcurrency, b.MaxConcurrency)
	}
	if b.PerUser > b.PerServer {
		d.errorf(perUser, m.sub("max_concurrency_per_user"), "%d is larger than max_concurrency_per_server (%d); expected at most %d", b.PerUser, b.PerServer, b.PerServer)
	}
	if v := m.get("requests_per_second"); v != nil {
		if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "adaptive" {
			b.RequestsPerSecond = 0 // the default, said explicitly
		} else if x, err := strconv.ParseFloat(v.Value, 64); v.Kind != yaml.ScalarNode || err != nil || !(x >= 0.1 && x <= 10000) {
			d.errorf(v, m.sub("requests_per_second"), "%q is not a pace; expected adaptive (the default: as fast as Exchange answers comfortably) or a fixed number of requests per second from 0.1 to 10000", v.Value)
		} else {
			b.RequestsPerSecond = x
		}
	}
	if v := m.get("max_backoff"); v != nil {
		if x, ok := d.duration(m.sub("max_backoff"), v, time.Second, time.Hour); ok {
			b.MaxBackOff = x
		}
	}
}

func (d *decoder) users(u *Users, m *mapNode) {
	if m == nil {
		return
	}
	defer d.checkIDType(u, m)
	if !m.has("static") && !m.has("csv_file") && !m.has("ldap") {
		d.errorf(m.at, m.path, "no source of users; expected at least one of static, csv_file or ldap")
	}
	if v := m.get("static"); v != nil {
		seen := map[string]int{}
		for _, it := range d.stringItems(m.sub("static"), v) {
			s, at := it.value, it.node
			path := fmt.Sprintf("%s[%d]", m.sub("static"), it.index)
			if !plausibleSMTP(s) {
				d.errorf(at, path, "%q is not an SMTP address; expected user@example.com", s)
				continue
			}
			if line, dup := seen[strings.ToLower(s)]; dup {
				d.warnf(at, path, "%s is listed twice (first on line %d)", s, line)
				continue
			}
			seen[strings.ToLower(s)] = at.Line
			u.Static = append(u.Static, s)
		}
	}
	if v := m.get("csv_file"); v != nil {
		u.CSVFile = d.usersCSVFile(m.sub("csv_file"), v)
	}
	if v := m.get("ldap"); v != nil {
		u.LDAP = d.ldap(d.mapping(m.sub("ldap"), m.key("ldap"), v, ldapKeys...))
	}
}

// checkIDType reports impersonation by UPN or SID with a static list,
// which only gives SMTP addresses.
func (d *decoder) checkIDType(u *Users, m *mapNode) {
	if d.idType == "" || d.idType == ImpersonateSMTP || len(u.Static) == 0 {
		return
	}
	d.errorf(d.idTypeNode, "exchange.impersonation.id_type", "%q needs the %s of every user, but users.static (line %d) gives only SMTP addresses; use smtp, or take the users from ldap or a csv_file with a %s column", d.idType, strings.ToUpper(string(d.idType)), m.key("static").Line, strings.ToUpper(string(d.idType)))
}

// plausibleSMTP accepts local@domain without spaces; Exchange decides the rest.
func plausibleSMTP(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n<>,;\"") && !strings.Contains(domain, "@") && strings.Contains(domain, ".") || ok && isLoopbackHost(domain)
}

func (d *decoder) ldap(m *mapNode) *LDAP {
	if m == nil {
		return nil
	}
	l := &LDAP{Nested: true, PageSize: DefaultLDAPPageSize, MailAttribute: DefaultMailAttribute, RefreshInterval: defaultLDAPRefresh, Timeout: defaultLDAPTimeout}
	var scheme, host string
	if v := m.get("url"); v != nil {
		if u, ok := d.parseURL(m.sub("url"), v, "ldap", "ldaps"); ok {
			l.URL, scheme, host = u.String(), strings.ToLower(u.Scheme), u.Hostname()
		}
	} else {
		d.required(m, "url", "missing; expected ldaps://dc.example.com:636 or ldap://dc.example.com:389")
	}
	if v := m.get("starttls"); v != nil {
		if b, ok := d.boolean(m.sub("starttls"), v); ok {
			l.StartTLS = b
			if b && scheme == "ldaps" {
				d.errorf(v, m.sub("starttls"), "StartTLS cannot be used with ldaps:// (already TLS); use ldap:// with starttls, or remove starttls")
			}
		}
	}
	if v := m.get("tls"); v != nil {
		d.tls(&l.TLS, d.mapping(m.sub("tls"), m.key("tls"), v, tlsKeys...), "the directory")
	}
	dn := func(key string) (string, *yaml.Node) {
		v := m.get(key)
		if v == nil {
			return "", nil
		}
		s := d.str(m.sub(key), v)
		if _, err := ldap.ParseDN(s); err != nil || s == "" {
			d.errorf(v, m.sub(key), "%q is not a distinguished name; expected e.g. \"CN=Sales,OU=Groups,DC=example,DC=com\"", s)
			return "", nil
		}
		return s, v
	}
	l.BindDN, _ = dn("bind_dn")
	if l.BindDN != "" {
		l.Password = d.secret(m, "password", "with bind_dn")
		if scheme == "ldap" && !l.StartTLS && !isLoopbackHost(host) {
			d.warnf(m.get("url"), m.sub("url"), "the bind password is sent unencrypted; use ldaps:// or starttls: true")
		}
	} else if m.has("password") || m.has("password_env") || m.has("password_file") {
		d.required(m, "bind_dn", "missing; expected the service account's DN (needed when a password is set)")
	}
	var groupNode *yaml.Node
	l.GroupDN, groupNode = dn("group_dn")
	if groupNode == nil && !m.has("group_dn") {
		d.required(m, "group_dn", "missing; expected the DN of the group whose members are synced")
	}
	l.BaseDN, _ = dn("base_dn")
	if l.BaseDN == "" && !m.has("base_dn") {
		l.BaseDN = domainSuffix(l.GroupDN)
	}
	if v := m.get("nested"); v != nil {
		if b, ok := d.boolean(m.sub("nested"), v); ok {
			l.Nested = b
		}
	}
	if v := m.get("page_size"); v != nil {
		if x, ok := d.integer(m.sub("page_size"), v, 1, 10000); ok {
			l.PageSize = x
		}
	}
	if v := m.get("mail_attribute"); v != nil {
		s := d.str(m.sub("mail_attribute"), v)
		if !validAttributeName(s) {
			d.errorf(v, m.sub("mail_attribute"), "%q is not an attribute name; expected e.g. \"mail\" or \"userPrincipalName\"", s)
		} else {
			l.MailAttribute = s
		}
	}
	if v := m.get("sip_address_attribute"); v != nil {
		s := d.str(m.sub("sip_address_attribute"), v)
		if !validAttributeName(s) {
			d.errorf(v, m.sub("sip_address_attribute"), "%q is not an attribute name; expected e.g. \"msRTCSIP-PrimaryUserAddress\"", s)
		} else {
			l.SIPAttribute = s
		}
	}
	if v := m.get("refresh_interval"); v != nil {
		if x, ok := d.duration(m.sub("refresh_interval"), v, time.Minute, 24*time.Hour); ok {
			l.RefreshInterval = x
		}
	}
	if v := m.get("timeout"); v != nil {
		if x, ok := d.duration(m.sub("timeout"), v, time.Second, 10*time.Minute); ok {
			l.Timeout = x
		}
	}
	return l
}

// domainSuffix returns the trailing DC= components of dn ("DC=example,DC=com").
func domainSuffix(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	var parts []string
	for i := len(parsed.RDNs) - 1; i >= 0; i-- {
		rdn := parsed.RDNs[i]
		if len(rdn.Attributes) != 1 || !strings.EqualFold(rdn.Attributes[0].Type, "dc") {
			break
		}
		parts = append([]string{"DC=" + rdn.Attributes[0].Value}, parts...)
	}
	return strings.Join(parts, ",")
}

func validAttributeName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return true
}

func (d *decoder) api(a *API, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("listen"); v != nil {
		s := d.str(m.sub("listen"), v)
		host, port, err := net.SplitHostPort(s)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			d.errorf(v, m.sub("listen"), "%q is not host:port; expected e.g. \"127.0.0.1:8080\" or \":8443\"", s)
		} else {
			a.Listen = net.JoinHostPort(host, port)
		}
	}
	a.Tokens = d.tokens(m, "tokens")
	a.ReadTokens = d.tokens(m, "read_tokens")
	cert, key := m.get("tls_cert_file"), m.get("tls_key_file")
	if cert != nil {
		a.TLSCertFile, _ = d.existingFile(m.sub("tls_cert_file"), cert)
	}
	if key != nil {
		a.TLSKeyFile, _ = d.existingFile(m.sub("tls_key_file"), key)
	}
	if (cert == nil) != (key == nil) {
		missing := "tls_key_file"
		if cert == nil {
			missing = "tls_cert_file"
		}
		d.errorf(m.at, m.sub(missing), "missing; HTTPS needs both the certificate and its key (%s is set)", map[string]string{"tls_key_file": "tls_cert_file", "tls_cert_file": "tls_key_file"}[missing])
	}
	host, _, err := net.SplitHostPort(a.Listen)
	if err == nil && !isLoopbackHost(host) {
		if len(a.Tokens)+len(a.ReadTokens) == 0 && !m.has("tokens") && !m.has("tokens_env") && !m.has("tokens_file") && !m.has("read_tokens") && !m.has("read_tokens_env") && !m.has("read_tokens_file") {
			d.errorf(m.key("listen"), m.sub("listen"), "%s is reachable from the network, so API tokens are required; set tokens_env or tokens_file (and read_tokens_env or read_tokens_file for read-only callers), or listen on 127.0.0.1", a.Listen)
		}
		if cert == nil {
			d.warnf(m.key("listen"), m.sub("listen"), "the API on %s is served over plain HTTP; tokens and presence data travel unencrypted (set tls_cert_file and tls_key_file)", a.Listen)
		}
	}
}

// tokens reads the API tokens of one role under base ("tokens": admin,
// "read_tokens": read): base (inline list, warned), base_env (one
// variable, tokens separated by commas or spaces) or base_file (one per
// line, # starts a comment).
func (d *decoder) tokens(m *mapNode, base string) []Secret {
	env, file := base+"_env", base+"_file"
	var set []string
	for _, k := range []string{base, env, file} {
		if m.has(k) {
			set = append(set, k)
		}
	}
	if len(set) > 1 {
		d.errorf(m.key(set[1]), m.sub(set[1]), "set only one of %s", quoteList(set))
		return nil
	}
	if len(set) == 0 {
		return nil
	}
	var fields []string
	var source string
	switch set[0] {
	case base:
		v := m.get(base)
		fields = d.stringList(m.sub(base), v)
		source = "the config file"
		d.warnf(v, m.sub(base), "API tokens written in the config file; prefer %s or %s", env, file)
	case env:
		v := m.get(env)
		name := d.str(m.sub(env), v)
		val, ok := d.lookup(name)
		if !ok {
			d.errorf(v, m.sub(env), "environment variable %s is not set", name)
			return nil
		}
		fields = strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
		source = "environment variable " + name
	case file:
		v := m.get(file)
		data, src, ok := d.secretFile(m.sub(file), v)
		if !ok {
			return nil
		}
		source = src
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				fields = append(fields, line)
			}
		}
	}
	var out []Secret
	for i, f := range fields {
		if len(f) < minSecretLength {
			d.errorf(m.get(set[0]), m.sub(set[0]), "token %d from %s is shorter than %d characters; expected a long random token (e.g. openssl rand -hex 32)", i+1, source, minSecretLength)
			continue
		}
		out = append(out, Secret{value: f, source: source})
	}
	if len(out) == 0 && len(fields) == 0 {
		d.errorf(m.get(set[0]), m.sub(set[0]), "%s holds no token", source)
	}
	return out
}

// minSecretLength is the shortest API token or webhook signing key: a
// shorter one can be guessed, and for a webhook key that means forged
// presence changes at the receiver.
const minSecretLength = 16

// strongSecret reports a secret set under base (base, base_env or
// base_file) that is shorter than minSecretLength. The value itself is
// never quoted.
func (d *decoder) strongSecret(m *mapNode, base string, s Secret) {
	if !s.IsSet() || len(s.Value()) >= minSecretLength {
		return
	}
	for _, k := range []string{base, base + "_env", base + "_file"} {
		if m.has(k) {
			d.errorf(m.get(k), m.sub(k), "the key from %s is shorter than %d characters; expected a long random key (e.g. openssl rand -hex 32)", s.Source(), minSecretLength)
			return
		}
	}
}

func (d *decoder) webhooks(path string, n *yaml.Node) []Webhook {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list of endpoints (each with name, url and secret_env or secret_file), found %s", kindName(n))
		return nil
	}
	var out []Webhook
	names := map[string]int{}
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		m := d.mapping(p, deref(item), item, webhookKeys...)
		if m == nil {
			continue
		}
		w := Webhook{Timeout: defaultWebhookTimeout}
		if v := m.get("name"); v != nil {
			w.Name = d.str(m.sub("name"), v)
			if line, dup := names[w.Name]; dup {
				d.errorf(v, m.sub("name"), "%q is already used by the endpoint on line %d; names must be unique", w.Name, line)
			}
			names[w.Name] = v.Line
		} else {
			d.required(m, "name", "missing; expected a stable name (pending deliveries are stored under it)")
		}
		if v := m.get("url"); v != nil {
			if u, ok := d.parseURL(m.sub("url"), v, "https", "http"); ok {
				w.URL = u.String()
			}
		} else {
			d.required(m, "url", "missing; expected the https:// URL that receives the POST requests")
		}
		w.Secret = d.secret(m, "secret", "to sign the deliveries")
		d.strongSecret(m, "secret", w.Secret)
		if v := m.get("events"); v != nil {
			for _, it := range d.stringItems(m.sub("events"), v) {
				e := it.value
				if !contains(WebhookEvents, e) {
					msg := fmt.Sprintf("%q is not an event type; expected %s", e, quoteList(WebhookEvents))
					if s := suggest(e, WebhookEvents); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
					d.errorf(it.node, fmt.Sprintf("%s[%d]", m.sub("events"), it.index), "%s", msg)
					continue
				}
				w.Events = append(w.Events, e)
			}
		}
		if v := m.get("timeout"); v != nil {
			if x, ok := d.duration(m.sub("timeout"), v, time.Second, 5*time.Minute); ok {
				w.Timeout = x
			}
		}
		out = append(out, w)
	}
	return out
}
