package ewswire_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// compareUserSettings is compareFast for the Autodiscover GetUserSettings
// token decoder.
func compareUserSettings(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	return compareFast[ewswire.GetUserSettingsResponseMessage](t, name, data, lim, ewswire.DecodeUserSettingsFast)
}

// exchangeUserSettings is a GetUserSettings answer in the form Exchange
// writes it (WCF): an a:Action header with s:mustUnderstand, a
// ServerVersionInfo header in the Autodiscover namespace (unknown to
// calsync), i:nil and i:type attributes, a setting whose value is not a
// string (skipped, as encoding/xml skips it) and one user answered with
// an error.
const exchangeUserSettings = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>
    <h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
      <h:MajorVersion>15</h:MajorVersion>
      <h:MinorVersion>2</h:MinorVersion>
      <h:MajorBuildNumber>1544</h:MajorBuildNumber>
      <h:MinorBuildNumber>4</h:MinorBuildNumber>
      <h:Version>Exchange2015</h:Version>
    </h:ServerVersionInfo>
  </s:Header>
  <s:Body>
    <GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">
      <Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <ErrorCode>NoError</ErrorCode>
        <ErrorMessage />
        <UserResponses>
          <UserResponse>
            <ErrorCode>NoError</ErrorCode>
            <ErrorMessage>No error.</ErrorMessage>
            <RedirectTarget i:nil="true" />
            <UserSettingErrors />
            <UserSettings>
              <UserSetting i:type="StringSetting">
                <Name>InternalEwsUrl</Name>
                <Value>https://mail.contoso.com/EWS/Exchange.asmx</Value>
              </UserSetting>
              <UserSetting i:type="StringSetting">
                <Name>GroupingInformation</Name>
                <Value>CONTOSO-DAG01</Value>
              </UserSetting>
              <UserSetting i:type="WebClientUrlCollectionSetting">
                <Name>ExternalWebClientUrls</Name>
                <WebClientUrls>
                  <WebClientUrl>
                    <AuthenticationMethods>Fba</AuthenticationMethods>
                    <Url>https://mail.contoso.com/owa/</Url>
                  </WebClientUrl>
                </WebClientUrls>
              </UserSetting>
            </UserSettings>
          </UserResponse>
          <UserResponse>
            <ErrorCode>InvalidUser</ErrorCode>
            <ErrorMessage>Invalid user: 'nobody@contoso.com'</ErrorMessage>
            <RedirectTarget i:nil="true" />
            <UserSettingErrors>
              <UserSettingError>
                <ErrorCode>InvalidSetting</ErrorCode>
                <ErrorMessage>The requested setting is invalid.</ErrorMessage>
                <SettingName>CasVersion</SettingName>
              </UserSettingError>
            </UserSettingErrors>
            <UserSettings />
          </UserResponse>
        </UserResponses>
      </Response>
    </GetUserSettingsResponseMessage>
  </s:Body>
</s:Envelope>`

// TestFastUserSettingsExchangeForm: Exchange's form of the answer takes
// the fast path and decodes as encoding/xml decodes it, the i:type
// attribute and the unknown header included.
func TestFastUserSettingsExchangeForm(t *testing.T) {
	data := []byte(exchangeUserSettings)
	if !compareUserSettings(t, "exchange form", data, ewswire.DefaultLimits) {
		t.Fatal("the token decoder declined Exchange's form of the answer")
	}
	env, err := ewswire.DecodeUserSettingsFast(data, ewswire.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	resp := env.Body.(*ewswire.GetUserSettingsResponseMessage)
	users := resp.Response.UserResponses.UserResponse
	if len(users) != 2 || users[0].UserSettings.UserSetting[0].Type != "StringSetting" || users[0].Settings()["GroupingInformation"] != "CONTOSO-DAG01" {
		t.Fatalf("decoded %+v", resp.Response)
	}
	if want := (xml.Name{Space: ewswire.NSAutodiscover, Local: "ServerVersionInfo"}); len(env.Header.Unknown) != 1 || env.Header.Unknown[0] != want {
		t.Fatalf("unknown headers %v, want %v", env.Header.Unknown, want)
	}
	// The same answer read as a client reads it.
	var out ewswire.GetUserSettingsResponseMessage
	got, err := ewswire.DecodeResponse(bytes.NewReader(data), ewswire.DefaultLimits, &out)
	if err != nil || got.Body != &out || out.Response.UserResponses.UserResponse[1].ErrorCode != "InvalidUser" {
		t.Fatalf("DecodeResponse: %v %+v", err, out.Response)
	}
}

// settingsTexts hold characters to escape, non-ASCII text and white space
// around values (Settings trims them, the wire structs keep them).
var settingsTexts = []string{"", "https://mail.contoso.com/EWS/Exchange.asmx", "CONTOSO-DAG01", `a&b<c>"d'e`, "Ünïcødé ✓ 𝄞", " 15.2.1544.4 ", "line\nbreak",
	strings.Repeat("long value ", 12)}

