package clusterrig

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// InstanceConfig tunes what the rig writes into every instance's config
// file; zero values keep calsync's defaults.
type InstanceConfig struct {
	// CoalesceDelay is exchange.notifications.coalesce_delay (default
	// here 200ms: tests want changes through quickly).
	CoalesceDelay time.Duration
	// RequestsPerSecond is budget.requests_per_second ("adaptive" or a
	// number).
	RequestsPerSecond string
	// PoolSize is store.postgres.pool_size (default 4).
	PoolSize int
	// LogLevel is logging.level (default info).
	LogLevel string
	// Extra is YAML appended to the file: top-level sections the rig does
	// not write itself (presence:, window:, …).
	Extra string
}

// Environment variables the rig sets for each instance: secrets are
// never written into the config files.
const (
	envDatabase = "CALSYNC_RIG_DATABASE_URL"
	envPassword = "CALSYNC_RIG_EWS_PASSWORD"
	envWebhook  = "CALSYNC_RIG_WEBHOOK_SECRET"
)

// configYAML is the config file of instance id listening on port.
func (r *Rig) configYAML(id string, port int) string {
	c := r.o.Instance
	q := strconv.Quote // a JSON-quoted string is a YAML double-quoted one
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("exchange:")
	w("  ews_url: %s", q(r.access.URL+"/EWS/Exchange.asmx"))
	w("  autodiscover_url: %s", q(r.access.URL+"/autodiscover/autodiscover.svc"))
	w("  auth: {method: basic, username: %s, password_env: %s}", q(r.access.Account), envPassword)
	w("  notifications:")
	w("    coalesce_delay: %s", orDuration(c.CoalesceDelay, 200*time.Millisecond))
	if c.RequestsPerSecond != "" {
		w("budget:")
		w("  requests_per_second: %s", c.RequestsPerSecond)
	}
	w("users:")
	w("  static:")
	for _, u := range r.users {
		w("    - %s", q(u))
	}
	w("store:")
	w("  postgres: {url_env: %s, pool_size: %d}", envDatabase, orInt(c.PoolSize, 4))
	w("cluster:")
	w("  instance_id: %s", q(id))
	w("  lease_ttl: %s", r.o.LeaseTTL)
	w("api:")
	w("  listen: 127.0.0.1:%d", port)
	if h := r.o.Webhook; h != nil {
		w("webhooks:")
		w("  - name: rig")
		w("    url: %s", q(h.URL))
		w("    secret_env: %s", envWebhook)
		w("    timeout: %s", orDuration(h.Timeout, 5*time.Second))
		if len(h.Events) > 0 {
			w("    events: [%s]", strings.Join(h.Events, ", "))
		}
	}
	w("logging:")
	w("  level: %s", orString(c.LogLevel, "info"))
	b.WriteString(c.Extra)
	return b.String()
}

// env is instance id's environment: the caller's plus the secrets. Its
// database connections carry the id as application_name, so the database
// can tell the instances' sessions apart (pg_stat_activity, and a test's
// audit triggers).
func (r *Rig) env(base []string, id string) []string {
	env := append(base, envDatabase+"="+r.dbURL+"&application_name="+url.QueryEscape(id), envPassword+"="+r.access.Password)
	if r.o.Webhook != nil {
		env = append(env, envWebhook+"="+r.o.Webhook.Secret)
	}
	return env
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func orString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
