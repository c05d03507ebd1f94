// Package config loads calsync's configuration: one YAML file, or the
// vendor's CalendarSyncExchange.config.xml for the notification mode.
//
// Everything is validated at load time and every problem is reported, each
// with file, line and column and what was expected:
//
//	calsync.yaml:12:14: exchange.notifications.mode: "streem" is not valid; expected "streaming" or "pull"
//
// Secrets (passwords, API tokens, webhook keys) come from environment
// variables (*_env) or files (*_file); inline values are accepted with a
// warning. They are held in Secret, which never prints its value.
// docs/operations.md is the reference of every key and its default.
package config

import "time"

// Config is a loaded and validated calsync configuration. Defaults are
// applied; relative paths are resolved against the config file's folder.
type Config struct {
	// File is the name the configuration was loaded from.
	File     string
	Exchange Exchange
	// ExchangeOnline is the Graph backend (exchange_online:), nil if absent.
	ExchangeOnline *ExchangeOnline
	Window         Window
	Budget         Budget
	Users          Users
	Store          Store
	Cluster        Cluster
	API            API
	Webhooks       []Webhook
	Presence       Presence
	// Connectors are the systems presence is pushed into (connectors.go).
	Connectors Connectors
	Logging    Logging
	// Warnings are problems that do not stop calsync (inline secrets,
	// insecure_skip_verify, limits above Exchange's defaults).
	Warnings []Problem
}

// AuthMethod is how the service account authenticates to Exchange.
type AuthMethod string

// Authentication methods.
const (
	AuthBasic  AuthMethod = "basic"
	AuthNTLM   AuthMethod = "ntlm"
	AuthOAuth2 AuthMethod = "oauth2"
)

// NotificationMode selects EWS streaming or pull notifications.
type NotificationMode string

// Notification modes.
const (
	Streaming NotificationMode = "streaming"
	Pull      NotificationMode = "pull"
)

// ImpersonationIDType is the ConnectingSID form used to impersonate a user.
type ImpersonationIDType string

// Impersonation id types: the user's primary SMTP address
// (PrimarySmtpAddress), user principal name (PrincipalName) or SID.
const (
	ImpersonateSMTP ImpersonationIDType = "smtp"
	ImpersonateUPN  ImpersonationIDType = "upn"
	ImpersonateSID  ImpersonationIDType = "sid"
)

// Exchange describes the Exchange organisation and the service account.
type Exchange struct {
	// EWSURL is the EWS endpoint (https://mail.example.com/EWS/Exchange.asmx).
	EWSURL string
	// AutodiscoverURL is the Autodiscover SOAP endpoint; with it calsync
	// finds each mailbox's EWS URL and affinity group.
	AutodiscoverURL string
	// ServerVersion is the RequestServerVersion sent (default Exchange2016).
	ServerVersion string
	Auth          Auth
	TLS           TLS
	Impersonation Impersonation
	Notifications Notifications
	// VendorConfig is the CalendarSyncExchange.config.xml the mode was read
	// from, empty if none.
	VendorConfig string
}

// Auth is the service account's credentials.
type Auth struct {
	// Method is basic, ntlm (default) or oauth2.
	Method AuthMethod
	// Username is DOMAIN\user or user@domain (basic and ntlm).
	Username string
	// Password of the service account (basic and ntlm).
	Password Secret
	// OAuth2 holds the client-credentials settings (oauth2 only).
	OAuth2 OAuth2
}

// OAuth2 configures the OAuth 2.0 client-credentials flow.
type OAuth2 struct {
	TokenURL     string
	ClientID     string
	ClientSecret Secret
	Scopes       []string
}

// TLS configures the TLS client used towards Exchange or LDAP.
type TLS struct {
	// CAFile is a PEM file of additional trusted certificate authorities.
	CAFile string
	// InsecureSkipVerify disables certificate verification (warned loudly).
	InsecureSkipVerify bool
}

// Impersonation selects how users are named in ExchangeImpersonation.
type Impersonation struct {
	// IDType is smtp (default), upn or sid.
	IDType ImpersonationIDType
}

