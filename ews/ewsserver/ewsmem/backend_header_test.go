package ewsmem_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// X-BEServer names the mailbox server of the anchor mailbox, as the front
// end that proxied the request reports it.
func TestBackEndServerHeaderNamesTheAnchorsServer(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	for _, user := range []string{"user1@example.com", "user2@example.com"} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(envelope("Exchange2016", user,
			`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`)))
		req.SetBasicAuth(e.sim.ServiceAccount(), "password")
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("X-AnchorMailbox", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		server, err := e.sim.MailboxServer(user)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ToUpper(strings.Split(server, ".")[0])
		if got := resp.Header.Get("X-BEServer"); got != want || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: HTTP %d, X-BEServer = %q, want %q", user, resp.StatusCode, got, want)
		}
	}
}
