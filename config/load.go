package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Default values, documented in docs/operations.md.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultServerVersion = "Exchange2016"
	DefaultLDAPPageSize  = 500
	DefaultMailAttribute = "mail"
)

// ServerVersions are the accepted exchange.server_version values.
var ServerVersions = []string{"Exchange2013_SP1", "Exchange2016"}

// WebhookEvents are the event types a webhook may subscribe to.
var WebhookEvents = []string{"presence.changed", "sync.health"}

// maxFileSize bounds the configuration files calsync reads.
const maxFileSize = 4 << 20

// Load parses and validates a YAML configuration. name is used in messages
// and to resolve relative paths (its folder). On any error it returns an
// *Error listing every problem.
func Load(data []byte, name string) (*Config, error) {
	cfg, problems, corrected := newDecoder(name).load(data)
	if HasErrors(problems) {
		return nil, &Error{Problems: problems, CorrectedVendorXML: corrected}
	}
	return cfg, nil
}

// LoadFile reads path and loads it as YAML, or as the vendor's
// CalendarSyncExchange.config.xml when its name ends in .xml or its content
// starts with "<" (see LoadVendorXML: such a file only selects the
// notification mode, so it is reported as incomplete).
func LoadFile(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, &Error{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	if looksLikeXML(path, data) {
		return loadVendorOnly(data, path)
	}
	return Load(data, path)
}

// ValidateFile checks a YAML config or a vendor XML file and returns every
// problem (errors and warnings), sorted by position; none means valid.
func ValidateFile(path string) []Problem { return Validate(path).Problems }

// Validation is the outcome of checking a file: every problem, and for a
// malformed vendor XML file (or one referenced by exchange.vendor_config)
// the corrected file when it could be repaired.
type Validation struct {
	Problems           []Problem `json:"problems"`
	CorrectedVendorXML string    `json:"corrected_vendor_xml,omitempty"`
}

// OK reports whether the file has no errors (warnings allowed).
func (v Validation) OK() bool { return !HasErrors(v.Problems) }

// String is the report for people: one line per problem, the summary, and
// the corrected vendor file if any.
func (v Validation) String() string {
	s := Report(v.Problems)
	if v.CorrectedVendorXML != "" {
		s += "the corrected vendor file would be:\n" + v.CorrectedVendorXML
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
	}
	return s
}

// Validate checks a YAML config or a vendor XML file; it is what
// `calsync config validate` prints (String) or encodes (--json).
func Validate(path string) Validation {
	data, err := readConfigFile(path)
	if err != nil {
		return Validation{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	if looksLikeXML(path, data) {
		_, err := LoadVendorXML(data, path)
		var ce *Error
		if errors.As(err, &ce) {
			return Validation{Problems: ce.Problems, CorrectedVendorXML: string(ce.CorrectedVendorXML)}
		}
		return Validation{}
	}
	_, problems, corrected := newDecoder(path).load(data)
	return Validation{Problems: problems, CorrectedVendorXML: string(corrected)}
}

func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the config file: %w", unwrapPathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the config file: %w", unwrapPathError(err))
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("the config file is larger than %d MiB", maxFileSize>>20)
	}
	return data, nil
}

func looksLikeXML(path string, data []byte) bool {
	if strings.EqualFold(filepath.Ext(path), ".xml") {
		return true
	}
	// UTF-16 (Notepad's "Unicode") is decoded first: a YAML file saved
	// so is YAML, not XML.
	text, _ := toUTF8(data)
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '<'
}

// loadVendorOnly explains that a vendor file alone is not a full config.
func loadVendorOnly(data []byte, path string) (*Config, error) {
	v, err := LoadVendorXML(data, path)
	if err != nil {
		return nil, err
	}
	return nil, &Error{Problems: []Problem{{
		File: path, Line: v.Line,
		Message: fmt.Sprintf("this vendor file selects only the notification mode (%s); calsync also needs the Exchange URL, the service account and the users: write a calsync.yaml and reference this file from it with exchange.vendor_config", v.Mode),
	}}}
}

func newDecoder(name string) *decoder {
	dir := ""
	if name != "" {
		dir = filepath.Dir(name)
	}
	return &decoder{file: name, dir: dir, lookup: os.LookupEnv, readFile: os.ReadFile, stat: os.Stat}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// load parses data and walks it; it returns the config (meaningful only
// without errors), every problem sorted, and any corrected vendor XML.
func (d *decoder) load(data []byte) (*Config, []Problem, []byte) {
	cfg := Defaults()
	cfg.File = d.file
	data, _ = toUTF8(data)
	root, ok := d.parse(data)
	if ok {
		d.root(cfg, root)
	}
	sortProblems(d.problems)
	for _, p := range d.problems {
		if p.Warning {
			cfg.Warnings = append(cfg.Warnings, p)
		}
	}
	return cfg, d.problems, d.corrected
}

// parse returns the root node of the single YAML document in data.
func (d *decoder) parse(data []byte) (*yaml.Node, bool) {
	if len(bytes.TrimSpace(data)) == 0 {
		d.errorf(nil, "", "the file is empty; expected at least the exchange and users sections")
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		d.yamlError(err, data)
		return nil, false
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		d.errorf(&second, "", "a second YAML document (after ---) is not allowed; keep the whole configuration in one document")
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err, data)
	}
	if len(doc.Content) == 0 {
		d.errorf(nil, "", "the file has no content; expected at least the exchange and users sections")
		return nil, false
	}
	return doc.Content[0], true
}

