package setupscript

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defaults of the Exchange Online script.
const (
	DefaultOnlineScopeName   = "calsync app scope"
	DefaultOnlineDisplayName = "calsync"
)

// OnlineRoles are the RBAC for Applications roles calsync needs: the
// Graph permissions it uses, scoped to its users (graph-facts.md §1).
var OnlineRoles = []string{"Application Calendars.Read", "Application MailboxSettings.Read"}

// OnlineParams describes the Exchange Online script (RBAC for
// Applications).
type OnlineParams struct {
	// AppID is the Entra app registration's application (client) id and
	// ObjectID its service principal's object id (Enterprise
	// applications). Both required.
	AppID, ObjectID string
	// DisplayName names the service principal in Exchange Online.
	DisplayName string
	// ScopeName names the management scope.
	ScopeName string
	// GroupName or Users limit the app to calsync's users, as for the
	// Exchange Server script; one is required.
	GroupName string
	Users     []string
}

func (p *OnlineParams) normalize() error {
	if p.DisplayName == "" {
		p.DisplayName = DefaultOnlineDisplayName
	}
	if p.ScopeName == "" {
		p.ScopeName = DefaultOnlineScopeName
	}
	// The recipient checks are the Exchange Server script's.
	base := Params{Account: "-", GroupName: p.GroupName, Users: p.Users, ScopeName: p.ScopeName}
	var errs []error
	if err := base.normalize(); err != nil {
		errs = append(errs, err)
	}
	for field, v := range map[string]string{"AppID": p.AppID, "ObjectID": p.ObjectID, "DisplayName": p.DisplayName} {
		if !guidLike(v) && field != "DisplayName" {
			errs = append(errs, &ParamError{Field: field, Problem: fmt.Sprintf("%q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", v)})
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			errs = append(errs, &ParamError{Field: field, Problem: fmt.Sprintf("%q contains a control character", v)})
		}
	}
	return errors.Join(errs...)
}

func guidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// GenerateOnline writes the Exchange Online PowerShell script for p: the
// Entra app registration steps, then the service principal, a management
// scope limited to calsync's users and the two application roles within
// it, and the verification with Test-ServicePrincipalAuthorization.
func GenerateOnline(w io.Writer, p OnlineParams) error {
	if err := p.normalize(); err != nil {
		return err
	}
	s := &script{}
	s.onlineHeader(p)
	s.onlineEntra()
	s.onlineServicePrincipal()
	s.scope(Params{GroupName: p.GroupName, Users: p.Users})
	s.onlineRoles()
	s.onlineVerify(p)
	if _, err := io.WriteString(w, s.b.String()); err != nil {
		return fmt.Errorf("setupscript: write: %w", err)
	}
	return nil
}
