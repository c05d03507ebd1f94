package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// OIDs the LDAP source uses.
const (
	// oidMatchingRuleInChain is AD's LDAP_MATCHING_RULE_IN_CHAIN: a memberOf
	// filter with it matches members of nested groups.
	oidMatchingRuleInChain = "1.2.840.113556.1.4.1941"
	// oidActiveDirectory is LDAP_CAP_ACTIVE_DIRECTORY_OID in supportedCapabilities.
	oidActiveDirectory = "1.2.840.113556.1.4.800"
	// oidPagedResults is the simple paged results control (RFC 2696).
	oidPagedResults = "1.2.840.113556.1.4.319"
)

// Strategies the LDAP source uses to expand a group, reported in LDAPStats.
const (
	StrategyInChain   = "in_chain"  // AD: one paged search with LDAP_MATCHING_RULE_IN_CHAIN
	StrategyMemberOf  = "member_of" // AD, nested off: direct members via memberOf
	StrategyRecursive = "recursive" // other servers: group entries expanded by calsync
)

// LDAPOptions configure an LDAP source.
type LDAPOptions struct {
	// URL is ldap://host[:389] or ldaps://host[:636].
	URL string
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool
	// CAFile is a PEM bundle of trusted CAs (default: the system pool).
	CAFile string
	// InsecureSkipVerify disables certificate checks (tests only).
	InsecureSkipVerify bool
	// BindDN and Password authenticate the service account; an empty
	// BindDN searches anonymously.
	BindDN   string
	Password string
	// BaseDN is searched for users and groups.
	BaseDN string
	// GroupDN is the group whose members are synced.
	GroupDN string
	// Nested includes members of nested groups.
	Nested bool
	// PageSize is the paged-results page size (default 500).
	PageSize int
	// MailAttribute holds the SMTP address (default "mail").
	MailAttribute string
	// SIPAttribute, when set, holds the user's SIP address for the SIP
	// connector (in Active Directory msRTCSIP-PrimaryUserAddress).
	SIPAttribute string
	// Timeout bounds dialing and each request (default 30s).
	Timeout time.Duration
	// Logger receives diagnostics (default discard).
	Logger *slog.Logger
}

// LDAPStats describe the last successful Users call.
type LDAPStats struct {
	Strategy string
	// Searches is the number of search operations, Pages the number of
	// result pages received over all of them.
	Searches, Pages int
	// Groups is the number of groups expanded (recursive strategy).
	Groups int
	// Cycles counts group memberships skipped because they led back to a
	// group already expanded.
	Cycles int
}

// LDAP reads the members of a group from Active Directory or another LDAP
// server. Each Users call opens a connection, binds, searches and closes.
type LDAP struct {
	opts LDAPOptions
	tls  *tls.Config
	log  *slog.Logger

	mu    sync.Mutex
	stats LDAPStats
}

// NewLDAP checks the options and loads the CA file.
func NewLDAP(opts LDAPOptions) (*LDAP, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	if opts.MailAttribute == "" {
		opts.MailAttribute = "mail"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("directory: ldap: URL %q: expected ldap://host or ldaps://host", opts.URL)
	}
	if opts.StartTLS && u.Scheme == "ldaps" {
		return nil, fmt.Errorf("directory: ldap: StartTLS cannot be used with ldaps://")
	}
	for name, dn := range map[string]string{"group": opts.GroupDN, "base": opts.BaseDN} {
		if _, err := ldap.ParseDN(dn); err != nil || dn == "" {
			return nil, fmt.Errorf("directory: ldap: %s DN %q is not a distinguished name", name, dn)
		}
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // explicit option, warned by config
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory: ldap: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory: ldap: CA file %s holds no PEM certificate", opts.CAFile)
		}
		tc.RootCAs = pool
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LDAP{opts: opts, tls: tc, log: log}, nil
}

// LastStats returns the statistics of the last successful Users call.
func (l *LDAP) LastStats() LDAPStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// session is one connection's search state.
type session struct {
	l     *LDAP
	conn  *ldap.Conn
	stats LDAPStats
	// paging is false when the server does not offer paged results.
	paging bool
}

// Users returns the members of GroupDN that have a mail attribute.
func (l *LDAP) Users(ctx context.Context) ([]User, error) {
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Closing the connection aborts a request in flight when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{l: l, conn: conn, paging: true}
	users, err := s.users()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("directory: ldap: %w", ctx.Err())
		}
		return nil, err
	}
	l.mu.Lock()
	l.stats = s.stats
	l.mu.Unlock()
	l.log.Debug("ldap group read", "group", l.opts.GroupDN, "users", len(users), "strategy", s.stats.Strategy, "searches", s.stats.Searches, "pages", s.stats.Pages)
	return users, nil
}