// encodeUserSettings writes a GetUserSettings answer of 1–90 users as the
// simulator does: users answered, redirected or unknown, settings with
// and without a type, setting errors, a request-level error; the
// addressing and version headers in every combination.
func encodeUserSettings(tb testing.TB, rng *rand.Rand) []byte {
	pick := func() string { return settingsTexts[rng.Intn(len(settingsTexts))] }
	r := &ewswire.GetUserSettingsResponseMessage{}
	r.Response.ErrorCode = "NoError"
	if rng.Intn(8) == 0 {
		r.Response.ErrorCode, r.Response.ErrorMessage = "InvalidRequest", pick()
	}
	for range 1 + rng.Intn(90) {
		u := ewswire.UserResponse{ErrorCode: "NoError", ErrorMessage: "No error."}
		switch rng.Intn(6) {
		case 0:
			u.ErrorCode, u.ErrorMessage = "InvalidUser", pick()
		case 1:
			u.ErrorCode, u.RedirectTarget = "RedirectAddress", pick()
		}
		names := []string{"InternalEwsUrl", "ExternalEwsUrl", "GroupingInformation", "CasVersion", "UserDisplayName"}[:rng.Intn(6)]
		for _, n := range names {
			s := ewswire.UserSetting{Name: n, Value: pick()}
			if rng.Intn(4) != 0 {
				s.Type = "StringSetting"
			}
			u.UserSettings.UserSetting = append(u.UserSettings.UserSetting, s)
		}
		if rng.Intn(5) == 0 {
			u.UserSettingErrors.UserSettingError = append(u.UserSettingErrors.UserSettingError,
				ewswire.UserSettingError{ErrorCode: "InvalidSetting", ErrorMessage: pick(), SettingName: pick()})
		}
		r.Response.UserResponses.UserResponse = append(r.Response.UserResponses.UserResponse, u)
	}
	h := &ewswire.Header{}
	if rng.Intn(4) != 0 {
		h.Action = &ewswire.AddressingHeader{XMLName: xml.Name{Space: ewswire.NSAddressing, Local: "Action"}, Value: ewswire.AutodiscoverActionGetUserSettings + "Response"}
	}
	if rng.Intn(3) == 0 {
		h.To = &ewswire.AddressingHeader{XMLName: xml.Name{Space: ewswire.NSAddressing, Local: "To"}, Value: pick()}
	}
	if rng.Intn(3) == 0 {
		h.AutodiscoverVersion = &ewswire.AutodiscoverRequestedServerVersion{Value: "Exchange2013"}
	}
	if rng.Intn(3) == 0 {
		h.ServerVersionInfo = &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 2, MajorBuildNumber: 1544, MinorBuildNumber: rng.Intn(50)}
	}
	b, err := ewswire.Marshal(h, r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// autodiscoverForms write an Autodiscover answer as other servers may:
// Exchange's prefixes, the Autodiscover namespace prefixed and the types
// namespace as default, SOAP as default; with comments, CDATA, character
// references and CRLF.
var autodiscoverForms = []func(testing.TB, []byte) []byte{
	func(_ testing.TB, b []byte) []byte { return b },
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "s", ewswire.NSAddressing: "a", ewswire.NSAutodiscover: "", ewswire.NSXSI: "i", ewswire.NSTypes: "t"}, false)
	},
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "soap", ewswire.NSAddressing: "wsa", ewswire.NSAutodiscover: "ad", ewswire.NSXSI: "xsi", ewswire.NSTypes: ""}, true)
	},
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "", ewswire.NSAddressing: "y", ewswire.NSAutodiscover: "x", ewswire.NSXSI: "z", ewswire.NSTypes: "t"}, true)
	},
}

