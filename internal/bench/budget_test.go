package bench

import "testing"

func TestBudgetIsTheDefaultConfigs(t *testing.T) {
	b, err := Budget("adaptive", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.RequestsPerSecond != 0 || b.Concurrency != 10 || b.PerServer != 8 || b.PerUser != 2 {
		t.Errorf("Budget(adaptive, 0) = %+v, want the default config's: adaptive, 10/8/2", b)
	}
	b, err = Budget("200", 4)
	if err != nil {
		t.Fatal(err)
	}
	if b.RequestsPerSecond != 200 || b.Concurrency != 4 || b.PerServer != 4 || b.PerUser != 2 {
		t.Errorf("Budget(200, 4) = %+v, want 200/s and 4/4/2", b)
	}
	for _, bad := range []string{"fast", "0", "-1"} {
		if _, err := Budget(bad, 0); err == nil {
			t.Errorf("Budget(%q) accepted", bad)
		}
	}
}
