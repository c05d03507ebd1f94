package graphclient

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as the SHA-1 thumbprint; it identifies, it does not protect
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// assertionLifetime is the exp-nbf span: Entra wants a short-lived
// assertion (5–10 min); each token request signs a new one.
const assertionLifetime = 5 * time.Minute

// clientAssertion signs the JWT that replaces the client secret
// (graph-facts §1): aud = token URL, iss = sub = client id, a fresh jti,
// nbf = iat = now, exp 5 min later; header alg PS256 (or RS256), typ JWT,
// x5t#S256 and x5t thumbprints of the certificate.
//
// These few lines replace a JWT library: calsync signs exactly one kind of
// token and verifies none (docs/DEPENDENCIES.md).
func clientAssertion(c Credentials, now time.Time) (string, error) {
	der := c.Certificate.Raw
	s256 := sha256.Sum256(der)
	s1 := sha1.Sum(der) //nolint:gosec // see import
	alg, hash := "PS256", crypto.SHA256
	if c.LegacyRS256 {
		alg = "RS256"
	}
	header := map[string]string{
		"alg":      alg,
		"typ":      "JWT",
		"x5t":      b64(s1[:]),
		"x5t#S256": b64(s256[:]),
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	jti[6] = jti[6]&0x0f | 0x40 // a version-4 GUID, as Entra expects for jti
	jti[8] = jti[8]&0x3f | 0x80
	h := hex.EncodeToString(jti)
	claims := map[string]any{
		"aud": c.TokenURL(),
		"iss": c.ClientID,
		"sub": c.ClientID,
		"jti": h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(hb) + "." + b64(cb)
	digest := sha256.Sum256([]byte(signing))
	var opts crypto.SignerOpts = hash
	if !c.LegacyRS256 {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash}
	}
	sig, err := c.Key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		return "", fmt.Errorf("graphclient: signing the client assertion: %w", err)
	}
	return signing + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
