package config

import (
	"strings"
	"testing"
	"time"
)

func TestSIPConnectorSettings(t *testing.T) {
	setTestSecrets(t)
	t.Setenv("CALSYNC_TEST_SIP_PASSWORD", "sip-secret")
	cfg, err := Load([]byte(clusterBase+`
connectors:
  sip:
    server: sip:pbx.example.com:5060;transport=tcp
    domain: example.com
    username: calsync
    password_env: CALSYNC_TEST_SIP_PASSWORD
    presentity: "sip:{local}.ext@{domain}"
    expires: 30m
    concurrency: 16
    mapping:
      tentative: {activities: [appointment], note: Maybe busy}
      dnd: {basic: closed, activities: [busy]}
      unknown: {withdraw: true}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Connectors.SIP
	if s == nil || s.Server != "sip:pbx.example.com:5060;transport=tcp" || s.Domain != "example.com" || s.Username != "calsync" ||
		s.Password.Value() != "sip-secret" || s.Presentity != "sip:{local}.ext@{domain}" || s.Expires != 30*time.Minute || s.Concurrency != 16 {
		t.Fatalf("connectors.sip = %+v", s)
	}
	if l := s.Mapping["dnd"]; !l.Closed || len(l.Activities) != 1 || l.Activities[0] != "busy" {
		t.Errorf("dnd = %+v", l)
	}
	if l := s.Mapping["tentative"]; l.Note != "Maybe busy" || l.Closed {
		t.Errorf("tentative = %+v", l)
	}
	if !s.Mapping["unknown"].Withdraw {
		t.Errorf("unknown = %+v", s.Mapping["unknown"])
	}
	defaults, err := Load([]byte(clusterBase+`
connectors:
  sip: {server: "sips:pbx.example.com", domain: example.com, username: calsync, password_env: CALSYNC_TEST_SIP_PASSWORD}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := defaults.Connectors.SIP; d.Presentity != DefaultSIPPresentity || d.Expires != DefaultSIPExpires || d.Concurrency != DefaultSIPConcurrency {
		t.Errorf("defaults = %+v", d)
	}
	none, err := Load([]byte(clusterBase), "c.yaml")
	if err != nil || none.Connectors.SIP != nil {
		t.Fatalf("no connectors: %+v, %v", none.Connectors, err)
	}
}

func TestSIPConnectorProblems(t *testing.T) {
	setTestSecrets(t)
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"missing", `
connectors:
  sip: {}`, []string{
			`c.yaml:8:3: connectors.sip.server: missing; expected the SIP server's URI, e.g. sip:pbx.example.com:5060;transport=tcp`,
			`c.yaml:8:3: connectors.sip.domain: missing; expected the SIP domain of the presentities (example.com)`,
			`c.yaml:8:3: connectors.sip.username: missing; expected the trusted publisher's account (allowed to publish for every user)`,
			`c.yaml:8:3: connectors.sip.password: missing (needed for the publisher's digest authentication); set password_env (an environment variable) or password_file (a file)`,
		}},
		{"bad values", `
connectors:
  sip:
    server: http://pbx
    domain: example.com
    username: calsync
    password_env: CALSYNC_TEST_EWS_PASSWORD
    presentity: sip:fixed@example.com
    expires: 10s
    mapping:
      busy: {activities: [busy, lunch], basic: away}
      unknown: {withdraw: true, note: x}`, []string{
			`c.yaml:9:13: connectors.sip.server: "http://pbx" is not a sip: or sips: URI; expected e.g. sip:pbx.example.com:5060;transport=tcp`,
			`c.yaml:13:17: connectors.sip.presentity: "sip:fixed@example.com" has no placeholder ({local}, {user}, {smtp_domain}, {domain}): every user would get the same presentity`,
			`c.yaml:14:14: connectors.sip.expires: 10s is out of range; expected from 1m to 24h`,
			`c.yaml:16:33: connectors.sip.mapping.busy.activities[1]: "lunch" is not an RPID activity (RFC 4480); use one of appointment, away, breakfast, busy, dinner, holiday, in-transit, looking-for-work, meal, meeting, on-the-phone, other, performance, permanent-absence, playing, presentation, shopping, sleeping, spectator, steering, travel, tv, unknown, vacation, working, worship`,
			`c.yaml:16:48: connectors.sip.mapping.busy.basic: "away" is not valid; expected "open" or "closed"`,
			`c.yaml:17:27: connectors.sip.mapping.unknown.withdraw: a withdrawn state publishes nothing; remove basic, activities and note, or withdraw`,
		}},
		{"transport and port", `
connectors:
  sip: {server: "sip:pbx:99999;transport=sctp", domain: example.com, username: u, password_env: CALSYNC_TEST_EWS_PASSWORD, sipp: 1}`, []string{
			`c.yaml:8:17: connectors.sip.server: "sip:pbx:99999;transport=sctp": port "99999" is not a number from 1 to 65535`,
			`c.yaml:8:124: connectors.sip: unknown key "sipp"; expected one of server, domain, username, password, password_env, password_file, presentity, expires, concurrency, tls_ca_file, mapping`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, _ := newDecoder("c.yaml").load([]byte(clusterBase + tc.yaml))
			var got []string
			for _, p := range problems {
				if p.Warning {
					continue
				}
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// The users source's SIP address attribute (the SIP connector's presentity
// per user) is an attribute name like mail_attribute.
func TestSIPAddressAttributeProblem(t *testing.T) {
	setTestSecrets(t)
	const yaml = `
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
users:
  ldap:
    url: ldaps://dc.example.com
    group_dn: CN=Sync,DC=example,DC=com
    sip_address_attribute: "msRTCSIP PrimaryUserAddress"`
	_, problems, _ := newDecoder("c.yaml").load([]byte(yaml))
	want := `c.yaml:9:28: users.ldap.sip_address_attribute: "msRTCSIP PrimaryUserAddress" is not an attribute name; expected e.g. "msRTCSIP-PrimaryUserAddress"`
	var got []string
	for _, p := range problems {
		if !p.Warning {
			got = append(got, p.String())
		}
	}
	if strings.Join(got, "\n") != want {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