func (l *LDAP) connect(ctx context.Context) (*ldap.Conn, error) {
	dialer := &net.Dialer{Timeout: l.opts.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(l.opts.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(l.tls))
	if err != nil {
		return nil, fmt.Errorf("directory: ldap: connect to %s: %w", l.opts.URL, err)
	}
	conn.SetTimeout(l.opts.Timeout)
	if l.opts.StartTLS {
		if err := conn.StartTLS(l.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("directory: ldap: StartTLS with %s: %w", l.opts.URL, err)
		}
	}
	if l.opts.BindDN != "" {
		if err := conn.Bind(l.opts.BindDN, l.opts.Password); err != nil {
			conn.Close()
			return nil, fmt.Errorf("directory: ldap: bind as %q: %w", l.opts.BindDN, err)
		}
	}
	return conn, nil
}

func (s *session) users() ([]User, error) {
	o := s.l.opts
	isAD, err := s.rootDSE()
	if err != nil {
		return nil, err
	}
	// The group must exist: a wrong DN must not look like an empty group
	// (the Watcher would remove every user).
	group, err := s.readEntry(o.GroupDN, "objectClass", "member", "uniqueMember")
	if err != nil {
		return nil, err
	}
	if isAD {
		s.stats.Strategy = StrategyMemberOf
		if o.Nested {
			s.stats.Strategy = StrategyInChain
		}
		filter := adMemberFilter(o)
		var users []User
		err := s.search(o.BaseDN, filter, s.userAttributes(), func(e *ldap.Entry) {
			if u, ok := s.entryUser(e); ok {
				users = append(users, u)
			}
		})
		if err != nil {
			return nil, err
		}
		return normalize(users), nil
	}
	s.stats.Strategy = StrategyRecursive
	return s.recursive(group)
}

// adMemberFilter selects the mail-enabled users that are members of the
// group, through nested groups with LDAP_MATCHING_RULE_IN_CHAIN.
func adMemberFilter(o LDAPOptions) string {
	rule := ""
	if o.Nested {
		rule = ":" + oidMatchingRuleInChain + ":"
	}
	return fmt.Sprintf("(&(objectCategory=person)(objectClass=user)(%s=*)(memberOf%s=%s))", o.MailAttribute, rule, ldap.EscapeFilter(o.GroupDN))
}

// rootDSE reports whether the server is Active Directory and whether it
// offers paged results.
func (s *session) rootDSE() (bool, error) {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, s.timeLimit(), false,
		"(objectClass=*)", []string{"supportedCapabilities", "supportedControl"}, nil)
	s.stats.Searches++
	res, err := s.conn.Search(req)
	if err != nil {
		return false, fmt.Errorf("directory: ldap: read the root DSE: %w", err)
	}
	if len(res.Entries) == 0 {
		return false, nil
	}
	e := res.Entries[0]
	s.paging = contains(e.GetAttributeValues("supportedControl"), oidPagedResults)
	if !s.paging {
		s.l.log.Warn("the LDAP server does not offer paged results; large groups may hit its size limit", "url", s.l.opts.URL)
	}
	return contains(e.GetAttributeValues("supportedCapabilities"), oidActiveDirectory), nil
}

func (s *session) timeLimit() int { return int(s.l.opts.Timeout / time.Second) }

// readEntry reads one entry by DN.
func (s *session) readEntry(dn string, attrs ...string) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, s.timeLimit(), false, "(objectClass=*)", attrs, nil)
	s.stats.Searches++
	res, err := s.conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || err == nil && len(res.Entries) == 0 {
		return nil, fmt.Errorf("directory: ldap: group %q does not exist (or the service account cannot read it)", dn)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: ldap: read %q: %w", dn, err)
	}
	return res.Entries[0], nil
}

