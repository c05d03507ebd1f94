package ewsserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/internal/ewsschema"
)

func TestSchemaViolationIsFaultWithPosition(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, nil)
	for _, tc := range []struct {
		name, body string
		line, pos  string
	}{
		// Broken XML: where the decoder stopped (line 2 of the request).
		{"syntax", "<m:GetFolder>\n<m:FolderShape></m:Folder></m:GetFolder>", "2", "27"},
		// A value outside the schema's range: at the operation element.
		{"range", `<m:ConvertId DestinationFormat="Bogus"><m:SourceIds><t:AlternateId Format="EwsId" Id="x" Mailbox="a@b"/></m:SourceIds></m:ConvertId>`, "1", "319"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv, tc.body)
			if resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("HTTP %d, want 500", resp.StatusCode)
			}
			for _, want := range []string{">a:ErrorSchemaValidation</faultcode>", "<faultstring xml:lang=\"en-US\">The request failed schema validation: ",
				">ErrorSchemaValidation</e:ResponseCode>", ">The request failed schema validation.</e:Message>",
				">" + tc.line + "</LineNumber>", ">" + tc.pos + "</LinePosition>", "</Violation>"} {
				if !strings.Contains(body, want) {
					t.Errorf("fault lacks %s:\n%s", want, body)
				}
			}
			if strings.Contains(body, "syntax error on line") {
				t.Errorf("violation repeats encoding/xml's line, which counts from the body:\n%s", body)
			}
			ewsschema.Validate(t, "schema-fault-"+tc.name, []byte(body))
		})
	}
	if f := ewsserver.SchemaFault("x"); f.MessageXml["Violation"] != "x" || f.FaultString != "The request failed schema validation: x" {
		t.Errorf("SchemaFault = %+v", f)
	}
}
