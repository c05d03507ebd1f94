package hybrid

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// Autodiscover v2 (graph-facts §6): the unauthenticated JSON answer
// Exchange Online gives for where a mailbox's protocol endpoint is,
//
//	GET /autodiscover/autodiscover.json?Email=<smtp>&Protocol=EWS|REST|ActiveSync|AutodiscoverV1
//	GET /autodiscover/autodiscover.json/v1.0/<smtp>?Protocol=…
//
// → {"Protocol":"EWS","Url":"https://…/EWS/Exchange.asmx"}. A cloud
// mailbox's URLs are Exchange Online's (host outlook.office365.com, the
// community's rule for "in the cloud"); an on-premises mailbox's are the
// simulator's own. Not formally documented by Microsoft (graph-facts marks
// it unsure); the error answer follows the clones [S69].

const autodiscoverJSON = "/autodiscover/autodiscover.json"

type autodiscoverAnswer struct {
	Protocol string `json:"Protocol"`
	URL      string `json:"Url"`
}

type autodiscoverError struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func (s *Simulator) serveAutodiscoverJSON(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	email := firstOf(q["Email"], q["email"])
	if rest, ok := strings.CutPrefix(r.URL.Path, autodiscoverJSON+"/v1.0/"); ok && rest != "" {
		email = rest
	}
	protocol := firstOf(q["Protocol"], q["protocol"])
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(autodiscoverError{ErrorCode: code, ErrorMessage: msg})
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "InvalidRequest", "Autodiscover v2 answers GET only.")
		return
	}
	if email == "" || !strings.Contains(email, "@") {
		fail(http.StatusBadRequest, "InvalidUser", "An Email query parameter (or /v1.0/<address>) with an SMTP address is required.")
		return
	}
	where, _, err := s.Hosting(email)
	if err != nil {
		fail(http.StatusNotFound, "InvalidUser", "No mailbox is associated with the address.")
		return
	}
	cloud := where == ewsmem.Cloud
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	var url string
	switch strings.ToLower(protocol) {
	case "ews":
		url = base + "/EWS/Exchange.asmx"
		if cloud {
			url = "https://outlook.office365.com/EWS/Exchange.asmx"
		}
	case "rest":
		// Outlook REST lives in Exchange Online only (hybrid REST for
		// on-premises mailboxes ended in 2023).
		url = "https://outlook.office.com/api"
	case "activesync":
		url = base + "/Microsoft-Server-ActiveSync"
		if cloud {
			url = "https://outlook.office365.com/Microsoft-Server-ActiveSync"
		}
	case "autodiscoverv1":
		url = base + "/autodiscover/autodiscover.xml"
		if cloud {
			url = "https://outlook.office365.com/autodiscover/autodiscover.xml"
		}
	default:
		fail(http.StatusBadRequest, "InvalidProtocol", "The given protocol value '"+clipped(protocol)+"' is invalid. Supported values are 'rest,activesync,ews,autodiscoverv1'")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(autodiscoverAnswer{Protocol: protocol, URL: url})
}

func firstOf(lists ...[]string) string {
	for _, l := range lists {
		if len(l) > 0 && l[0] != "" {
			return l[0]
		}
	}
	return ""
}

func clipped(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
