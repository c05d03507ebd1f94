package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Options are the connection settings of OpenWith; URL is required, the
// rest overrides what the URL says (config store.postgres).
type Options struct {
	// URL is a postgres:// URL or key=value connection string.
	URL string
	// PoolSize bounds the pool's connections (0: the URL's pool_max_conns
	// or pgx's default).
	PoolSize int
	// TLSMode is libpq's sslmode (disable, require, verify-ca,
	// verify-full); empty keeps the URL's.
	TLSMode string
	// CAFile is sslrootcert: the authorities that sign the server's
	// certificate.
	CAFile string
}

// OpenWith is Open with settings that override the URL's.
func OpenWith(ctx context.Context, o Options) (*Store, error) {
	conn, err := o.connString()
	if err != nil {
		return nil, err
	}
	return Open(ctx, conn)
}

// connString adds the overrides to the URL in its own form: query
// parameters of a URL, pairs of a key=value string. pgx reads TLS settings
// only while parsing, so they must be part of the string.
func (o Options) connString() (string, error) {
	set := map[string]string{}
	if o.PoolSize > 0 {
		set["pool_max_conns"] = fmt.Sprint(o.PoolSize)
	}
	if o.TLSMode != "" {
		set["sslmode"] = o.TLSMode
	}
	if o.CAFile != "" {
		set["sslrootcert"] = o.CAFile
	}
	s := strings.TrimSpace(o.URL)
	if len(set) == 0 {
		return s, nil
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", errors.New("pgstore: the database URL does not parse (expected postgres://user@host:port/db?...)")
		}
		q := u.Query()
		for k, v := range set {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	for k, v := range set {
		// Later pairs win in pgx's key=value parser.
		s += " " + k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return s, nil
}
