package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/calsync/calsync/connectors/sip/pidf"
)

// Connectors configures the systems calsync pushes presence into
// (connectors:); each is nil when absent.
type Connectors struct {
	SIP *SIPConnector
}

// SIPConnector configures publishing presence to a SIP presence server
// (connectors.sip), documented in docs/operations.md.
type SIPConnector struct {
	// Server is sip:host[:port][;transport=udp|tcp|tls] or sips:host[:port].
	Server string
	// Domain is the SIP domain: the publisher's From and {domain}.
	Domain string
	// Username and Password are the trusted publisher's digest account.
	Username string
	Password Secret
	// Presentity is the template of a user's presentity URI
	// (default sip:{local}@{domain}).
	Presentity string
	// Expires is the publication lifetime asked for (default 1h).
	Expires time.Duration
	// Concurrency bounds the PUBLISH requests in flight (default 64).
	Concurrency int
	// TLSCAFile is a PEM file of the authorities that sign the server's
	// certificate (sips: or transport=tls); empty: the system's.
	TLSCAFile string
	// Mapping overrides how availabilities and profiles look, by key.
	Mapping map[string]SIPLook
}

// SIPLook is one mapping entry: basic status, RPID activities, note, or
// withdrawing the publication.
type SIPLook struct {
	Closed     bool
	Activities []string
	Note       string
	Withdraw   bool
}

// Defaults of connectors.sip.
const (
	DefaultSIPPresentity  = "sip:{local}@{domain}"
	DefaultSIPExpires     = time.Hour
	DefaultSIPConcurrency = 64
)

var (
	connectorsKeys = []string{"sip"}
	sipKeys        = []string{"server", "domain", "username", "password", "password_env", "password_file",
		"presentity", "expires", "concurrency", "tls_ca_file", "mapping"}
	sipLookKeys = []string{"basic", "activities", "note", "withdraw"}
	// sipMappingKeys are the availabilities; other keys are profile names.
	sipAvailabilities = []string{"available", "busy", "tentative", "out_of_office", "working_elsewhere", "unknown"}
	sipPlaceholders   = []string{"{local}", "{user}", "{smtp_domain}", "{domain}"}
)

// connectors reads the connectors section.
func (d *decoder) connectors(c *Connectors, m *mapNode) {
	if m == nil {
		return
	}
	if v := m.get("sip"); v != nil {
		c.SIP = d.sipConnector(d.mapping(m.sub("sip"), m.key("sip"), v, sipKeys...))
	}
}

func (d *decoder) sipConnector(m *mapNode) *SIPConnector {
	if m == nil {
		return nil
	}
	s := &SIPConnector{Presentity: DefaultSIPPresentity, Expires: DefaultSIPExpires, Concurrency: DefaultSIPConcurrency}
	if v := m.get("server"); v != nil {
		s.Server = d.str(m.sub("server"), v)
		if err := checkSIPServer(s.Server); err != "" {
			d.errorf(v, m.sub("server"), "%s", err)
		}
	} else {
		d.required(m, "server", "missing; expected the SIP server's URI, e.g. sip:pbx.example.com:5060;transport=tcp")
	}
	if v := m.get("domain"); v != nil {
		s.Domain = d.str(m.sub("domain"), v)
		if s.Domain == "" || strings.ContainsAny(s.Domain, " @:;/") {
			d.errorf(v, m.sub("domain"), "%q is not a SIP domain; expected a host name such as example.com", s.Domain)
		}
	} else {
		d.required(m, "domain", "missing; expected the SIP domain of the presentities (example.com)")
	}
	if v := m.get("username"); v != nil {
		s.Username = d.str(m.sub("username"), v)
		if s.Username == "" {
			d.errorf(v, m.sub("username"), "empty; expected the publisher account's digest user name")
		}
	} else {
		d.required(m, "username", "missing; expected the trusted publisher's account (allowed to publish for every user)")
	}
	s.Password = d.secret(m, "password", "for the publisher's digest authentication")
	if v := m.get("presentity"); v != nil {
		s.Presentity = d.str(m.sub("presentity"), v)
		if err := checkPresentityTemplate(s.Presentity); err != "" {
			d.errorf(v, m.sub("presentity"), "%s", err)
		}
	}
	if v := m.get("expires"); v != nil {
		if e, ok := d.duration(m.sub("expires"), v, time.Minute, 24*time.Hour); ok {
			s.Expires = e
		}
	}
	if v := m.get("concurrency"); v != nil {
		if n, ok := d.integer(m.sub("concurrency"), v, 1, 1000); ok {
			s.Concurrency = n
		}
	}
	if v := m.get("tls_ca_file"); v != nil {
		s.TLSCAFile, _ = d.existingFile(m.sub("tls_ca_file"), v)
	}
	if v := m.get("mapping"); v != nil {
		s.Mapping = d.sipMapping(m.sub("mapping"), m.key("mapping"), v)
	}
	return s
}

