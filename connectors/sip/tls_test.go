package sip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/internal/testenv"
)

// throwawayCert is a self-signed certificate for 127.0.0.1 (its own CA).
func throwawayCert(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "calsync test SIP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pool
}

// Over TLS with the server's CA trusted, changes reach the watcher as over
// UDP, the server's TLS connection is the publisher's, and a server restart
// is survived.
func TestTLS(t *testing.T) {
	cert, key, pool := throwawayCert(t)
	r := newRigWith(t, kamailio.Options{TLSCert: cert, TLSKey: key})
	opts := r.options()
	opts.Server = "sips:" + r.srv.TLSAddr
	opts.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	r.overConnection(t, opts, "tess")
	list, err := r.srv.RPC(t.Context(), "tls.list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "127.0.0.1") || !strings.Contains(list, "established") {
		t.Fatalf("Kamailio's TLS connections:\n%s\nwant the publisher's", list)
	}
}

// Over TCP the same.
func TestTCP(t *testing.T) {
	r := newRig(t)
	opts := r.options()
	opts.Server = "sip:" + r.srv.Addr + ";transport=tcp"
	r.overConnection(t, opts, "tom")
}

// overConnection publishes changes for local over a connection-oriented
// transport, restarts the server (closing the connection) and publishes
// again: the change after the restart goes over a new connection, after
// one failed attempt and a probe at most.
func (r *rig) overConnection(t *testing.T, opts Options, local string) {
	t.Helper()
	r.subscribe(t, local)
	c, _ := run(t, opts)
	user := local + "@example.com"
	c.Runner().Set(user, busy("In a meeting until 15:00"))
	r.shows(t, local, "open", []string{"busy", "meeting"}, "In a meeting until 15:00")
	c.Runner().Set(user, busy("In a meeting until 16:00"))
	r.shows(t, local, "open", []string{"busy", "meeting"}, "In a meeting until 16:00")
	r.publications(t, local, 1)

	if err := r.srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, local)
	c.Runner().Set(user, busy("In a meeting until 17:00"))
	testenv.WaitFor(t, "the change after the restart at the watcher", func() bool {
		if st := c.Status(); st.Unavailable && st.InFlight == 0 {
			r.clock.Advance(time.Second) // the probe's back-off
		}
		last, _ := r.watch.Last(r.entity(local))
		return last.Doc != nil && last.Doc.Note == "In a meeting until 17:00"
	})
	r.publications(t, local, 1)
}

// A server certificate calsync does not trust is a precise error and no
// storm: the first updates fail, then one probe per back-off.
func TestTLSUntrustedCertificate(t *testing.T) {
	cert, key, _ := throwawayCert(t)
	r := newRigWith(t, kamailio.Options{TLSCert: cert, TLSKey: key})
	opts := r.options()
	opts.Server = "sip:" + r.srv.TLSAddr + ";transport=tls"
	_, _, other := throwawayCert(t) // trusts another CA only
	opts.TLS = &tls.Config{RootCAs: other, MinVersion: tls.VersionTLS12}
	lastErr := r.storm(t, opts, 8)
	for _, want := range []string{"TLS certificate", r.srv.TLSAddr, "tls_ca_file"} {
		if !strings.Contains(lastErr, want) {
			t.Fatalf("last error %q: want it to say %q", lastErr, want)
		}
	}
	// calsync check says the same.
	opts.Clock = nil
	if _, err := Check(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "tls_ca_file") {
		t.Fatalf("check: %v, want the untrusted certificate", err)
	}
}
