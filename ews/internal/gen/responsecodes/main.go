// Command responsecodes generates ews/responsecode_generated.go from the
// ResponseCodeType enumeration of Microsoft's messages.xsd.
//
// It reads the schema from testdata/ews-schema in the repository root (the
// directory holding go.mod).
// Run it with `go generate ./ews` from the repository.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/calsync/calsync/ews/internal/gen/responsecodes/codegen"
)

func main() {
	out := flag.String("out", "responsecode_generated.go", "output file")
	xsd := flag.String("xsd", "", "path of messages.xsd (default: <repo>/testdata/ews-schema/messages.xsd)")
	flag.Parse()
	if err := run(*out, *xsd); err != nil {
		fmt.Fprintln(os.Stderr, "responsecodes:", err)
		os.Exit(1)
	}
}

func run(out, xsd string) error {
	if xsd == "" {
		schema, err := codegen.SchemaDir()
		if err != nil {
			return err
		}
		xsd = filepath.Join(schema, "messages.xsd")
	}
	schema, err := os.ReadFile(xsd)
	if err != nil {
		return err
	}
	src, err := codegen.Generate(schema)
	if err != nil {
		return fmt.Errorf("%s: %w", xsd, err)
	}
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, src) {
		return nil
	}
	return os.WriteFile(out, src, 0o644)
}
