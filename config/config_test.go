package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setTestSecrets sets the environment variables the testdata files name.
func setTestSecrets(t *testing.T) {
	t.Helper()
	t.Setenv("CALSYNC_TEST_EWS_PASSWORD", "ews-password-value")
	t.Setenv("CALSYNC_TEST_LDAP_PASSWORD", "ldap-password-value")
	t.Setenv("CALSYNC_TEST_WEBHOOK_SECRET", "webhook-secret-value")
	t.Setenv("CALSYNC_TEST_SHORT_TOKEN", "short")
}

// badFiles lists every problem each file in testdata/bad must produce,
// in order, exactly.
var badFiles = []struct {
	file string
	want []string
}{
	{"mode.yaml", []string{
		`testdata/bad/mode.yaml:7:11: exchange.notifications.mode: "streem" is not valid; expected "streaming" or "pull"`,
		`testdata/bad/mode.yaml:8:19: exchange.notifications.oof_interval: 10s is too short; expected 0 (off) or 1m–24h: every read costs one GetUserOofSettings per mailbox`,
	}},
	{"tab_indent.yaml", []string{
		`testdata/bad/tab_indent.yaml:2:1: invalid YAML: a tab is used for indentation; YAML needs spaces`,
	}},
	{"space_tab_indent.yaml", []string{
		`testdata/bad/space_tab_indent.yaml:2:3: invalid YAML: a tab is used for indentation; YAML needs spaces`,
	}},
	{"unknown_keys.yaml", []string{
		`testdata/bad/unknown_keys.yaml:1:1: unknown key "exchnage"; did you mean "exchange"?`,
		`testdata/bad/unknown_keys.yaml:5:3: users: unknown key "ldpa"; did you mean "ldap"?`,
		`testdata/bad/unknown_keys.yaml:7:3: logging: unknown key "levl"; did you mean "level"?`,
		`testdata/bad/unknown_keys.yaml:8:11: logging.format: "xml" is not valid; expected "text" or "json"`,
	}},
	{"types.yaml", []string{
		`testdata/bad/types.yaml:2:12: exchange.ews_url: "mail.example.com/EWS/Exchange.asmx" is not an absolute URL; expected https://host/...`,
		`testdata/bad/types.yaml:3:19: exchange.server_version: "Exchange2019" is not valid; expected "Exchange2013_SP1" or "Exchange2016" (did you mean "Exchange2016"?)`,
		`testdata/bad/types.yaml:5:13: exchange.auth.method: "kerberos" is not valid; expected "basic", "ntlm" or "oauth2"`,
		`testdata/bad/types.yaml:6:15: exchange.auth.username: expected a string, found a list`,
		`testdata/bad/types.yaml:9:20: exchange.notifications.pull_interval: "5 minutes" is not a duration; expected a number with a unit, such as "30s", "5m" or "1h"`,
		`testdata/bad/types.yaml:10:25: exchange.notifications.connection_timeout: 45m is out of range; expected from 1m to 30m`,
		`testdata/bad/types.yaml:11:17: exchange.notifications.group_size: 500 is out of range; expected a number from 1 to 200`,
		`testdata/bad/types.yaml:13:15: window.days_after: -1 is out of range; expected a number from 0 to 365`,
		`testdata/bad/types.yaml:14:22: window.default_time_zone: "Europe/Berln" is not a known IANA time zone; expected a name such as "Europe/Berlin" or "UTC"`,
		`testdata/bad/types.yaml:16:20: budget.max_concurrency: "many" is not a whole number; expected a number from 1 to 100`,
		`testdata/bad/types.yaml:17:29: budget.max_concurrency_per_user: 12 is out of range; expected a number from 1 to 10`,
		`testdata/bad/types.yaml:20:7: users.static[0]: "alice" is not an SMTP address; expected user@example.com`,
	}},
	{"secrets.yaml", []string{
		`testdata/bad/secrets.yaml:6:5: exchange.auth.password_env: set only one of "password" or "password_env"`,
		`testdata/bad/secrets.yaml:11:19: users.ldap.password_env: environment variable CALSYNC_TEST_UNSET_VARIABLE is not set`,
		`testdata/bad/secrets.yaml:16:18: webhooks[0].secret_file: file testdata/bad/no-such-secret.txt does not exist`,
	}},
	{"api.yaml", []string{
		`testdata/bad/api.yaml:8:1: api.tls_key_file: missing; HTTPS needs both the certificate and its key (tls_cert_file is set)`,
		`testdata/bad/api.yaml:9:3: api.listen: 0.0.0.0:8080 is reachable from the network, so API tokens are required; set tokens_env or tokens_file (and read_tokens_env or read_tokens_file for read-only callers), or listen on 127.0.0.1`,
	}},
	{"webhooks.yaml", []string{
		`testdata/bad/webhooks.yaml:12:14: webhooks[0].events[0]: "presence.change" is not an event type; expected "presence.changed" or "sync.health" (did you mean "presence.changed"?)`,
		`testdata/bad/webhooks.yaml:13:5: webhooks[1].secret: missing (needed to sign the deliveries); set secret_env (an environment variable) or secret_file (a file)`,
		`testdata/bad/webhooks.yaml:13:11: webhooks[1].name: "pbx" is already used by the endpoint on line 9; names must be unique`,
		`testdata/bad/webhooks.yaml:14:10: webhooks[1].url: scheme "ftp" is not supported; expected "https" or "http"`,
	}},
	{"ldap.yaml", []string{
		`testdata/bad/ldap.yaml:7:3: users.ldap.group_dn: missing; expected the DN of the group whose members are synced`,
		`testdata/bad/ldap.yaml:9:15: users.ldap.starttls: StartTLS cannot be used with ldaps:// (already TLS); use ldap:// with starttls, or remove starttls`,
		`testdata/bad/ldap.yaml:10:14: users.ldap.base_dn: "not a dn" is not a distinguished name; expected e.g. "CN=Sales,OU=Groups,DC=example,DC=com"`,
		`testdata/bad/ldap.yaml:11:16: users.ldap.page_size: 0 is out of range; expected a number from 1 to 10000`,
	}},
	{"oauth2.yaml", []string{
		`testdata/bad/oauth2.yaml:3:3: exchange.auth.oauth2: missing; auth method oauth2 needs this section with token_url, client_id and client_secret_env or client_secret_file`,
		`testdata/bad/oauth2.yaml:5:5: exchange.auth.username: not used with auth method oauth2; remove it or set method to basic or ntlm`,
	}},
	{"vendor_ref.yaml", []string{
		`testdata/bad/vendor_ref.yaml:3:18: exchange.vendor_config: testdata/vendor_guide_malformed.xml is not valid (2 problems)`,
		`testdata/vendor_guide_malformed.xml:9:1: found </events>, expected </exchange> (<exchange> opened on line 5); <events> was already closed on line 8, so remove this extra </events>`,
		`testdata/vendor_guide_malformed.xml:10:1: found </ecchange>, expected </exchange> (<exchange> opened on line 5) (</ecchange> looks like a misspelling of </exchange>)`,
	}},
	{"missing.yaml", []string{
		`testdata/bad/missing.yaml:1:1: exchange: missing section; expected at least exchange.ews_url or exchange.autodiscover_url and exchange.auth (Exchange Server), or exchange_online (Exchange Online through Microsoft Graph)`,
		`testdata/bad/missing.yaml:1:1: users: missing section; expected at least one of users.static, users.csv_file or users.ldap`,
	}},
	{"empty.yaml", []string{
		`testdata/bad/empty.yaml: the file is empty; expected at least the exchange and users sections`,
	}},
	{"syntax.yaml", []string{
		`testdata/bad/syntax.yaml:3:1: invalid YAML: a tab is used for indentation; YAML needs spaces`,
	}},
	{"two_documents.yaml", []string{
		`testdata/bad/two_documents.yaml:8:1: a second YAML document (after ---) is not allowed; keep the whole configuration in one document`,
	}},
	{"presence_keys.yaml", []string{
		`testdata/bad/presence_keys.yaml:9:3: presence: unknown key "langauge"; did you mean "language"?`,
		`testdata/bad/presence_keys.yaml:13:9: presence.rules[0].match: unknown key "categries"; did you mean "categories"?`,
		`testdata/bad/presence_keys.yaml:14:7: presence.rules[0]: unknown key "profle"; did you mean "profile"?`,
	}},
	// An unknown key in one rule does not hide the problems of the others;
	// the rule with the unknown key reports only that (its other errors
	// would follow from the typo).
	{"presence_unknown_and_bad.yaml", []string{
		`testdata/bad/presence_unknown_and_bad.yaml:12:9: presence.rules[0].match: unknown key "categries"; did you mean "categories"?`,
		`testdata/bad/presence_unknown_and_bad.yaml:16:20: presence.rules[1].match.free_busy: "bussy" is not valid; expected free, tentative, busy, out_of_office or working_elsewhere`,
	}},
	{"presence_rules.yaml", []string{
		`testdata/bad/presence_rules.yaml:9:22: presence.merge_gap_minutes: 5000 is out of range 0..1440`,
		`testdata/bad/presence_rules.yaml:13:20: presence.rules[0].match.free_busy: "bussy" is not valid; expected free, tentative, busy, out_of_office or working_elsewhere`,
		"testdata/bad/presence_rules.yaml:17:18: presence.rules[1].match.subject: invalid regular expression \"(lunch\": missing closing )",
		`testdata/bad/presence_rules.yaml:18:15: presence.rules[1].ignore: an ignoring rule cannot also set profile, status_text, forward_to or availability`,
	}},
	{"presence_types.yaml", []string{
		`testdata/bad/presence_types.yaml:12:21: presence.rules[0].lead_minutes: expected a whole number, found "ten"`,
		`testdata/bad/presence_types.yaml:14:18: presence.rules[0].match.all_day: expected true or false, found "maybe"`,
		`testdata/bad/presence_types.yaml:18:20: presence.rules[1].match.free_busy: "bussy" is not valid; expected free, tentative, busy, out_of_office or working_elsewhere`,
		`testdata/bad/presence_types.yaml:20:16: presence.rules[2].profile: expected a string, found a mapping`,
		`testdata/bad/presence_types.yaml:21:14: presence.rules[2].match: expected a mapping of keys (all_day, availability, categories, free_busy, location, meeting, organizer, response, sensitivity, subject), found a list`,
	}},
	{"duplicate.yaml", []string{
		`testdata/bad/duplicate.yaml:3:3: exchange.ews_url: duplicate key (first set on line 2)`,
		`testdata/bad/duplicate.yaml:7:8: users: expected a mapping of keys (static, csv_file, ldap), found a list`,
	}},
}