// TestFastUserSettingsGenerated compares both decoders on 60 generated
// answers, each in every form; the token decoder must answer all of them.
func TestFastUserSettingsGenerated(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	types := 0
	for i := 0; i < 60; i++ {
		data := encodeUserSettings(t, rng)
		for v, form := range autodiscoverForms {
			name := fmt.Sprintf("response %d form %d", i, v)
			out := form(t, data)
			if !compareUserSettings(t, name, out, ewswire.DefaultLimits) {
				t.Fatalf("%s: the token decoder declined a GetUserSettings answer\n%.3000s", name, out)
			}
			env, _ := ewswire.DecodeUserSettingsFast(out, ewswire.DefaultLimits)
			for _, u := range env.Body.(*ewswire.GetUserSettingsResponseMessage).Response.UserResponses.UserResponse {
				for _, s := range u.UserSettings.UserSetting {
					if s.Type != "" {
						types++
					}
				}
			}
		}
	}
	if types == 0 {
		t.Fatal("no setting kept its i:type: the forms lost the attribute's namespace")
	}
}

// TestFastUserSettingsDeclines: shapes left to encoding/xml and hostile
// input end in an error of the token decoder, never a panic or a wrong
// answer; elements it does not know are skipped as encoding/xml skips them.
func TestFastUserSettingsDeclines(t *testing.T) {
	good := []byte(exchangeUserSettings)
	cases := map[string][]byte{
		"truncated":        good[:len(good)/2],
		"fault":            []byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>no</faultstring></s:Fault></s:Body></s:Envelope>`),
		"repeated code":    bytes.Replace(good, []byte("<ErrorCode>NoError</ErrorCode>"), []byte("<ErrorCode>A</ErrorCode><ErrorCode>NoError</ErrorCode>"), 1),
		"repeated action":  bytes.Replace(good, []byte("<a:Action "), []byte("<a:Action>x</a:Action><a:Action "), 1),
		"request header":   bytes.Replace(good, []byte("<s:Header>"), []byte(`<s:Header><t:RequestServerVersion xmlns:t="`+ewswire.NSTypes+`" Version="Exchange2013"/>`), 1),
		"unnamed header":   bytes.Replace(good, []byte("<s:Header>"), []byte(`<s:Header><X xmlns="urn:x"/>`), 1),
		"other body":       bytes.ReplaceAll(good, []byte("GetUserSettingsResponseMessage"), []byte("GetDomainSettingsResponseMessage")),
		"other namespace":  bytes.Replace(good, []byte(`<GetUserSettingsResponseMessage xmlns="`+ewswire.NSAutodiscover+`"`), []byte(`<GetUserSettingsResponseMessage xmlns="urn:other"`), 1),
		"doctype":          append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), good...),
		"bad utf8":         bytes.Replace(good, []byte("<Value>"), []byte("<Value>\xff"), 1),
		"NUL reference":    bytes.Replace(good, []byte("<Value>"), []byte("<Value>&#0;"), 1),
		"unknown entity":   bytes.Replace(good, []byte("<Value>"), []byte("<Value>&bogus;"), 1),
		"mismatched end":   bytes.Replace(good, []byte("</Name>"), []byte("</Value>"), 1),
		"deep":             bytes.Replace(good, []byte("<Value>"), []byte("<Value>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), 1),
		"repeated setting": bytes.Replace(good, []byte("<UserSettings>"), []byte("<UserSettings></UserSettings><UserSettings>"), 1),
	}
	checkDeclines(t, good, cases, ewswire.DecodeUserSettingsFast, compareUserSettings)
	// Unknown elements, elements of other namespaces, an unprefixed or
	// unbound type attribute (in no namespace or another one: not the
	// setting's type) are read as encoding/xml reads them.
	for name, data := range map[string][]byte{
		"unknown elements": bytes.Replace(good, []byte("<Name>"), []byte(`<Note>n</Note><t:Name xmlns:t="`+ewswire.NSTypes+`">other</t:Name><Name>`), 1),
		"plain type":       bytes.Replace(good, []byte(`i:type="StringSetting"`), []byte(`type="X"`), 1),
		"other type":       bytes.Replace(good, []byte(`i:type="StringSetting"`), []byte(`q:type="X" xmlns:q="urn:q"`), 1),
		"rebound prefix":   bytes.Replace(good, []byte(`<UserSetting i:type="StringSetting">`), []byte(`<UserSetting xmlns:i="urn:not-xsi" i:type="X">`), 1),
	} {
		if !compareUserSettings(t, name, data, ewswire.DefaultLimits) {
			t.Errorf("%s: declined\n%s", name, data)
		}
	}
}
