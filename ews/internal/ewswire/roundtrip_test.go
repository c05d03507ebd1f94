package ewswire_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

// samplePaths lists every file of testdata/ews-samples.
func samplePaths(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.ReferenceDir(t), "ews-samples", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	return files
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ReferenceDir(t), "ews-samples", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

// TestSamplesReencodeValid decodes every sample and encodes it again with
// the same codec; the output must validate against Microsoft's schema. This
// proves both directions of every wire struct the samples cover.
func TestSamplesReencodeValid(t *testing.T) {
	for _, path := range samplePaths(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			env, err := ewswire.DecodeEnvelope(bytes.NewReader(b), ewswire.DefaultLimits, ewswire.NewMessage)
			if err != nil {
				t.Fatalf("DecodeEnvelope() = %v", err)
			}
			var out bytes.Buffer
			if f := env.Fault(); f != nil {
				err = ewswire.EncodeFault(&out, f)
			} else {
				err = ewswire.EncodeEnvelope(&out, &env.Header, env.Body)
			}
			if err != nil {
				t.Fatalf("encode = %v", err)
			}
			ewsschema.Validate(t, strings.TrimSuffix(name, ".xml")+"-reencoded", out.Bytes())
			again, err := ewswire.DecodeEnvelope(bytes.NewReader(out.Bytes()), ewswire.DefaultLimits, ewswire.NewMessage)
			if err != nil {
				t.Fatalf("decode re-encoded = %v", err)
			}
			if again.BodyName != env.BodyName {
				t.Fatalf("body name = %v, want %v", again.BodyName, env.BodyName)
			}
		})
	}
}

func validate(t *testing.T, name string, b []byte) {
	t.Helper()
	ewsschema.Validate(t, name, b)
}
