package ewswire

import (
	"bytes"
	"encoding/xml"
	"testing"
)

func TestNSCompactorSplitWrites(t *testing.T) {
	in := []byte(`<GetItem xmlns="M"><ItemShape xmlns="M"><BaseShape xmlns="T">IdOnly</BaseShape></ItemShape><ItemIds xmlns="M"><ItemId xmlns="T" Id="a&gt;b"></ItemId></ItemIds><X>t</X></GetItem>`)
	want := `<GetItem xmlns="M"><ItemShape><BaseShape xmlns="T">IdOnly</BaseShape></ItemShape><ItemIds><ItemId xmlns="T" Id="a&gt;b"></ItemId></ItemIds><X>t</X></GetItem>`
	for _, chunk := range []int{1, 2, 7, len(in)} {
		var out bytes.Buffer
		o := getCompactWriter(&out)
		c := &o.c
		for i := 0; i < len(in); i += chunk {
			end := min(i+chunk, len(in))
			if n, err := c.Write(in[i:end]); err != nil || n != end-i {
				t.Fatalf("Write() = %d, %v", n, err)
			}
		}
		if out.String() != want {
			t.Fatalf("chunk %d: got\n%s\nwant\n%s", chunk, out.String(), want)
		}
		// Same element names and namespaces as the input.
		var a, b struct {
			XMLName xml.Name
			Inner   []byte `xml:",innerxml"`
		}
		if xml.Unmarshal(in, &a) != nil || xml.Unmarshal(out.Bytes(), &b) != nil || a.XMLName != b.XMLName {
			t.Fatal("compacted output is not equivalent XML")
		}
		putCompactWriter(o)
	}
}

// TestNSCompactorReset: a pooled compactor left inside a tag with open
// namespaces (an encoding that failed halfway) starts clean after reset.
func TestNSCompactorReset(t *testing.T) {
	var first, out bytes.Buffer
	c := &nsCompactor{w: &first}
	if _, err := c.Write([]byte(`<A xmlns="M"><B xmlns="T"><C xmlns="M" x="`)); err != nil {
		t.Fatal(err)
	}
	c.reset(&out)
	if _, err := c.Write([]byte(`<A xmlns="M"><B xmlns="M">x</B></A>`)); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), `<A xmlns="M"><B>x</B></A>`; got != want {
		t.Fatalf("after reset: got %s, want %s", got, want)
	}
}
