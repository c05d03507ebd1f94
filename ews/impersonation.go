package ews

import (
	"fmt"
	"strings"
)

// ConnectingSIDKind is the form of identifier in t:ConnectingSIDType.
type ConnectingSIDKind string

// The four identifier forms, named like the XSD elements. SID and
// PrincipalName are cheaper for Exchange to resolve than the SMTP forms.
const (
	SIDPrincipalName      ConnectingSIDKind = "PrincipalName"
	SIDSecurityID         ConnectingSIDKind = "SID"
	SIDPrimarySmtpAddress ConnectingSIDKind = "PrimarySmtpAddress"
	SIDSmtpAddress        ConnectingSIDKind = "SmtpAddress"
)

// ConnectingSID names the user to impersonate (ExchangeImpersonation
// header). Anchor is the SMTP address sent as X-AnchorMailbox; for the SMTP
// forms it defaults to Value, for PrincipalName and SID it must be given.
type ConnectingSID struct {
	Kind   ConnectingSIDKind
	Value  string
	Anchor string
}

// ImpersonateSMTP impersonates by primary SMTP address.
func ImpersonateSMTP(addr string) ConnectingSID {
	return ConnectingSID{Kind: SIDPrimarySmtpAddress, Value: addr}
}

// IsZero reports whether no impersonation is requested.
func (c ConnectingSID) IsZero() bool { return c.Kind == "" && c.Value == "" }

// AnchorMailbox returns the SMTP address for X-AnchorMailbox.
func (c ConnectingSID) AnchorMailbox() string {
	if c.Anchor != "" {
		return c.Anchor
	}
	if c.Kind == SIDPrimarySmtpAddress || c.Kind == SIDSmtpAddress {
		return c.Value
	}
	return ""
}

// Validate checks the kind and value.
func (c ConnectingSID) Validate() error {
	if strings.TrimSpace(c.Value) == "" {
		return fmt.Errorf("ews: impersonation %s has an empty value", c.Kind)
	}
	switch c.Kind {
	case SIDPrimarySmtpAddress, SIDSmtpAddress:
		if !strings.Contains(c.Value, "@") {
			return fmt.Errorf("ews: impersonation %s %q is not an SMTP address", c.Kind, c.Value)
		}
	case SIDPrincipalName:
		if c.Anchor == "" {
			return fmt.Errorf("ews: impersonation by PrincipalName needs an Anchor SMTP address for X-AnchorMailbox")
		}
	case SIDSecurityID:
		if !strings.HasPrefix(strings.ToUpper(c.Value), "S-") {
			return fmt.Errorf("ews: impersonation SID %q is not in SDDL form (S-1-…)", c.Value)
		}
		if c.Anchor == "" {
			return fmt.Errorf("ews: impersonation by SID needs an Anchor SMTP address for X-AnchorMailbox")
		}
	default:
		return fmt.Errorf("ews: unknown impersonation kind %q", c.Kind)
	}
	return nil
}
