package config

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Postgres configures the PostgreSQL store that several instances share
// (store.postgres); nil keeps the embedded bbolt file.
type Postgres struct {
	// URL is the connection URL (postgres://user@host:5432/db) or key=value
	// string; it may hold a password, so it is a Secret (url_env, url_file).
	URL Secret
	// PoolSize is the most connections this instance opens (default 10).
	PoolSize int
	// TLSMode is disable, require, verify-ca or verify-full; empty keeps
	// the URL's sslmode (pgx's default: prefer).
	TLSMode string
	// CAFile is a PEM file of the authorities that sign the server's
	// certificate (verify-ca, verify-full).
	CAFile string
}

// Cluster configures how instances on one PostgreSQL share the mailboxes.
type Cluster struct {
	// InstanceID names this instance in leases and logs (default: the
	// host name). Two running instances must not share it.
	InstanceID string
	// LeaseTTL is how long a mailbox lease lasts without renewal: the time
	// after which the others take over a dead instance's mailboxes
	// (default 10s; renewed every third of it).
	LeaseTTL time.Duration
	// APIURL is where the other instances reach this instance's API to
	// forward writes for the users it owns (default: api.listen's port on
	// this host name).
	APIURL string
}

// Defaults of the cluster section, documented in docs/operations.md.
const (
	DefaultPoolSize = 10
	DefaultLeaseTTL = 10 * time.Second
)

// TLSModes are the accepted store.postgres.tls.mode values (libpq's
// sslmode names).
var TLSModes = []string{"disable", "require", "verify-ca", "verify-full"}

var (
	storeKeys    = []string{"path", "postgres"}
	postgresKeys = []string{"url", "url_env", "url_file", "pool_size", "tls"}
	pgTLSKeys    = []string{"mode", "ca_file"}
	clusterKeys  = []string{"instance_id", "lease_ttl", "api_url"}
	instanceID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// store reads the store section: the bbolt path or store.postgres, not both.
func (d *decoder) store(s *Store, m *mapNode) {
	if m == nil {
		return
	}
	if p := m.get("path"); p != nil {
		if v := d.str(m.sub("path"), p); v != "" {
			s.Path = d.resolvePath(v)
		} else {
			d.errorf(p, m.sub("path"), "expected a file path, found an empty string")
		}
	}
	v := m.get("postgres")
	if v == nil {
		return
	}
	if m.has("path") {
		d.errorf(m.key("postgres"), m.sub("postgres"), "set only one of \"path\" (the embedded file of one instance) and \"postgres\" (a database shared by several)")
	}
	pm := d.mapping(m.sub("postgres"), m.key("postgres"), v, postgresKeys...)
	if pm == nil {
		return
	}
	pg := &Postgres{PoolSize: DefaultPoolSize}
	pg.URL = d.secret(pm, "url", "to reach the database")
	if pg.URL.IsSet() {
		d.postgresURL(pm, pg.URL.Value())
	}
	if n := pm.get("pool_size"); n != nil {
		if size, ok := d.integer(pm.sub("pool_size"), n, 2, 1000); ok {
			pg.PoolSize = size
		}
	}
	if t := pm.get("tls"); t != nil {
		if tm := d.mapping(pm.sub("tls"), pm.key("tls"), t, pgTLSKeys...); tm != nil {
			if mode := tm.get("mode"); mode != nil {
				pg.TLSMode, _ = d.enum(tm.sub("mode"), mode, TLSModes...)
			}
			if ca := tm.get("ca_file"); ca != nil {
				pg.CAFile, _ = d.existingFile(tm.sub("ca_file"), ca)
				if pg.TLSMode == "disable" || pg.TLSMode == "require" {
					d.errorf(ca, tm.sub("ca_file"), "is used only to verify the server; set mode to verify-full (or verify-ca)")
				}
			}
		}
	}
	s.Postgres = pg
}

// postgresURL checks the form of the connection string without ever
// quoting it (it may hold a password).
func (d *decoder) postgresURL(m *mapNode, value string) {
	var at *yaml.Node
	path := ""
	for _, k := range []string{"url", "url_env", "url_file"} {
		if n := m.get(k); n != nil {
			at, path = n, m.sub(k)
		}
	}
	value = strings.TrimSpace(value)
	lower := strings.ToLower(value)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		if _, err := url.Parse(value); err != nil {
			d.errorf(at, path, "the database URL does not parse (value not shown: it may hold a password); expected postgres://user@host:5432/calsync")
		}
		return
	}
	if !strings.Contains(value, "=") {
		d.errorf(at, path, "the database URL is neither a postgres:// URL nor key=value pairs (value not shown: it may hold a password); expected postgres://user@host:5432/calsync")
	}
}

// cluster reads the cluster section; it needs store.postgres.
func (d *decoder) cluster(c *Cluster, m *mapNode, pg *Postgres, at *yaml.Node) {
	if m == nil {
		return
	}
	if pg == nil {
		d.errorf(at, "cluster", "several instances share their work through PostgreSQL; set store.postgres too (or remove the cluster section)")
	}
	if v := m.get("instance_id"); v != nil {
		s := d.str(m.sub("instance_id"), v)
		if instanceID.MatchString(s) {
			c.InstanceID = s
		} else {
			d.errorf(v, m.sub("instance_id"), "%q is not a valid instance id; expected 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", s)
		}
	}
	if v := m.get("api_url"); v != nil {
		if u, ok := d.parseURL(m.sub("api_url"), v, "https", "http"); ok {
			c.APIURL = strings.TrimRight(u.String(), "/")
		}
	}
	if v := m.get("lease_ttl"); v != nil {
		if ttl, ok := d.duration(m.sub("lease_ttl"), v, 3*time.Second, 10*time.Minute); ok {
			c.LeaseTTL = ttl
		}
	}
}

// DefaultInstanceID is the host name, cut to a valid instance id.
func DefaultInstanceID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "calsync"
	}
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, h)
	if len(h) > 63 {
		h = h[:63]
	}
	if !instanceID.MatchString(h) {
		return "calsync"
	}
	return h
}
