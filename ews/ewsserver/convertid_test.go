package ewsserver_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/internal/ewsschema"
)

var alternateIDRE = regexp.MustCompile(`<AlternateId [^>]*Format="(\w+)" Id="([^"]*)" Mailbox="([^"]*)"`)

// convert asks the server to convert id from one format to another and
// returns the converted id, or the response code when it failed. The first
// answer of each kind is checked against the schema.
func convert(t *testing.T, srv interface{ Client() *http.Client }, url, from, to, id string) (string, string) {
	t.Helper()
	resp, err := srv.Client().Post(url+"/EWS/Exchange.asmx", "text/xml; charset=utf-8", strings.NewReader(soapRequest(
		`<m:ConvertId DestinationFormat="`+to+`"><m:SourceIds><t:AlternateId Format="`+from+`" Id="`+id+`" Mailbox="user1@example.com"/></m:SourceIds></m:ConvertId>`)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	body := b.String()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<ServerVersionInfo ") {
		t.Fatalf("ConvertId: HTTP %d without ServerVersionInfo:\n%s", resp.StatusCode, body)
	}
	if from == "EwsId" && to == "EntryId" {
		ewsschema.Validate(t, "ConvertIdResponse", []byte(body))
	}
	if m := alternateIDRE.FindStringSubmatch(body); m != nil {
		if m[1] != to || m[3] != "user1@example.com" {
			t.Errorf("converted id = %q", m[0])
		}
		return m[2], ""
	}
	code := regexp.MustCompile(`<ResponseCode>(\w+)</ResponseCode>`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no AlternateId and no ResponseCode:\n%s", body)
	}
	return "", code[1]
}

func TestConvertIdRoundTripsEveryFormat(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, nil)
	ewsID := ewsserver.EncodeEwsID("I:3:17")
	for _, format := range []string{"EwsId", "EwsLegacyId", "EntryId", "HexEntryId", "StoreId", "OwaId"} {
		other, code := convert(t, srv, srv.URL, "EwsId", format, ewsID)
		if code != "" || other == "" {
			t.Fatalf("EwsId → %s: code %s", format, code)
		}
		back, code := convert(t, srv, srv.URL, format, "EwsId", other)
		if code != "" || back != ewsID {
			t.Errorf("%s %q → EwsId = %q (code %s), want %q", format, other, back, code, ewsID)
		}
	}
	if entry, ok := ewsserver.DecodeEwsID(ewsID); !ok || entry != "I:3:17" {
		t.Errorf("DecodeEwsID = %q, %v", entry, ok)
	}
}

// exchangelib's version detection converts the id "DUMMY": the answer must
// be a per-id error in a normal response with ServerVersionInfo, never a
// fault or ErrorInvalidRequest.
func TestConvertIdMalformedIdIsAResponseMessage(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, nil)
	if _, code := convert(t, srv, srv.URL, "EwsId", "EntryId", "DUMMY"); code != "ErrorInvalidIdMalformed" {
		t.Fatalf("code = %s, want ErrorInvalidIdMalformed", code)
	}
}

func TestUnimplementedOperationIsNeverErrorInvalidRequest(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, nil)
	resp, body := post(t, srv, `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>a</m:UnresolvedEntry></m:ResolveNames>`)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "ErrorInvalidRequest") || !strings.Contains(body, "<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">ErrorInvalidOperation</e:ResponseCode>") {
		t.Fatalf("unimplemented operation: HTTP %d\n%s", resp.StatusCode, body)
	}
	// A backend without notifications.
	h, err := ewsserver.NewHandler(onlyItems{&fakeBackend{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := newFakeServerHandler(t, h)
	_, body = post(t, srv2, `<m:Unsubscribe><m:SubscriptionId>x</m:SubscriptionId></m:Unsubscribe>`)
	if strings.Contains(body, "ErrorInvalidRequest") || !strings.Contains(body, "ErrorInvalidOperation") || !strings.Contains(body, "<ServerVersionInfo ") {
		t.Fatalf("operation of a missing backend interface:\n%s", body)
	}
}

// onlyItems hides the optional interfaces of a backend.
type onlyItems struct{ ewsserver.Backend }
