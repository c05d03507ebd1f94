package directory

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/calsync/calsync/internal/testenv"
)

const (
	slapdInstall = "apt-get install -y slapd ldap-utils"
	testSuffix   = "dc=example,dc=com"
	testRootDN   = "cn=admin,dc=example,dc=com"
	testRootPW   = "root-secret"
	testSvcDN    = "uid=svc-calsync,ou=people,dc=example,dc=com"
	testSvcPW    = "svc-secret"
	// testSizeLimit is the server's size limit for the service account:
	// any search returning more entries must be paged.
	testSizeLimit = 5
)

// slapdServer is a real OpenLDAP server started for one test.
type slapdServer struct {
	URL      string // ldap://127.0.0.1:port
	LDAPSURL string // ldaps://127.0.0.1:port, when started with TLS
	CAFile   string // the self-signed certificate, when started with TLS
}

func findTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return testenv.LookPath(t, "/usr/sbin/"+name, slapdInstall)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSlapd writes a slapd.conf and the LDIF into a temp folder, loads
// the data with slapadd and starts slapd in the foreground on loopback
// ports. withTLS adds a self-signed certificate (StartTLS and LDAPS);
// sizeLimit caps the entries one search (or one page) may return for
// authenticated users.
func startSlapd(t testing.TB, ldif string, withTLS bool, sizeLimit int) *slapdServer {
	t.Helper()
	slapd := findTool(t, "slapd")
	slapadd := findTool(t, "slapadd")
	schemaDir := "/etc/ldap/schema"
	if _, err := os.Stat(filepath.Join(schemaDir, "inetorgperson.schema")); err != nil {
		testenv.Missing(t, "OpenLDAP schema files in /etc/ldap/schema", slapdInstall)
	}
	moduleDir := ""
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap"} {
		if _, err := os.Stat(filepath.Join(d, "back_mdb.so")); err == nil {
			moduleDir = d
			break
		}
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&conf, "include %s/%s.schema\n", schemaDir, s)
	}
	if moduleDir != "" {
		fmt.Fprintf(&conf, "modulepath %s\nmoduleload back_mdb\n", moduleDir)
	}
	fmt.Fprintf(&conf, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", dir, dir)
	srv := &slapdServer{}
	if withTLS {
		cert, key := writeSelfSigned(t, dir)
		fmt.Fprintf(&conf, "TLSCertificateFile %s\nTLSCertificateKeyFile %s\n", cert, key)
		srv.CAFile = cert
	}
	fmt.Fprintf(&conf, "database mdb\nmaxsize 33554432\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n", testSuffix, testRootDN, testRootPW, dir)
	fmt.Fprintf(&conf, "limits users size.soft=%d size.hard=%d size.pr=%d size.prtotal=unlimited\n", sizeLimit, sizeLimit, sizeLimit)
	conf.WriteString("access to attrs=userPassword by anonymous auth by * none\naccess to * by users read by * none\n")
	confPath := filepath.Join(dir, "slapd.conf")
	ldifPath := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ldifPath, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	srv.URL = fmt.Sprintf("ldap://127.0.0.1:%d", freePort(t))
	listen := srv.URL + "/"
	if withTLS {
		srv.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", freePort(t))
		listen += " " + srv.LDAPSURL + "/"
	}
	log := &testenv.SyncBuffer{}
	cmd := exec.Command(slapd, "-f", confPath, "-h", listen, "-d", "0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("slapd log:\n%s", log.String())
		}
	})
	testenv.WaitFor(t, "slapd to accept connections", func() bool {
		select {
		case <-exited:
			t.Fatalf("slapd exited:\n%s", log.String())
		default:
		}
		c, err := ldap.DialURL(srv.URL)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return srv
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1.
func writeSelfSigned(t testing.TB, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// testLDIF is the directory of the tests:
//
//	cn=calendar-sync: u01–u10, cn=team-a
//	cn=team-a:        u11–u18, cn=team-b
//	cn=team-b:        u19–u22, cn=calendar-sync (a cycle), cn=team-a (a cycle)
//	cn=others:        u23–u25
//
// u05 has no mail address. The synced users are u01–u22 without u05.
func testLDIF() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: svc-calsync\ncn: calsync service\nsn: service\nuserPassword: %s\n\n", testSvcDN, testSvcPW)
	for i := 1; i <= 25; i++ {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: u%02d\ncn: User %02d\nsn: %02d\ndisplayName: Test User %02d\n", userDN(i), i, i, i, i)
		if i != 5 {
			fmt.Fprintf(&b, "mail: u%02d@example.com\n", i)
		}
		// The SIP address attribute's test values (AD holds them in
		// msRTCSIP-PrimaryUserAddress; slapd's schema has labeledURI).
		switch i {
		case 1:
			b.WriteString("labeledURI: sip:user.one@voice.example.com\n")
		case 2:
			b.WriteString("labeledURI: https://intranet.example.com/~u02\n")
		}
		b.WriteString("\n")
	}
	group := func(name string, users []int, groups ...string) {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", groupDN(name), name)
		for _, u := range users {
			fmt.Fprintf(&b, "member: %s\n", userDN(u))
		}
		for _, g := range groups {
			fmt.Fprintf(&b, "member: %s\n", groupDN(g))
		}
		b.WriteString("\n")
	}
	group("calendar-sync", span(1, 10), "team-a")
	group("team-a", span(11, 18), "team-b")
	group("team-b", span(19, 22), "calendar-sync", "team-a")
	group("others", span(23, 25))
	return b.String()
}

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func userDN(i int) string        { return fmt.Sprintf("uid=u%02d,ou=people,%s", i, testSuffix) }
func groupDN(name string) string { return fmt.Sprintf("cn=%s,ou=groups,%s", name, testSuffix) }

// modify changes the directory as the root DN (as an administrator would).
func (s *slapdServer) modify(t *testing.T, dn string, add, del []string) {
	t.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(testRootDN, testRootPW); err != nil {
		t.Fatal(err)
	}
	req := ldap.NewModifyRequest(dn, nil)
	if len(add) > 0 {
		req.Add("member", add)
	}
	if len(del) > 0 {
		req.Delete("member", del)
	}
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}
