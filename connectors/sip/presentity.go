package sip

import (
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// DefaultPresentity is the presentity template when none is configured.
const DefaultPresentity = "sip:{local}@{domain}"

// presentityTemplate turns a user's SMTP address into the SIP URI of the
// presentity. Placeholders: {local} and {smtp_domain} (the parts of the
// SMTP address), {user} (the whole address), {domain} (the connector's SIP
// domain).
type presentityTemplate struct {
	template, domain string
}

func (p presentityTemplate) uri(user string) (string, error) {
	local, smtpDomain, ok := strings.Cut(user, "@")
	if !ok || local == "" {
		return "", fmt.Errorf("user %q is not an SMTP address (local@domain)", user)
	}
	s := strings.NewReplacer("{local}", strings.ToLower(local), "{smtp_domain}", strings.ToLower(smtpDomain),
		"{user}", strings.ToLower(user), "{domain}", p.domain).Replace(p.template)
	if err := CheckURI(s); err != nil {
		return "", fmt.Errorf("presentity of %s: %w", user, err)
	}
	return s, nil
}

// CheckURI reports whether s is a sip: or sips: URI with a user and a host.
func CheckURI(s string) error {
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		return fmt.Errorf("%q is not a sip: or sips: URI", s)
	}
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		return fmt.Errorf("%q is not a SIP URI: %w", s, err)
	}
	if u.User == "" || u.Host == "" {
		return fmt.Errorf("%q needs a user and a host (sip:alice@example.com)", s)
	}
	return nil
}

// CheckTemplate checks a presentity template with a sample user.
func CheckTemplate(template, domain string) error {
	if !strings.Contains(template, "{") {
		return fmt.Errorf("presentity template %q has no placeholder ({local}, {user}, {smtp_domain}, {domain}): every user would get the same presentity", template)
	}
	_, err := presentityTemplate{template: template, domain: domain}.uri("alice@example.com")
	return err
}