func (d *decoder) yamlError(err error, data []byte) {
	msg := err.Error()
	errLine := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		errLine, _ = strconv.Atoi(m[1])
	}
	// The YAML parser reports indentation tabs in several ways ("found
	// character that cannot start any token", "tab character"…): a tab in
	// the indentation up to the failing line is the cause to name.
	if line, col := firstIndentTab(data); line > 0 && (errLine == 0 || line <= errLine || strings.Contains(msg, "tab character")) {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Column: col, Message: "invalid YAML: a tab is used for indentation; YAML needs spaces"})
		return
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Message: "invalid YAML: " + m[2]})
		return
	}
	d.problems = append(d.problems, Problem{File: d.file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// Defaults returns a configuration holding every default value.
func Defaults() *Config {
	return &Config{
		Exchange: Exchange{
			ServerVersion: DefaultServerVersion,
			Auth:          Auth{Method: AuthNTLM},
			Impersonation: Impersonation{IDType: ImpersonateSMTP},
			Notifications: Notifications{
				Mode:              Streaming,
				PullInterval:      defaultPullInterval,
				PullTimeout:       defaultPullTimeout,
				ConnectionTimeout: defaultConnectionTimeout,
				HeartbeatTimeout:  defaultHeartbeatTimeout,
				CoalesceDelay:     defaultCoalesceDelay,
				ReconcileInterval: defaultReconcileInterval,
				OOFInterval:       defaultOOFInterval,
				OOFPollInterval:   defaultOOFPollInterval,
				GroupSize:         200,
			},
		},
		Window:   Window{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: "UTC"},
		Budget:   Budget{MaxConcurrency: 10, PerServer: 8, PerUser: 2, RequestsPerSecond: 0, MaxBackOff: defaultMaxBackOff},
		Store:    Store{Path: DefaultStorePath()},
		Cluster:  Cluster{InstanceID: DefaultInstanceID(), LeaseTTL: DefaultLeaseTTL},
		Presence: defaultPresence(),
		API:      API{Listen: DefaultListen},
		Logging: Logging{
			Level:  "info",
			Format: "text",
		},
	}
}

// DefaultStorePath is /var/lib/calsync/calsync.db, or on Windows
// %ProgramData%\calsync\calsync.db.
func DefaultStorePath() string {
	if runtime.GOOS == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "calsync", "calsync.db")
	}
	return "/var/lib/calsync/calsync.db"
}

var rootKeys = []string{"exchange", "exchange_online", "window", "budget", "users", "store", "cluster", "api", "webhooks", "presence", "connectors", "logging"}

func (d *decoder) root(cfg *Config, n *yaml.Node) {
	m := d.mapping("", n, n, rootKeys...)
	if m == nil {
		return
	}
	if m.has("exchange_online") { // alone, or with exchange: hybrid, each mailbox where it lives
		cfg.ExchangeOnline = d.exchangeOnline(d.mapping("exchange_online", m.key("exchange_online"), m.get("exchange_online"), exchangeOnlineKeys...))
	}
	switch {
	case m.has("exchange"):
		d.exchange(&cfg.Exchange, d.mapping("exchange", m.key("exchange"), m.get("exchange"), exchangeKeys...))
	case m.has("exchange_online"):
	case !d.misspelt["exchange"] && !d.misspelt["exchange_online"]:
		d.errorf(n, "exchange", "missing section; expected at least exchange.ews_url or exchange.autodiscover_url and exchange.auth (Exchange Server), or exchange_online (Exchange Online through Microsoft Graph)")
	}
	switch {
	case m.has("users"):
		d.users(&cfg.Users, d.mapping("users", m.key("users"), m.get("users"), "static", "csv_file", "ldap"))
	case !d.misspelt["users"]:
		d.errorf(n, "users", "missing section; expected at least one of users.static, users.csv_file or users.ldap")
	}
	if v := m.get("window"); v != nil {
		d.window(&cfg.Window, d.mapping("window", m.key("window"), v, "days_before", "days_after", "default_time_zone"))
	}
	if v := m.get("budget"); v != nil {
		d.budget(&cfg.Budget, d.mapping("budget", m.key("budget"), v, budgetKeys...))
	}
	if v := m.get("store"); v != nil {
		d.store(&cfg.Store, d.mapping("store", m.key("store"), v, storeKeys...))
	}
	if v := m.get("cluster"); v != nil {
		d.cluster(&cfg.Cluster, d.mapping("cluster", m.key("cluster"), v, clusterKeys...), cfg.Store.Postgres, m.key("cluster"))
	}
	if v := m.get("api"); v != nil {
		d.api(&cfg.API, d.mapping("api", m.key("api"), v, apiKeys...))
	}
	if v := m.get("webhooks"); v != nil {
		cfg.Webhooks = d.webhooks("webhooks", v)
	}
	if v := m.get("presence"); v != nil {
		d.presence(&cfg.Presence, d.presenceMapping(m.key("presence"), v))
	}
	if v := m.get("connectors"); v != nil {
		d.connectors(&cfg.Connectors, d.mapping("connectors", m.key("connectors"), v, connectorsKeys...))
	}
	if v := m.get("logging"); v != nil {
		if lm := d.mapping("logging", m.key("logging"), v, "level", "format"); lm != nil {
			if l := lm.get("level"); l != nil {
				if s, ok := d.enum(lm.sub("level"), l, "debug", "info", "warn", "error"); ok {
					cfg.Logging.Level = s
				}
			}
			if f := lm.get("format"); f != nil {
				if s, ok := d.enum(lm.sub("format"), f, "text", "json"); ok {
					cfg.Logging.Format = s
				}
			}
		}
	}
}

// firstIndentTab finds the first tab in the indentation of a line.
func firstIndentTab(data []byte) (int, int) {
	for i, line := range strings.Split(string(data), "\n") {
		for j, r := range line {
			if r == '\t' {
				return i + 1, j + 1
			}
			if r != ' ' {
				break
			}
		}
	}
	return 0, 0
}
