package config

import (
	"strings"
	"testing"
	"time"
)

const clusterBase = `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
users: {static: [a@example.com]}
`

func TestPostgresAndClusterSettings(t *testing.T) {
	setTestSecrets(t)
	t.Setenv("CALSYNC_TEST_DB_URL", "postgres://calsync:pw@db.example.com:5432/calsync")
	cfg, err := Load([]byte(clusterBase+`
store:
  postgres:
    url_env: CALSYNC_TEST_DB_URL
    pool_size: 20
    tls: {mode: verify-full}
cluster:
  instance_id: calsync-2
  lease_ttl: 20s
  api_url: https://calsync-2.example.com:8443/
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pg := cfg.Store.Postgres
	if pg == nil {
		t.Fatal("store.postgres not set")
	}
	if pg.URL.Value() != "postgres://calsync:pw@db.example.com:5432/calsync" || pg.PoolSize != 20 || pg.TLSMode != "verify-full" {
		t.Errorf("postgres = %+v (url %q)", pg, pg.URL.Value())
	}
	if cfg.Cluster.InstanceID != "calsync-2" || cfg.Cluster.LeaseTTL != 20*time.Second || cfg.Cluster.APIURL != "https://calsync-2.example.com:8443" {
		t.Errorf("cluster = %+v", cfg.Cluster)
	}
}

func TestClusterDefaults(t *testing.T) {
	setTestSecrets(t)
	t.Setenv("CALSYNC_TEST_DB_URL", "host=db.example.com dbname=calsync")
	cfg, err := Load([]byte(clusterBase+"store: {postgres: {url_env: CALSYNC_TEST_DB_URL}}\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Postgres.PoolSize != DefaultPoolSize || cfg.Store.Postgres.TLSMode != "" {
		t.Errorf("postgres defaults = %+v", cfg.Store.Postgres)
	}
	if cfg.Cluster.InstanceID != DefaultInstanceID() || cfg.Cluster.LeaseTTL != DefaultLeaseTTL {
		t.Errorf("cluster defaults = %+v", cfg.Cluster)
	}
	if !instanceID.MatchString(DefaultInstanceID()) {
		t.Errorf("default instance id %q is not valid", DefaultInstanceID())
	}
	none, err := Load([]byte(clusterBase), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if none.Store.Postgres != nil {
		t.Error("a file without store.postgres got a PostgreSQL store")
	}
}

func TestClusterProblems(t *testing.T) {
	setTestSecrets(t)
	t.Setenv("CALSYNC_TEST_DB_URL", "db.example.com:secret-password")
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"both path and postgres", `
store:
  path: /tmp/x.db
  postgres: {url_env: CALSYNC_TEST_WEBHOOK_SECRET}`, []string{
			`c.yaml:9:3: store.postgres: set only one of "path" (the embedded file of one instance) and "postgres" (a database shared by several)`,
			`c.yaml:9:23: store.postgres.url_env: the database URL is neither a postgres:// URL nor key=value pairs (value not shown: it may hold a password); expected postgres://user@host:5432/calsync`,
		}},
		{"url missing, bad pool and tls", `
store:
  postgres:
    pool_size: 1
    tls: {mode: verify, ca_file: none.pem}`, []string{
			`c.yaml:8:3: store.postgres.url: missing (needed to reach the database); set url_env (an environment variable) or url_file (a file)`,
			`c.yaml:9:16: store.postgres.pool_size: 1 is out of range; expected a number from 2 to 1000`,
			`c.yaml:10:17: store.postgres.tls.mode: "verify" is not valid; expected "disable", "require", "verify-ca" or "verify-full"`,
			`c.yaml:10:34: store.postgres.tls.ca_file: file none.pem does not exist`,
		}},
		{"url not shown", `
store: {postgres: {url_env: CALSYNC_TEST_DB_URL}}`, []string{
			`c.yaml:7:29: store.postgres.url_env: the database URL is neither a postgres:// URL nor key=value pairs (value not shown: it may hold a password); expected postgres://user@host:5432/calsync`,
		}},
		{"cluster without postgres", `
cluster: {instance_id: "bad id!", lease_ttl: 1s, leas_ttl: 5s}`, []string{
			`c.yaml:7:1: cluster: several instances share their work through PostgreSQL; set store.postgres too (or remove the cluster section)`,
			`c.yaml:7:24: cluster.instance_id: "bad id!" is not a valid instance id; expected 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
			`c.yaml:7:46: cluster.lease_ttl: 1s is out of range; expected from 3s to 10m`,
			`c.yaml:7:50: cluster: unknown key "leas_ttl"; did you mean "lease_ttl"?`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, _ := newDecoder("c.yaml").load([]byte(clusterBase + tc.yaml))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
				if strings.Contains(p.String(), "secret-password") {
					t.Errorf("problem shows the database password: %s", p)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