// search runs a subtree search, paged when the server allows it.
func (s *session) search(base, filter string, attrs []string, each func(*ldap.Entry)) error {
	var controls []ldap.Control
	var paging *ldap.ControlPaging
	if s.paging {
		paging = ldap.NewControlPaging(uint32(s.l.opts.PageSize))
		controls = []ldap.Control{paging}
	}
	s.stats.Searches++
	for {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, s.timeLimit(), false, filter, attrs, controls)
		res, err := s.conn.Search(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) {
			return fmt.Errorf("directory: ldap: search %s: the server's size limit was reached; lower users.ldap.page_size (now %d) below the server's limit: %w", base, s.l.opts.PageSize, err)
		}
		if err != nil {
			return fmt.Errorf("directory: ldap: search %s for %s: %w", base, filter, err)
		}
		s.stats.Pages++
		for _, e := range res.Entries {
			each(e)
		}
		if paging == nil {
			return nil
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

func (s *session) userAttributes() []string {
	attrs := []string{s.l.opts.MailAttribute, "displayName", "cn", "userPrincipalName", "objectSid", "objectClass", "msExchRecipientTypeDetails"}
	if s.l.opts.SIPAttribute != "" {
		attrs = append(attrs, s.l.opts.SIPAttribute)
	}
	return attrs
}

// entryUser builds a User from an entry; ok is false without a usable mail.
func (s *session) entryUser(e *ldap.Entry) (User, bool) {
	mail := strings.TrimSpace(e.GetAttributeValue(s.l.opts.MailAttribute))
	if !validSMTP(mail) {
		if mail != "" {
			s.l.log.Warn("directory entry has no valid SMTP address; skipped", "dn", e.DN, "attribute", s.l.opts.MailAttribute, "value", mail)
		}
		return User{}, false
	}
	name := e.GetAttributeValue("displayName")
	if name == "" {
		name = e.GetAttributeValue("cn")
	}
	u := User{SMTP: mail, DisplayName: name, UPN: e.GetAttributeValue("userPrincipalName")}
	if raw := e.GetRawAttributeValue("objectSid"); len(raw) > 0 {
		if sid, err := FormatSID(raw); err == nil {
			u.SID = sid
		}
	}
	if v := e.GetAttributeValue("msExchRecipientTypeDetails"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			u.RecipientTypeDetails = n
		}
	}
	if a := s.l.opts.SIPAttribute; a != "" {
		if v := e.GetAttributeValue(a); v != "" {
			if sip, ok := NormalizeSIPAddress(v); ok {
				u.SIPAddress = sip
			} else {
				// The user is still synced; the connector falls back to its
				// presentity template for them.
				s.l.log.Warn("directory entry has an unusable SIP address; the presentity template is used", "dn", e.DN, "attribute", a, "value", v)
			}
		}
	}
	return u, true
}

// normDN returns a comparable form of a DN (parsed, lower-cased).
func normDN(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	return strings.ToLower(parsed.String())
}

// groupObjectClasses mark an entry as a group.
var groupObjectClasses = []string{"group", "groupofnames", "groupofuniquenames"}

func isGroup(e *ldap.Entry) bool {
	for _, oc := range e.GetAttributeValues("objectClass") {
		if contains(groupObjectClasses, strings.ToLower(oc)) {
			return true
		}
	}
	return false
}

func members(e *ldap.Entry) []string {
	return append(e.GetAttributeValues("member"), e.GetAttributeValues("uniqueMember")...)
}

// recursive expands the group on servers without LDAP_MATCHING_RULE_IN_CHAIN:
// it reads all groups under the base DN (paged), walks the membership from
// the configured group with cycle detection, then reads the mail-enabled
// entries under the base DN (paged) and keeps the members.
func (s *session) recursive(root *ldap.Entry) ([]User, error) {
	o := s.l.opts
	if !isGroup(root) {
		return nil, fmt.Errorf("directory: ldap: %q is not a group (objectClass %s)", o.GroupDN, strings.Join(root.GetAttributeValues("objectClass"), ", "))
	}
	groups := map[string][]string{normDN(root.DN): members(root)}
	if o.Nested {
		err := s.search(o.BaseDN, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))",
			[]string{"member", "uniqueMember"}, func(e *ldap.Entry) {
				groups[normDN(e.DN)] = members(e)
			})
		if err != nil {
			return nil, err
		}
	}
	wanted := map[string]bool{}
	visited := map[string]bool{}
	queue := []string{normDN(root.DN)}
	visited[queue[0]] = true
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		s.stats.Groups++
		for _, m := range groups[g] {
			key := normDN(m)
			if _, isGroup := groups[key]; isGroup {
				if !o.Nested {
					continue
				}
				if visited[key] {
					s.stats.Cycles++
					s.l.log.Debug("group already expanded; membership cycle or diamond skipped", "group", m, "in", g)
					continue
				}
				visited[key] = true
				queue = append(queue, key)
				continue
			}
			wanted[key] = true
		}
	}
	var users []User
	found := 0
	filter := fmt.Sprintf("(%s=*)", o.MailAttribute)
	err := s.search(o.BaseDN, filter, s.userAttributes(), func(e *ldap.Entry) {
		if !wanted[normDN(e.DN)] || isGroup(e) {
			return
		}
		found++
		if u, ok := s.entryUser(e); ok {
			users = append(users, u)
		}
	})
	if err != nil {
		return nil, err
	}
	if missing := len(wanted) - found; missing > 0 {
		s.l.log.Info("group members without a mail attribute or outside the base DN were skipped", "count", missing, "base_dn", o.BaseDN)
	}
	return normalize(users), nil
}

// FormatSID renders a binary Windows security identifier (objectSid) as
// S-1-5-21-….
func FormatSID(b []byte) (string, error) {
	if len(b) < 8 || b[0] != 1 {
		return "", errors.New("directory: SID: bad header")
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", fmt.Errorf("directory: SID: %d bytes for %d sub-authorities", len(b), n)
	}
	var authority uint64
	for _, c := range b[2:8] {
		authority = authority<<8 | uint64(c)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-%d-%d", b[0], authority)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return sb.String(), nil
}
