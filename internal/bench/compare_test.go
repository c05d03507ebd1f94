package bench

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

// requireExchangelib returns the Python interpreter that has exchangelib.
func requireExchangelib(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Missing(t, py, "apt-get install -y python3 python3-exchangelib")
	}
	if err := exec.Command(py, "-c", "import exchangelib").Run(); err != nil {
		testenv.Missing(t, "python3-exchangelib", "apt-get install -y python3-exchangelib")
	}
	return py
}

// TestRunSmallCompareExchangelib: the comparison runs end to end — exchangelib
// views and streams every mailbox of the same simulator with no error, each
// side's requests are counted apart and its costs measured.
func TestRunSmallCompareExchangelib(t *testing.T) {
	py := requireExchangelib(t)
	r := runSmall(t, Config{Compare: CompareExchangelib, Python: py, Budget: CompareBudget(4)})
	c := r.Compare
	if c == nil {
		t.Fatal("Run(compare) reported no comparison")
	}
	o := c.Other
	if o.Subscriptions != 40 || o.Requests["Subscribe"] != 40 || o.Requests["GetStreamingEvents"] < 2 {
		t.Errorf("exchangelib side = %+v, want 40 subscriptions on streams over both servers", o)
	}
	if o.Requests["FindItem"] < 40 || o.Items == 0 {
		t.Errorf("exchangelib side: FindItem %d, %d occurrences; want every mailbox viewed", o.Requests["FindItem"], o.Items)
	}
	if c.Requests["Subscribe"] != 40 || c.Requests["FindItem"] != 40 {
		t.Errorf("calsync side requests %v, want one Subscribe and one FindItem per mailbox (the other client's not counted)", c.Requests)
	}
	if c.Wall <= 0 || c.CPU <= 0 || c.PeakRSS <= 0 || o.Wall <= 0 || o.CPU <= 0 || o.PeakRSS <= 0 || c.Concurrency != 4 {
		t.Errorf("comparison %+v: want times, CPU and peak RSS measured on both sides at concurrency 4", c)
	}
	var out bytes.Buffer
	WriteTable(&out, []Result{r})
	t.Log("\n" + out.String())
	if !strings.Contains(out.String(), "vs exchangelib: client CPU of the job") {
		t.Errorf("table lacks the comparison:\n%s", out.String())
	}
}
