package graphwire

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Form fields and values of the client-credentials token request.
const (
	GrantClientCredentials = "client_credentials"
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// DefaultScope asks for all consented application permissions.
	DefaultScope = "https://graph.microsoft.com/.default"
)

// TokenResponse is the token endpoint's success answer. No refresh token
// comes with client credentials.
type TokenResponse struct {
	TokenType    string  `json:"token_type"`
	ExpiresIn    Seconds `json:"expires_in"`
	ExtExpiresIn Seconds `json:"ext_expires_in,omitempty"`
	AccessToken  string  `json:"access_token"`
}

// Seconds is a lifetime in seconds; the v2 endpoint sends a number, the
// v1 endpoint a string ("3599"), both are read.
type Seconds int64

// UnmarshalJSON accepts 3599 and "3599".
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var n json.Number
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		n = json.Number(str)
	} else if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return fmt.Errorf("seconds %q is not an integer", string(n))
	}
	*s = Seconds(v)
	return nil
}
