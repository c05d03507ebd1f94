package sip

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/calsync/calsync/config"
)

// FromConfig returns the options connectors.sip describes: `calsync run`
// and `calsync check` build the connector the same way. The caller adds
// the store, initial state, clock and logger.
func FromConfig(c *config.SIPConnector) (Options, error) {
	o := Options{Server: c.Server, Domain: c.Domain, Username: c.Username, Password: c.Password.Value(),
		Presentity: c.Presentity, Expires: c.Expires, Concurrency: c.Concurrency, Mapping: DefaultMapping()}
	overrides := Mapping{}
	for k, l := range c.Mapping {
		overrides[k] = Look{Closed: l.Closed, Activities: l.Activities, Note: l.Note, Withdraw: l.Withdraw}
	}
	o.Mapping = o.Mapping.With(overrides)
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return Options{}, fmt.Errorf("connectors.sip.tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Options{}, fmt.Errorf("connectors.sip.tls_ca_file %s holds no PEM certificate", c.TLSCAFile)
		}
		o.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}
