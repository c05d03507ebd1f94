package engine

import "testing"

// TestLoadLocationIsShared: workers in the same zone share one location
// (a copy per worker was a quarter of the live heap), and unknown names
// stay errors.
func TestLoadLocationIsShared(t *testing.T) {
	a, err := loadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("loadLocation(Europe/Berlin) error = %v", err)
	}
	b, err := loadLocation("Europe/Berlin")
	if err != nil || a != b {
		t.Errorf("second loadLocation(Europe/Berlin) = %p, %v; want the same location %p", b, err, a)
	}
	if _, err := loadLocation("Not/AZone"); err == nil {
		t.Errorf("loadLocation(Not/AZone) error = nil, want an error")
	}
	if name, _ := knownZone("Europe/Berlin", nil); name != "Europe/Berlin" {
		t.Errorf("knownZone(Europe/Berlin) = %q", name)
	}
}