// Notifications configures how calsync learns about changes.
type Notifications struct {
	// Mode is streaming (default) or pull.
	Mode NotificationMode
	// PullInterval is the GetEvents period in pull mode (default 30s).
	PullInterval time.Duration
	// PullTimeout is the pull subscription's Timeout (default 30m).
	PullTimeout time.Duration
	// ConnectionTimeout is the streaming ConnectionTimeout, 1m–30m (default 30m).
	ConnectionTimeout time.Duration
	// HeartbeatTimeout declares a silent stream dead (default 90s).
	HeartbeatTimeout time.Duration
	// CoalesceDelay gathers notifications for a mailbox before re-reading
	// it (default 2s).
	CoalesceDelay time.Duration
	// ReconcileInterval re-reads every mailbox periodically (default 1h).
	ReconcileInterval time.Duration
	// OOFInterval re-reads the automatic-reply settings, which raise no
	// notification (default 15m; 0: only at load and reconciliation).
	OOFInterval time.Duration
	// OOFPollInterval is how often the automatic-replies mail tips of all
	// mailboxes are polled (GetMailTips, many per request): a change shows
	// within about this long (default 60s; 0: no polling, OOFInterval
	// applies).
	OOFPollInterval time.Duration
	// GroupSize is the maximum subscriptions per streaming connection
	// (default and maximum 200).
	GroupSize int
}

// Window is the rolling calendar window kept in sync: from the start of
// the day DaysBefore days ago to the end of the day DaysAfter days ahead.
type Window struct {
	// DaysBefore defaults to 1 (the window starts at the start of yesterday).
	DaysBefore int
	// DaysAfter defaults to 14.
	DaysAfter int
	// DefaultTimeZone is the IANA zone used when a mailbox reports none
	// (default UTC).
	DefaultTimeZone string
}

// Budget bounds the load calsync puts on Exchange.
type Budget struct {
	// MaxConcurrency is the number of EWS requests in flight overall (default 10).
	MaxConcurrency int
	// PerServer is the number in flight per EWS endpoint (default 8).
	PerServer int
	// PerUser is the number in flight per impersonated mailbox (default 2).
	PerUser int
	// RequestsPerSecond paces request starts overall at a fixed rate.
	// 0 (default, or `adaptive` in the file): no fixed pace; the engine
	// adapts its concurrency, up to MaxConcurrency and never above
	// Exchange's default EWSMaxConcurrency, to how Exchange answers.
	RequestsPerSecond float64
	// MaxBackOff caps a server back-off hint (default 5m).
	MaxBackOff time.Duration
}

// Users lists the sources of the mailboxes to sync. Sources are combined;
// duplicates (by SMTP address, case-insensitive) are synced once.
type Users struct {
	// Static is a fixed list of SMTP addresses.
	Static []string
	// CSVFile is a CSV file with a mail column (see directory.CSV).
	CSVFile string
	// LDAP reads the members of a group from Active Directory or LDAP.
	LDAP *LDAP
}

// LDAP configures the users-from-a-directory-group source.
type LDAP struct {
	// URL is ldap://host:389 or ldaps://host:636.
	URL string
	// StartTLS upgrades an ldap:// connection with StartTLS.
	StartTLS bool
	TLS      TLS
	// BindDN and Password are the service account's credentials.
	BindDN   string
	Password Secret
	// BaseDN is where users are searched.
	BaseDN string
	// GroupDN is the group whose members are synced.
	GroupDN string
	// Nested includes members of nested groups (default true).
	Nested bool
	// PageSize is the paged-search page size (default 500).
	PageSize int
	// MailAttribute holds the SMTP address (default "mail").
	MailAttribute string
	// SIPAttribute holds the user's SIP address for connectors.sip
	// (sip_address_attribute; e.g. msRTCSIP-PrimaryUserAddress); empty:
	// not read.
	SIPAttribute string
	// RefreshInterval is how often the group is re-read (default 15m).
	RefreshInterval time.Duration
	// Timeout bounds one directory operation (default 30s).
	Timeout time.Duration
}

// Store configures the embedded database.
type Store struct {
	// Path of the database file (default /var/lib/calsync/calsync.db, on
	// Windows %ProgramData%\calsync\calsync.db).
	Path string
	// Postgres, when set, replaces the file with a database several
	// instances share (see Cluster).
	Postgres *Postgres
}

// API configures the REST API, event stream and dashboard listener.
type API struct {
	// Listen is host:port (default 127.0.0.1:8080).
	Listen string
	// Tokens are the accepted bearer tokens with the role admin (read and
	// write); ReadTokens those with the role read (writes answer 403).
	Tokens     []Secret
	ReadTokens []Secret
	// TLSCertFile and TLSKeyFile enable HTTPS when both are set.
	TLSCertFile string
	TLSKeyFile  string
}

// Webhook is one signed webhook endpoint.
type Webhook struct {
	// Name identifies the endpoint in the outbox; it must stay stable.
	Name string
	URL  string
	// Secret is the HMAC-SHA256 signing key.
	Secret Secret
	// Events lists subscribed event types; empty means all.
	Events []string
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration
}

// Logging configures the structured log.
type Logging struct {
	// Level is debug, info (default), warn or error.
	Level string
	// Format is text (default) or json.
	Format string
}