func TestBadFilesReportEveryProblem(t *testing.T) {
	setTestSecrets(t)
	for _, tc := range badFiles {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tc.file)
			var got []string
			for _, p := range ValidateFile(path) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("ValidateFile(%s) =\n%s\nwant\n%s", path, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			cfg, err := LoadFile(path)
			var ce *Error
			if cfg != nil || !errors.As(err, &ce) {
				t.Fatalf("LoadFile(%s) = %v, %v; want nil and *Error", path, cfg, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadFile error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestEveryBadFileIsInTheTable(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	listed := map[string]bool{}
	for _, tc := range badFiles {
		listed[tc.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no expected messages in badFiles", f)
		}
	}
}

func TestMinimalFileGetsDefaults(t *testing.T) {
	setTestSecrets(t)
	cfg, err := LoadFile("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	checks := []struct {
		name      string
		got, want any
	}{
		{"ews url", cfg.Exchange.EWSURL, "https://mail.example.com/EWS/Exchange.asmx"},
		{"auth method", cfg.Exchange.Auth.Method, AuthNTLM},
		{"username", cfg.Exchange.Auth.Username, `EXAMPLE\svc-calsync`},
		{"password", cfg.Exchange.Auth.Password.Value(), "ews-password-value"},
		{"password source", cfg.Exchange.Auth.Password.Source(), "environment variable CALSYNC_TEST_EWS_PASSWORD"},
		{"server version", cfg.Exchange.ServerVersion, "Exchange2016"},
		{"id type", cfg.Exchange.Impersonation.IDType, ImpersonateSMTP},
		{"notifications", cfg.Exchange.Notifications, want.Exchange.Notifications},
		{"window", cfg.Window, Window{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: "UTC"}},
		{"budget", cfg.Budget, Budget{MaxConcurrency: 10, PerServer: 8, PerUser: 2, RequestsPerSecond: 0, MaxBackOff: 5 * time.Minute}},
		{"users", strings.Join(cfg.Users.Static, ","), "alice@example.com,bob@example.com"},
		{"listen", cfg.API.Listen, "127.0.0.1:8080"},
		{"store", cfg.Store.Path, DefaultStorePath()},
		{"logging", cfg.Logging, Logging{Level: "info", Format: "text"}},
		{"warnings", len(cfg.Warnings), 0},
		{"built-in presence rules", cfg.Presence.Compiled != nil && cfg.Presence.Compiled.Len() > 0, true},
		{"mode", cfg.Exchange.Notifications.Mode, Streaming},
		{"pull interval", cfg.Exchange.Notifications.PullInterval, 30 * time.Second},
		{"group size", cfg.Exchange.Notifications.GroupSize, 200},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// copyGoodTestdata copies testdata/good into a fresh directory and gives
// the secret files the owner-only mode an operator is told to use; git
// does not keep file modes, so a clone's copies are world-readable.
func copyGoodTestdata(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "good", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(e.Name(), ".txt") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFullFileSetsEveryKey(t *testing.T) {
	setTestSecrets(t)
	dir := copyGoodTestdata(t)
	cfg, err := LoadFile(filepath.Join(dir, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Users.LDAP
	if l == nil {
		t.Fatal("users.ldap not loaded")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"autodiscover", cfg.Exchange.AutodiscoverURL, "https://autodiscover.example.com/autodiscover/autodiscover.svc"},
		{"server version canonical spelling", cfg.Exchange.ServerVersion, "Exchange2013_SP1"},
		{"method", cfg.Exchange.Auth.Method, AuthBasic},
		{"password from file without newline", cfg.Exchange.Auth.Password.Value(), "test-password-from-file"},
		{"ca file resolved", cfg.Exchange.TLS.CAFile, filepath.Join(dir, "users.csv")},
		{"id type", cfg.Exchange.Impersonation.IDType, ImpersonateUPN},
		{"mode case-insensitive", cfg.Exchange.Notifications.Mode, Pull},
		{"pull interval", cfg.Exchange.Notifications.PullInterval, 15 * time.Second},
		{"pull timeout", cfg.Exchange.Notifications.PullTimeout, time.Hour},
		{"connection timeout", cfg.Exchange.Notifications.ConnectionTimeout, 20 * time.Minute},
		{"heartbeat", cfg.Exchange.Notifications.HeartbeatTimeout, 2 * time.Minute},
		{"coalesce", cfg.Exchange.Notifications.CoalesceDelay, 500 * time.Millisecond},
		{"reconcile", cfg.Exchange.Notifications.ReconcileInterval, 2 * time.Hour},
		{"oof interval", cfg.Exchange.Notifications.OOFInterval, 20 * time.Minute},
		{"oof poll interval", cfg.Exchange.Notifications.OOFPollInterval, 100 * time.Second},
		{"group size", cfg.Exchange.Notifications.GroupSize, 100},
		{"window", cfg.Window, Window{DaysBefore: 0, DaysAfter: 30, DefaultTimeZone: "Europe/Berlin"}},
		{"budget", cfg.Budget, Budget{MaxConcurrency: 20, PerServer: 10, PerUser: 1, RequestsPerSecond: 50, MaxBackOff: time.Minute}},
		{"csv", cfg.Users.CSVFile, filepath.Join(dir, "users.csv")},
		{"ldap url", l.URL, "ldap://dc1.example.com:389"},
		{"starttls", l.StartTLS, true},
		{"bind password", l.Password.Value(), "ldap-password-value"},
		{"base dn from group", l.BaseDN, "DC=example,DC=com"},
		{"nested", l.Nested, false},
		{"page size", l.PageSize, 200},
		{"mail attribute", l.MailAttribute, "userPrincipalName"},
		{"sip address attribute", l.SIPAttribute, "msRTCSIP-PrimaryUserAddress"},
		{"refresh", l.RefreshInterval, 5 * time.Minute},
		{"timeout", l.Timeout, 10 * time.Second},
		{"store", cfg.Store.Path, filepath.Join(dir, "data", "calsync.db")},
		{"listen", cfg.API.Listen, "0.0.0.0:8443"},
		{"tokens", len(cfg.API.Tokens), 2},
		{"first token", cfg.API.Tokens[0].Value(), "0123456789abcdef0123456789abcdef"},
		{"webhook", cfg.Webhooks[0].Name + " " + cfg.Webhooks[0].URL + " " + cfg.Webhooks[0].Secret.Value(), "pbx https://pbx.example.com/hooks/calsync webhook-secret-value"},
		{"webhook events", strings.Join(cfg.Webhooks[0].Events, ","), "presence.changed"},
		{"webhook timeout", cfg.Webhooks[0].Timeout, 5 * time.Second},
		{"logging", cfg.Logging, Logging{Level: "debug", Format: "json"}},
		{"presence language", cfg.Presence.RuleSet.Language, "de"},
		{"presence rules", len(cfg.Presence.RuleSet.Rules), 2},
		{"first rule", cfg.Presence.RuleSet.Rules[0].Profile, "DoNotDisturb"},
		{"compiled", cfg.Presence.Compiled != nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, w := range cfg.Warnings {
		t.Errorf("unexpected warning: %s", w)
	}
}

func TestWorldReadableSecretFileWarns(t *testing.T) {
	setTestSecrets(t)
	dir := copyGoodTestdata(t)
	secret := filepath.Join(dir, "ews-password.txt")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(filepath.Join(dir, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s:9:20: warning: exchange.auth.password_file: %s is readable by every user; restrict it (chmod 600)", filepath.Join(dir, "full.yaml"), secret)
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("warnings = %q, want exactly %q", got, want)
	}
}

func TestWarningsDoNotStopLoading(t *testing.T) {
	cfg, err := LoadFile("testdata/good/warnings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`testdata/good/warnings.yaml:2:12: warning: exchange.ews_url: plain http sends the service account's credentials and all calendar data unencrypted; use https`,
		`testdata/good/warnings.yaml:6:15: warning: exchange.auth.password: a secret written in the config file; prefer password_env or password_file`,
		`testdata/good/warnings.yaml:8:27: warning: exchange.tls.insecure_skip_verify: TLS CERTIFICATES OF EXCHANGE ARE NOT VERIFIED: anyone on the network path can read the credentials and data; use ca_file instead`,
		`testdata/good/warnings.yaml:10:20: warning: budget.max_concurrency: 40 is above Exchange's default EWSMaxConcurrency (27); expect ErrorServerBusy unless the service account has a custom throttling policy`,
		`testdata/good/warnings.yaml:14:7: warning: users.static[1]: Alice@example.com is listed twice (first on line 13)`,
	}
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !cfg.Exchange.TLS.InsecureSkipVerify || cfg.Exchange.Auth.Password.Value() != "inline-secret-value" {
		t.Errorf("warned values not applied: %+v", cfg.Exchange)
	}
	if strings.Contains(Report(ValidateFile("testdata/good/warnings.yaml")), "inline-secret-value") {
		t.Error("the report reveals the inline secret")
	}
	if got := Report(ValidateFile("testdata/good/warnings.yaml")); !strings.HasSuffix(got, "0 errors, 5 warnings\n") {
		t.Errorf("report summary: %q", got)
	}
}

func TestProblemsInLoadedStrings(t *testing.T) {
	setTestSecrets(t)
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"pull interval not below timeout", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  notifications: {mode: pull, pull_interval: 10m, pull_timeout: 5m}
users: {static: [a@example.com]}`, []string{
			`c.yaml:5:46: exchange.notifications.pull_interval: 10m must be shorter than pull_timeout (5m), or Exchange expires the subscription between polls`,
		}},
		{"per server above overall", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
budget: {max_concurrency: 4, max_concurrency_per_server: 6}
users: {static: [a@example.com]}`, []string{
			`c.yaml:5:58: budget.max_concurrency_per_server: 6 is larger than max_concurrency (4); expected at most 4`,
		}},
		{"defaults follow a lower overall limit", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
budget: {max_concurrency: 1}
users: {static: [a@example.com]}`, nil},
		{"short api token", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
api: {tokens_env: CALSYNC_TEST_SHORT_TOKEN}
users: {static: [a@example.com]}`, []string{
			`c.yaml:5:19: api.tokens_env: token 1 from environment variable CALSYNC_TEST_SHORT_TOKEN is shorter than 16 characters; expected a long random token (e.g. openssl rand -hex 32)`,
		}},
		{"mapping expected", `
exchange: https://x.example.com
users: {static: [a@example.com]}`, []string{
			`c.yaml:2:11: exchange: expected a mapping of keys (ews_url, autodiscover_url, server_version, auth, tls, impersonation, notifications, vendor_config), found "https://x.example.com"`,
		}},
		{"impersonation by SID with a static list", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  impersonation: {id_type: sid}
users:
  static: [a@example.com]`, []string{
			`c.yaml:5:28: exchange.impersonation.id_type: "sid" needs the SID of every user, but users.static (line 7) gives only SMTP addresses; use smtp, or take the users from ldap or a csv_file with a SID column`,
		}},
		{"misspelt secret key reported once", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, pasword_env: CALSYNC_TEST_EWS_PASSWORD}
users: {static: [a@example.com]}`, []string{
			`c.yaml:4:23: exchange.auth: unknown key "pasword_env"; did you mean "password_env"?`,
		}},
		{"vendor spelling in the YAML mode", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  notifications: {mode: EWSPull}
users: {static: [a@example.com]}`, []string{
			`c.yaml:5:25: exchange.notifications.mode: "EWSPull" is not valid; expected "streaming" or "pull" ("EWSPull" is the vendor file's name for pull: write mode: pull)`,
		}},
		{"oauth2 complete", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth:
    method: oauth2
    oauth2: {token_url: https://login.example.com/t/oauth2/v2.0/token, client_id: abc, client_secret_env: CALSYNC_TEST_EWS_PASSWORD}
users: {static: [a@example.com]}`, nil},
		{"mode contradicts vendor file", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  vendor_config: testdata/vendor_pull.xml
  notifications: {mode: streaming}
users: {static: [a@example.com]}`, []string{
			`c.yaml:6:25: exchange.notifications.mode: "streaming" contradicts testdata/vendor_pull.xml, which selects pull (Object="EWSPull" on line 6); remove one of them`,
		}},
		{"vendor name as mode is reported once", `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  vendor_config: testdata/vendor_pull.xml
  notifications: {mode: EwsPull}
users: {static: [a@example.com]}`, []string{
			`c.yaml:6:25: exchange.notifications.mode: "EwsPull" is not valid; expected "streaming" or "pull" ("EwsPull" is the vendor file's name for pull: write mode: pull)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, _ := newDecoder("c.yaml").load([]byte(tc.yaml))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestVendorConfigSetsMode(t *testing.T) {
	setTestSecrets(t)
	cfg, err := Load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  vendor_config: vendor_pull.xml
users: {static: [a@example.com]}`), "testdata/calsync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Exchange.Notifications.Mode != Pull || cfg.Exchange.VendorConfig != filepath.Join("testdata", "vendor_pull.xml") {
		t.Errorf("mode %q from %q; want pull from testdata/vendor_pull.xml", cfg.Exchange.Notifications.Mode, cfg.Exchange.VendorConfig)
	}
}

func TestVendorFileReferencedWithCorrection(t *testing.T) {
	setTestSecrets(t)
	_, err := LoadFile("testdata/bad/vendor_ref.yaml")
	var ce *Error
	if !errors.As(err, &ce) || len(ce.CorrectedVendorXML) == 0 {
		t.Fatalf("want *Error with the corrected vendor file, got %v", err)
	}
	if !strings.Contains(err.Error(), "the corrected file would be:\n<?xml") {
		t.Errorf("error does not print the corrected file:\n%v", err)
	}
}

func TestExampleConfigInDeployIsValid(t *testing.T) {
	t.Setenv("CALSYNC_EWS_PASSWORD", "example-password")
	t.Setenv("CALSYNC_LDAP_PASSWORD", "example-password")
	path := filepath.Join("..", "deploy", "calsync.example.yaml")
	problems := ValidateFile(path)
	if len(problems) != 0 {
		t.Fatalf("the example config has problems:\n%s", Report(problems))
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Users.LDAP == nil || cfg.Users.LDAP.GroupDN != "CN=Calendar Sync,OU=Groups,DC=example,DC=com" || len(cfg.Presence.RuleSet.Rules) != 2 {
		t.Errorf("example config loaded unexpectedly: %+v", cfg.Users.LDAP)
	}
}

func TestListEntriesKeepTheirPositions(t *testing.T) {
	setTestSecrets(t)
	_, problems, _ := newDecoder("c.yaml").load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
users:
  static:
    - {mail: a@example.com}
    - not-an-address
`))
	want := []string{
		`c.yaml:7:7: users.static[0]: expected a string, found a mapping`,
		`c.yaml:8:7: users.static[1]: "not-an-address" is not an SMTP address; expected user@example.com`,
	}
	checkProblems(t, problems, want)
}

func TestOOFIntervalZeroTurnsPeriodicReadsOff(t *testing.T) {
	setTestSecrets(t)
	yml := "exchange:\n  ews_url: https://mail.example.com/EWS/Exchange.asmx\n  auth:\n    username: svc\n    password_env: CALSYNC_TEST_EWS_PASSWORD\n  notifications:\n    oof_interval: 0s\nusers:\n  static: [alice@example.com]\n"
	cfg, err := Load([]byte(yml), "inline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Exchange.Notifications.OOFInterval; got != 0 {
		t.Errorf("oof_interval 0s loaded as %v, want 0 (off)", got)
	}
	if got := Defaults().Exchange.Notifications.OOFInterval; got != 15*time.Minute {
		t.Errorf("default oof_interval = %v, want 15m", got)
	}
}

// oof_poll_interval: 60s by default, 0 turns mail-tip polling off, and a
// too short one is refused with what it would cost.
func TestOOFPollInterval(t *testing.T) {
	setTestSecrets(t)
	if got := Defaults().Exchange.Notifications.OOFPollInterval; got != time.Minute {
		t.Errorf("default oof_poll_interval = %v, want 1m", got)
	}
	base := "exchange:\n  ews_url: https://mail.example.com/EWS/Exchange.asmx\n  auth:\n    username: svc\n    password_env: CALSYNC_TEST_EWS_PASSWORD\n  notifications:\n    oof_poll_interval: %s\nusers:\n  static: [alice@example.com]\n"
	cfg, err := Load([]byte(fmt.Sprintf(base, "0s")), "inline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Exchange.Notifications.OOFPollInterval; got != 0 {
		t.Errorf("oof_poll_interval 0s loaded as %v, want 0 (off)", got)
	}
	_, err = Load([]byte(fmt.Sprintf(base, "5s")), "inline.yaml")
	want := "inline.yaml:7:24: exchange.notifications.oof_poll_interval: 5s is too short; expected 0 (off) or 10s–1h"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("oof_poll_interval 5s: error = %v, want %q", err, want)
	}
}