// sipMapping reads mapping entries keyed by availability or profile name.
func (d *decoder) sipMapping(path string, at, n *yaml.Node) map[string]SIPLook {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping from availability (%s) or presence profile to {basic, activities, note, withdraw}, found %s", strings.Join(sipAvailabilities, ", "), kindName(n))
		return nil
	}
	out := map[string]SIPLook{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		p := joinPath(path, k.Value)
		if _, dup := out[k.Value]; dup {
			d.errorf(k, p, "duplicate key")
			continue
		}
		if s := suggest(k.Value, sipAvailabilities); s != "" && s != k.Value {
			d.warnf(k, p, "%q is not an availability, so it applies to the presence profile of that name; did you mean %q?", k.Value, s)
		}
		lm := d.mapping(p, k, v, sipLookKeys...)
		if lm == nil {
			continue
		}
		var l SIPLook
		if b := lm.get("basic"); b != nil {
			if s, ok := d.enum(lm.sub("basic"), b, "open", "closed"); ok {
				l.Closed = s == "closed"
			}
		}
		if a := lm.get("activities"); a != nil {
			for _, it := range d.stringItems(lm.sub("activities"), a) {
				if err := pidf.CheckActivity(it.value); err != nil {
					d.errorf(it.node, fmt.Sprintf("%s[%d]", lm.sub("activities"), it.index), "%s", err.Error())
					continue
				}
				l.Activities = append(l.Activities, it.value)
			}
		}
		if nt := lm.get("note"); nt != nil {
			l.Note = d.str(lm.sub("note"), nt)
		}
		if w := lm.get("withdraw"); w != nil {
			l.Withdraw, _ = d.boolean(lm.sub("withdraw"), w)
			if l.Withdraw && (lm.has("basic") || lm.has("activities") || lm.has("note")) {
				d.errorf(w, lm.sub("withdraw"), "a withdrawn state publishes nothing; remove basic, activities and note, or withdraw")
			}
		}
		out[k.Value] = l
	}
	return out
}

// checkSIPServer returns what is wrong with a server URI, or "".
func checkSIPServer(s string) string {
	rest, ok := strings.CutPrefix(s, "sip:")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "sips:"); !ok {
			return fmt.Sprintf("%q is not a sip: or sips: URI; expected e.g. sip:pbx.example.com:5060;transport=tcp", s)
		}
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if strings.Contains(hostport, "@") {
		return fmt.Sprintf("%q names a user; the server URI is the server's address only (sip:pbx.example.com)", s)
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		host = h
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q: port %q is not a number from 1 to 65535", s, port)
		}
	}
	if host == "" {
		return fmt.Sprintf("%q has no host", s)
	}
	for _, p := range strings.Split(params, ";") {
		if t, ok := strings.CutPrefix(strings.ToLower(p), "transport="); ok && t != "udp" && t != "tcp" && t != "tls" {
			return fmt.Sprintf("%q: transport %q is not udp, tcp or tls", s, t)
		}
	}
	return ""
}

// checkPresentityTemplate returns what is wrong with a template, or "".
func checkPresentityTemplate(s string) string {
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		return fmt.Sprintf("%q is not a sip: or sips: URI template; expected e.g. sip:{local}@{domain}", s)
	}
	if !strings.Contains(s, "@") {
		return fmt.Sprintf("%q has no user part; expected e.g. sip:{local}@{domain}", s)
	}
	found := false
	for _, p := range sipPlaceholders {
		found = found || strings.Contains(s, p)
	}
	if !found {
		return fmt.Sprintf("%q has no placeholder (%s): every user would get the same presentity", s, strings.Join(sipPlaceholders, ", "))
	}
	return ""
}
