package ewsexchange

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
)

// classify wraps an ewsclient error into *engine.ExchangeError so that the
// engine can pick its recovery. The client classifies, the engine decides.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	xe := &engine.ExchangeError{Code: "NetworkError", Err: fmt.Errorf("ewsexchange: %s: %w", op, err)}
	if d, ok := ews.RetryAfter(err); ok {
		xe.BackOff = d
	}
	if code, ok := ews.CodeOf(err); ok {
		xe.Code = string(code)
		var re *ews.ResponseError
		if errors.As(err, &re) && re.Code == "ErrorInternalServerError" && re.InnerCode() != "" {
			xe.Code = string(re.InnerCode())
		}
		var f *ews.SOAPFault
		if errors.As(err, &f) {
			xe.HTTPStatus = f.StatusCode
			if f.BackOff > 0 {
				xe.BackOff = f.BackOff
			}
		}
		if errors.As(err, &re) && re.BackOff > 0 {
			xe.BackOff = re.BackOff
		}
		return xe
	}
	var he *ews.HTTPError
	if errors.As(err, &he) {
		xe.HTTPStatus = he.StatusCode
		xe.Code = fmt.Sprintf("HTTP%d", he.StatusCode)
		if he.StatusCode == http.StatusFound || he.StatusCode == http.StatusMovedPermanently {
			xe.Code = "HTTP503" // redirect to the error page: a transient front-end fault
		}
		return xe
	}
	if errors.Is(err, context.DeadlineExceeded) {
		xe.Code = "Timeout"
	}
	if tlsConfigError(err) {
		xe.Code = "TLSCertificate"
	}
	return xe
}

// tlsConfigError reports whether err is a certificate Exchange presents
// that calsync does not trust (unknown authority, wrong host name, expired):
// a configuration problem, not a passing network fault.
func tlsConfigError(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}
