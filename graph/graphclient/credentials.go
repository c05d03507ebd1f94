package graphclient

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Public defaults of the endpoints.
const (
	DefaultLoginURL = "https://login.microsoftonline.com"
	DefaultGraphURL = "https://graph.microsoft.com/v1.0"
)

// Credentials are an Entra app's app-only credentials for one tenant:
// a client secret, or a certificate whose key signs a JWT client assertion.
type Credentials struct {
	// TenantID is the tenant GUID or a verified domain.
	TenantID string
	ClientID string
	// ClientSecret, or Certificate with Key (RSA), authenticates the app.
	ClientSecret string
	Certificate  *x509.Certificate
	Key          crypto.Signer
	// LoginURL is the authority host (default DefaultLoginURL); the token
	// endpoint is LoginURL/{tenant}/oauth2/v2.0/token.
	LoginURL string
	// Scope defaults to https://graph.microsoft.com/.default; a sovereign
	// cloud or the simulator uses its own.
	Scope string
	// LegacyRS256 signs the assertion with RS256 instead of PS256 (both
	// headers, x5t and x5t#S256, are sent either way). Microsoft's current
	// page specifies PS256; many libraries still send RS256.
	LegacyRS256 bool
}

// TokenURL returns the v2.0 token endpoint for the tenant.
func (c Credentials) TokenURL() string {
	base := strings.TrimRight(c.LoginURL, "/")
	if base == "" {
		base = DefaultLoginURL
	}
	return base + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
}

// validate says what is missing, naming the field; never the secret.
func (c Credentials) validate() error {
	var problems []string
	if strings.TrimSpace(c.TenantID) == "" {
		problems = append(problems, "tenant id is empty")
	}
	if strings.TrimSpace(c.ClientID) == "" {
		problems = append(problems, "client id is empty")
	}
	hasCert := c.Certificate != nil || c.Key != nil
	switch {
	case c.ClientSecret != "" && hasCert:
		problems = append(problems, "both a client secret and a certificate are set; use one")
	case c.ClientSecret == "" && !hasCert:
		problems = append(problems, "neither a client secret nor a certificate is set")
	case hasCert && (c.Certificate == nil || c.Key == nil):
		problems = append(problems, "a certificate needs both the certificate and its private key")
	case hasCert:
		if _, ok := c.Key.Public().(*rsa.PublicKey); !ok {
			problems = append(problems, fmt.Sprintf("the certificate key is %T; Entra client assertions need an RSA key", c.Key.Public()))
		}
	}
	if c.LoginURL != "" {
		u, err := url.Parse(c.LoginURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("login URL %q is not an absolute http(s) URL", c.LoginURL))
		}
	}
	if len(problems) > 0 {
		return errors.New("graphclient: credentials: " + strings.Join(problems, "; "))
	}
	return nil
}

// LoadCertificate parses a PEM certificate and its PEM private key (PKCS#1,
// PKCS#8 or EC; Entra needs RSA), as certificate_file and key_file hold
// them. Errors say which of the two is wrong.
func LoadCertificate(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("graphclient: certificate and key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("graphclient: certificate: %w", err)
		}
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("graphclient: key: %T cannot sign", pair.PrivateKey)
	}
	if _, ok := signer.(*rsa.PrivateKey); !ok {
		return nil, nil, fmt.Errorf("graphclient: key: %T; Entra client assertions need an RSA key", signer)
	}
	return leaf, signer, nil
}
