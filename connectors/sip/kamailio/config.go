package kamailio

import (
	"crypto/md5" //nolint:gosec // SIP digest HA1 is MD5 by definition (RFC 3261 §22.4)
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tables of Debian's db_text schema the configuration needs: version (every
// module checks its table versions there), subscriber (auth_db), and the
// presence tables (presence wants them even with publ_cache=2).
var dbTables = []string{"version", "subscriber", "presentity", "active_watchers", "watchers", "xcap"}

// schemaDirs are where Debian installs the db_text schema.
var schemaDirs = []string{"/usr/share/kamailio/dbtext/kamailio"}

// moduleDirGlobs are where distributions install Kamailio's modules.
var moduleDirGlobs = []string{"/usr/lib/*/kamailio/modules", "/usr/lib/kamailio/modules", "/usr/lib64/kamailio/modules"}

// findModuleDir returns the folder holding presence.so.
func findModuleDir() (string, error) {
	for _, g := range moduleDirGlobs {
		dirs, _ := filepath.Glob(g)
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "presence.so")); err == nil {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("kamailio presence module (presence.so) not found in %s", strings.Join(moduleDirGlobs, ", "))
}

// writeDB copies the empty db_text tables into dir/db and adds one
// subscriber row per account.
func writeDB(dir, domain string, accounts map[string]string) error {
	var schema string
	for _, d := range schemaDirs {
		if _, err := os.Stat(filepath.Join(d, "subscriber")); err == nil {
			schema = d
		}
	}
	if schema == "" {
		return fmt.Errorf("kamailio db_text schema not found in %s", strings.Join(schemaDirs, ", "))
	}
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		return err
	}
	for _, t := range dbTables {
		b, err := os.ReadFile(filepath.Join(schema, t))
		if err != nil {
			return err
		}
		if t == "subscriber" {
			b = append(b, subscriberRows(domain, accounts)...)
		}
		if err := os.WriteFile(filepath.Join(db, t), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// subscriberRows are db_text rows id:username:domain:password:ha1:ha1b.
// db_text refuses the whole table when ha1 or ha1b is empty, although
// auth_db computes the hash from the password (calculate_ha1).
func subscriberRows(domain string, accounts map[string]string) []byte {
	names := make([]string, 0, len(accounts))
	for n := range accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		sum := md5.Sum([]byte(n + ":" + domain + ":" + accounts[n])) //nolint:gosec // see import
		ha1 := hex.EncodeToString(sum[:])
		fmt.Fprintf(&b, "%d:%s:%s:%s:%s:%s\n", i+1, n, domain, accounts[n], ha1, ha1)
	}
	return []byte(b.String())
}

// configText is the routing script: digest authentication of PUBLISH
// (answered with 407, as auth_challenge does for requests other than
// REGISTER), a trusted publisher that may publish for everyone while other
// accounts only for themselves, presence + presence_xml without XCAP
// (force_active), publications kept in memory (publ_cache=2) so that a
// restart loses them as a real server without a database would.
func configText(dir, moduleDir, domain, publisher string, port, tlsPort, children int) string {
	return fmt.Sprintf(`#!KAMAILIO
debug=2
log_stderror=yes
children=%[7]d
tcp_children=%[8]d
listen=udp:127.0.0.1:%[4]d
listen=tcp:127.0.0.1:%[4]d
alias="%[3]s"
mpath="%[2]s"
loadmodule "db_text.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "ctl.so"
loadmodule "kex.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"
modparam("ctl", "binrpc", "unix:%[1]s/run/kamailio_ctl")
modparam("auth_db", "db_url", "text://%[1]s/db")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("presence", "db_url", "text://%[1]s/db")
modparam("presence", "subs_db_mode", 0)
modparam("presence", "publ_cache", 2)
modparam("presence", "server_address", "sip:127.0.0.1:%[4]d")
modparam("presence_xml", "db_url", "text://%[1]s/db")
modparam("presence_xml", "force_active", 1)%[6]s
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483","Too Many Hops"); exit; }
  if (is_method("PUBLISH")) {
    if (!auth_check("$fd", "subscriber", "0")) { auth_challenge("$fd", "0"); exit; }
    if ($au != "%[5]s" && $au != $rU) { sl_send_reply("403","Not allowed"); exit; }
    consume_credentials();
  }
  if (is_method("PUBLISH|SUBSCRIBE")) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    if (is_method("PUBLISH")) { handle_publish(); } else { handle_subscribe(); }
    t_release(); exit;
  }
  if (is_method("OPTIONS")) { sl_send_reply("200","OK"); exit; }
  sl_send_reply("405","Method Not Allowed"); exit;
}
`, dir, moduleDir, domain, port, publisher, tlsText(dir, tlsPort), children, max(2, children/2))
}

// tlsText is the TLS part of the configuration (tlsPort 0: none): the
// tls module's defaults for every connection, TLS 1.2 or newer, no client
// certificate asked for.
func tlsText(dir string, tlsPort int) string {
	if tlsPort == 0 {
		return ""
	}
	return fmt.Sprintf(`
enable_tls=yes
listen=tls:127.0.0.1:%[2]d
loadmodule "tls.so"
modparam("tls", "certificate", "%[1]s/tls/server.pem")
modparam("tls", "private_key", "%[1]s/tls/server.key")
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)`, dir, tlsPort)
}

// TLSModule says whether Kamailio's TLS module is installed.
func TLSModule() error {
	dir, err := findModuleDir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "tls.so")); err != nil {
		return fmt.Errorf("kamailio TLS module (tls.so) not found in %s", dir)
	}
	return nil
}

// writeTLS writes the server's certificate and key into the folder and
// returns a free port for the TLS listener.
func (s *Server) writeTLS(cert, key []byte) (int, error) {
	if err := TLSModule(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, InstallTLS)
	}
	dir := filepath.Join(s.dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.pem"), cert, 0o644); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), key, 0o600); err != nil {
		return 0, err
	}
	for {
		p, err := freePort()
		if err != nil || p != s.port {
			return p, err
		}
	}
}
