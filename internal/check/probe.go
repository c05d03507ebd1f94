package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// XML namespaces the probe reads.
const (
	nsSOAP   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes  = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsErrors = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// probeBodyLimit bounds the probe's response body.
const probeBodyLimit = 1 << 20

// probeResult is what the authentication probe learnt.
type probeResult struct {
	done bool
	// version is the ServerVersionInfo header, nil if absent.
	version *ews.ServerVersionInfo
	// faultCode is the EWS code of a SOAP fault answer, "" if none.
	faultCode string
	faultText string
}

// probeEnvelope decodes just enough of an EWS response.
type probeEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		Version *struct {
			Major      int    `xml:"MajorVersion,attr"`
			Minor      int    `xml:"MinorVersion,attr"`
			MajorBuild int    `xml:"MajorBuildNumber,attr"`
			MinorBuild int    `xml:"MinorBuildNumber,attr"`
			Version    string `xml:"Version,attr"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ServerVersionInfo"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				ResponseCode string `xml:"http://schemas.microsoft.com/exchange/services/2006/errors ResponseCode"`
			} `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// probeRequest is a GetServerTimeZones request for one zone: it needs no
// mailbox and no impersonation, so it tests only authentication, and every
// EWS answer carries ServerVersionInfo.
func probeRequest(version ews.ExchangeVersion) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="` + nsTypes + `">`)
	b.WriteString(`<s:Header><t:RequestServerVersion Version="`)
	_ = xml.EscapeText(&b, []byte(version))
	b.WriteString(`"/></s:Header>`)
	b.WriteString(`<s:Body><m:GetServerTimeZones ReturnFullTimeZoneData="false"><m:Ids><t:Id>UTC</t:Id></m:Ids></m:GetServerTimeZones></s:Body>`)
	b.WriteString(`</s:Envelope>`)
	return b.Bytes()
}

// checkConnectivity resolves the host, opens a TCP connection and sends an
// unauthenticated HTTP request.
func (r *runner) checkConnectivity(ctx context.Context) Result {
	u := r.endpoint
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	var details []string
	dialHost, dialPort := host, port
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && proxy != nil {
		details = append(details, "via HTTP proxy "+proxy.Redacted()+" (from the environment)")
		dialHost, dialPort = proxy.Hostname(), proxy.Port()
		if dialPort == "" {
			dialPort = "80"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if net.ParseIP(dialHost) == nil {
		addrs, err := net.DefaultResolver.LookupHost(ctx, dialHost)
		if err != nil {
			return Result{Status: StatusFail, Summary: "DNS: cannot resolve " + dialHost, Details: append(details, err.Error()),
				Fix: []string{"check the host name in exchange.ews_url and the DNS servers of this machine (nslookup " + dialHost + ")"}}
		}
		details = append(details, fmt.Sprintf("DNS: %s → %s", dialHost, strings.Join(addrs, ", ")))
	}
	d := net.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(dialHost, dialPort))
	if err != nil {
		return Result{Status: StatusFail, Summary: "TCP: cannot connect to " + net.JoinHostPort(dialHost, dialPort), Details: append(details, err.Error()),
			Fix: []string{"check that Exchange (or its load balancer) listens on this port and that no firewall blocks this machine (Test-NetConnection " + dialHost + " -Port " + dialPort + ")"}}
	}
	_ = conn.Close()
	details = append(details, "TCP: connected to "+net.JoinHostPort(dialHost, dialPort))

	// Any HTTP answer (401 included) proves the web server is there.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{Status: StatusFail, Summary: "cannot build an HTTP request", Details: []string{err.Error()}}
	}
	plain := &http.Client{Transport: r.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Do(req)
	if err != nil {
		if isCertError(err) {
			details = append(details, "HTTP: not tested, the certificate is not trusted (see TLS)")
			return Result{Status: StatusOK, Summary: "reachable (TCP)", Details: details}
		}
		return Result{Status: StatusFail, Summary: "HTTP request failed", Details: append(details, unwrapURLError(err).Error()),
			Fix: []string{"check that " + u.Redacted() + " is served by Exchange (IIS) and not blocked by a proxy"}}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	details = append(details, fmt.Sprintf("HTTP: %s answered %d", u.Path, resp.StatusCode))
	if resp.StatusCode == http.StatusNotFound {
		return Result{Status: StatusFail, Summary: "HTTP 404: no EWS at " + u.Path, Details: details,
			Fix: []string{"exchange.ews_url must end in /EWS/Exchange.asmx (e.g. https://mail.example.com/EWS/Exchange.asmx)"}}
	}
	return Result{Status: StatusOK, Summary: "reachable", Details: details}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isCertError reports a certificate verification failure.
func isCertError(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &ve)
}

// certExpiryWarning is how close to expiry a certificate is reported.
const certExpiryWarning = 30 * 24 * time.Hour

// checkTLS performs a verified TLS handshake and reports the certificate.
func (r *runner) checkTLS(ctx context.Context) Result {
	u := r.endpoint
	if u.Scheme != "https" {
		if isLoopback(u.Hostname()) {
			return Result{Status: StatusSkip, Summary: "plain http to a loopback address (lab or simulator)"}
		}
		return Result{Status: StatusWarn, Summary: "plain http: credentials and calendars travel unencrypted",
			Fix: []string{"use https in exchange.ews_url (https://" + u.Host + u.Path + ")"}}
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.tr != nil && r.tr.TLSClientConfig != nil {
		conf = r.tr.TLSClientConfig.Clone()
	}
	conf.ServerName = u.Hostname()
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	d := tls.Dialer{Config: conf}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return tlsFailure(err, u.Hostname())
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	res := Result{Status: StatusOK, Facts: map[string]string{"tls_version": tls.VersionName(state.Version)}}
	if len(state.PeerCertificates) > 0 {
		cert := state.PeerCertificates[0]
		left := cert.NotAfter.Sub(r.clock.Now())
		res.Facts["certificate_subject"] = cert.Subject.CommonName
		res.Facts["certificate_issuer"] = cert.Issuer.CommonName
		res.Facts["certificate_not_after"] = cert.NotAfter.UTC().Format(time.RFC3339)
		res.Summary = fmt.Sprintf("%s, certificate %q issued by %q, valid until %s", tls.VersionName(state.Version),
			cert.Subject.CommonName, cert.Issuer.CommonName, cert.NotAfter.UTC().Format("2006-01-02"))
		if left < certExpiryWarning {
			res.Status = StatusWarn
			res.Fix = []string{"renew the Exchange certificate before it expires (Get-ExchangeCertificate | Format-List Subject,NotAfter,Services)"}
		}
	}
	if r.opts.Exchange.TLS.InsecureSkipVerify {
		res.Status = StatusWarn
		res.Summary = "certificate verification is DISABLED (exchange.tls.insecure_skip_verify)"
		res.Fix = []string{"remove exchange.tls.insecure_skip_verify and set exchange.tls.ca_file to the PEM of the CA that issued the Exchange certificate"}
	}
	return res
}

// tlsFailure explains a failed handshake.
func tlsFailure(err error, host string) Result {
	res := Result{Status: StatusFail, Details: []string{err.Error()}}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		res.Summary = "the certificate is signed by an unknown authority"
		res.Fix = []string{"set exchange.tls.ca_file to a PEM file with the CA that issued the Exchange certificate (e.g. your enterprise root CA, exported with certutil -ca.cert root.cer, converted with openssl x509 -inform der -in root.cer -out root.pem)"}
	case errors.As(err, &he):
		res.Summary = "the certificate does not name " + host
		res.Fix = []string{"use the host name the certificate was issued for in exchange.ews_url, or add " + host + " to the certificate (Get-ExchangeCertificate | Format-List CertificateDomains)"}
	case errors.As(err, &ci):
		res.Summary = "the certificate is not valid: " + ci.Error()
		res.Fix = []string{"renew or replace the Exchange certificate (Get-ExchangeCertificate | Format-List Subject,NotAfter,Services; Enable-ExchangeCertificate -Services IIS)"}
	default:
		res.Summary = "TLS handshake failed"
		res.Fix = []string{"check that the port speaks TLS 1.2 or newer (Exchange: TLS 1.2 enabled in SCHANNEL)"}
	}
	return res
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAuthentication sends one authenticated request without
// impersonation and explains a rejection.
func (r *runner) checkAuthentication(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint.String(), bytes.NewReader(probeRequest(r.version())))
	if err != nil {
		return Result{Status: StatusFail, Summary: "cannot build the request", Details: []string{err.Error()}}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("User-Agent", "calsync-check")
	resp, err := r.http.Do(req)
	if err != nil {
		var te *ewsclient.TokenError
		if errors.As(err, &te) {
			return Result{Status: StatusFail, Summary: "no OAuth token", Details: []string{redactError(err)},
				Fix: []string{"check exchange.auth.oauth2.token_url, client_id and client_secret_env/client_secret_file"}}
		}
		return Result{Status: StatusFail, Summary: "request failed", Details: []string{redactError(err)}}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return r.unauthorized(resp)
	case resp.StatusCode == http.StatusForbidden:
		acct := psAccount(r.opts.Exchange.Auth.Username)
		return Result{Status: StatusFail, Summary: "HTTP 403: EWS refused the service account",
			Details: []string{"the credentials were accepted, but EWS is disabled for this account, this application, or the organisation"},
			Fix: []string{"Set-CASMailbox -Identity " + acct + " -EwsEnabled $true",
				"Get-OrganizationConfig | Format-List EwsEnabled, EwsApplicationAccessPolicy, EwsAllowList, EwsBlockList"}}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if lu, err := url.Parse(loc); err == nil {
			loc = lu.Redacted()
		}
		return Result{Status: StatusFail, Summary: fmt.Sprintf("HTTP %d redirect to %s", resp.StatusCode, loc),
			Details: []string{"a reverse proxy with forms-based pre-authentication, or an error page of an overloaded server, sits in front of EWS"},
			Fix:     []string{"publish /EWS/ with pass-through authentication on the reverse proxy, or point exchange.ews_url at the Exchange server directly"}}
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError:
		return Result{Status: StatusFail, Summary: fmt.Sprintf("HTTP %d from the EWS endpoint", resp.StatusCode),
			Fix: []string{"check the Exchange server's health (Test-ServiceHealth; the MSExchangeServicesAppPool application pool) and any load balancer in front of it"}}
	}
	if readErr != nil {
		return Result{Status: StatusFail, Summary: "the response ended early", Details: []string{readErr.Error()}}
	}
	var env probeEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return Result{Status: StatusFail, Summary: fmt.Sprintf("HTTP %d without a SOAP answer: is this an EWS endpoint?", resp.StatusCode),
			Details: []string{"parse: " + err.Error()},
			Fix:     []string{"exchange.ews_url must be the EWS endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx"}}
	}
	r.probe.done = true
	if v := env.Header.Version; v != nil {
		r.probe.version = &ews.ServerVersionInfo{MajorVersion: v.Major, MinorVersion: v.Minor, MajorBuildNumber: v.MajorBuild, MinorBuildNumber: v.MinorBuild, Version: v.Version}
	}
	if f := env.Body.Fault; f != nil {
		r.probe.faultCode = f.Detail.ResponseCode
		if r.probe.faultCode == "" {
			_, local, _ := strings.Cut(f.Code, ":")
			if local == "" {
				local = f.Code
			}
			r.probe.faultCode = local
		}
		r.probe.faultText = f.String
	}
	res := Result{Status: StatusOK, Summary: fmt.Sprintf("%s accepted (%s)", r.opts.Exchange.Auth.Username, r.opts.Exchange.Auth.Method)}
	if r.opts.Exchange.Auth.Username == "" {
		res.Summary = fmt.Sprintf("accepted (%s)", r.opts.Exchange.Auth.Method)
	}
	if r.opts.Exchange.Auth.Method == config.AuthBasic && r.endpoint.Scheme != "https" && !isLoopback(r.endpoint.Hostname()) {
		res.Status = StatusWarn
		res.Details = []string{"Basic authentication over plain http sends the password readable on the network"}
		res.Fix = []string{"use https in exchange.ews_url, or exchange.auth.method: ntlm"}
	}
	return res
}

// unauthorized explains a 401: the method is not enabled on the EWS
// virtual directory, or the credentials are wrong or the account locked.
func (r *runner) unauthorized(resp *http.Response) Result {
	var offered []string
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if scheme != "" {
			offered = append(offered, scheme)
		}
	}
	want := map[config.AuthMethod][]string{config.AuthBasic: {"Basic"}, config.AuthNTLM: {"NTLM", "Negotiate"}, config.AuthOAuth2: {"Bearer"}}[r.opts.Exchange.Auth.Method]
	enabled := len(offered) == 0 // no challenge: cannot tell, assume enabled
	for _, o := range offered {
		for _, w := range want {
			if strings.EqualFold(o, w) {
				enabled = true
			}
		}
	}
	details := []string{}
	if len(offered) > 0 {
		details = append(details, "the server offers: "+strings.Join(offered, ", "))
	}
	vdir := "Get-WebServicesVirtualDirectory | Format-List Server, Name, *Authentication*"
	if !enabled {
		param := map[config.AuthMethod]string{config.AuthBasic: "-BasicAuthentication $true", config.AuthNTLM: "-WindowsAuthentication $true", config.AuthOAuth2: "-OAuthAuthentication $true"}[r.opts.Exchange.Auth.Method]
		return Result{Status: StatusFail, Summary: fmt.Sprintf("HTTP 401: %s authentication is not enabled on the EWS virtual directory", r.opts.Exchange.Auth.Method),
			Details: details,
			Fix: []string{vdir,
				`Get-WebServicesVirtualDirectory -Server <SERVER> | Set-WebServicesVirtualDirectory ` + param,
				"or set exchange.auth.method to one the server offers (" + strings.ToLower(strings.Join(offered, ", ")) + ")"}}
	}
	if r.opts.Exchange.Auth.Method == config.AuthOAuth2 {
		return Result{Status: StatusFail, Summary: "HTTP 401: the OAuth token was rejected", Details: details,
			Fix: []string{"check the app registration (full_access_as_app with admin consent) and exchange.auth.oauth2.scopes (https://outlook.office365.com/.default for Exchange Online)",
				"on premises: Get-AuthServer | Format-List Name, Enabled; " + vdir}}
	}
	details = append(details, "the server offers "+string(r.opts.Exchange.Auth.Method)+" but rejected "+r.opts.Exchange.Auth.Username+": wrong password, account locked, disabled or expired, or the user name form (DOMAIN\\user or user@domain)")
	return Result{Status: StatusFail, Summary: "HTTP 401: the service account's credentials were rejected", Details: details,
		Fix: []string{"check exchange.auth.username and the password behind exchange.auth.password_env / password_file",
			adUserCheck(r.opts.Exchange.Auth.Username),
			adUserPipe(r.opts.Exchange.Auth.Username) + " | Unlock-ADAccount   # if LockedOut is True",
			vdir}}
}

// redactError drops URLs (which may carry tokens) from err's text.
func redactError(err error) string {
	return unwrapURLError(err).Error()
}
