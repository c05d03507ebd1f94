package bench

import (
	"bytes"
	"fmt"
	"testing"
)

func TestTable(t *testing.T) {
	var b bytes.Buffer
	row := table(&b, "metric", []int{10, 20}, func(n int) string { return fmt.Sprintf("%d mailboxes", n) })
	row("double", func(n int) string { return fmt.Sprint(2 * n) })
	want := "| metric | 10 mailboxes | 20 mailboxes |\n|---|---|---|\n| double | 20 | 40 |\n"
	if b.String() != want {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}
}
