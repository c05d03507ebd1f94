package directory

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/calsync/calsync/config"
)

// FromConfig builds the Source described by the users section: the union
// of the static list, the CSV file and the LDAP group that are set.
func FromConfig(u config.Users, logger *slog.Logger) (Source, error) {
	var sources Multi
	if len(u.Static) > 0 {
		s, err := NewStatic(u.Static)
		if err != nil {
			return nil, err
		}
		sources = append(sources, s)
	}
	if u.CSVFile != "" {
		sources = append(sources, CSV{Path: u.CSVFile})
	}
	if l := u.LDAP; l != nil {
		src, err := NewLDAP(LDAPOptions{
			URL:                l.URL,
			StartTLS:           l.StartTLS,
			CAFile:             l.TLS.CAFile,
			InsecureSkipVerify: l.TLS.InsecureSkipVerify,
			BindDN:             l.BindDN,
			Password:           l.Password.Value(),
			BaseDN:             l.BaseDN,
			GroupDN:            l.GroupDN,
			Nested:             l.Nested,
			PageSize:           l.PageSize,
			MailAttribute:      l.MailAttribute,
			SIPAttribute:       l.SIPAttribute,
			Timeout:            l.Timeout,
			Logger:             logger,
		})
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("directory: no source of users configured")
	}
	if len(sources) == 1 {
		return sources[0], nil
	}
	return sources, nil
}

// RefreshInterval returns the Watcher interval for the users section: the
// LDAP refresh_interval, or DefaultRefreshInterval.
func RefreshInterval(u config.Users) time.Duration {
	if u.LDAP != nil && u.LDAP.RefreshInterval > 0 {
		return u.LDAP.RefreshInterval
	}
	return DefaultRefreshInterval
}
