package ews_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/gen/responsecodes/codegen"
	"github.com/calsync/calsync/internal/testenv"
)

// TestGeneratedResponseCodesCurrent regenerates responsecode_generated.go in
// memory and fails when the committed file differs (run `go generate ./ews`).
func TestGeneratedResponseCodesCurrent(t *testing.T) {
	schema, err := os.ReadFile(filepath.Join(testenv.ReferenceDir(t), "ews-schema", "messages.xsd"))
	if err != nil {
		t.Fatalf("read messages.xsd: %v", err)
	}
	want, err := codegen.Generate(schema)
	if err != nil {
		t.Fatalf("Generate() = %v", err)
	}
	got, err := os.ReadFile("responsecode_generated.go")
	if err != nil {
		t.Fatalf("read committed file: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("responsecode_generated.go is stale: run `go generate ./ews` and commit the result")
	}
	if !bytes.HasPrefix(got, []byte("// Code generated ")) || !bytes.Contains(got[:200], []byte("DO NOT EDIT.")) {
		t.Fatal("generated file lacks the standard header")
	}
}

func TestResponseCodesFromSchema(t *testing.T) {
	schema := []byte("\xef\xbb\xbf" + `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
<xs:simpleType name="Other"><xs:restriction base="xs:string"><xs:enumeration value="Nope"/></xs:restriction></xs:simpleType>
<xs:simpleType name="ResponseCodeType"><xs:annotation><xs:documentation>x</xs:documentation></xs:annotation>
<xs:restriction base="xs:string"><xs:enumeration value="NoError"/><xs:enumeration value="ErrorA"/><xs:enumeration value="ErrorA"/></xs:restriction></xs:simpleType>
</xs:schema>`)
	codes, err := codegen.ResponseCodes(schema)
	if err != nil {
		t.Fatalf("ResponseCodes() = %v", err)
	}
	if len(codes) != 2 || codes[0] != "NoError" || codes[1] != "ErrorA" {
		t.Fatalf("ResponseCodes() = %v, want [NoError ErrorA]", codes)
	}
	if _, err := codegen.ResponseCodes([]byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>`)); err == nil {
		t.Fatal("ResponseCodes(no enumeration) = nil error")
	}
	bad := []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:simpleType name="ResponseCodeType"><xs:restriction><xs:enumeration value="NoError"/><xs:enumeration value="bad code"/></xs:restriction></xs:simpleType></xs:schema>`)
	if _, err := codegen.ResponseCodes(bad); err == nil {
		t.Fatal("ResponseCodes(invalid identifier) = nil error")
	}
	if !ews.ErrorServerBusy.Known() || ews.ResponseCode("ErrorFromTheFuture").Known() {
		t.Fatal("Known() wrong")
	}
}
