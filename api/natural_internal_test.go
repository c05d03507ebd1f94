package api

import (
	"slices"
	"testing"
)

func TestNaturalCompareSortsAddressesAsPeopleRead(t *testing.T) {
	got := []string{"user10@example.com", "user2@example.com", "User1@example.com", "user02@example.com", "alice@example.com",
		"user1@example.com", "user100@example.com", "user-9@example.com", "user9a@example.com", "user9@example.com"}
	slices.SortFunc(got, naturalCompare)
	want := []string{"alice@example.com", "user-9@example.com", "User1@example.com", "user1@example.com", "user02@example.com",
		"user2@example.com", "user9@example.com", "user9a@example.com", "user10@example.com", "user100@example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted:\n got %q\nwant %q", got, want)
	}
	for _, s := range want {
		if naturalCompare(s, s) != 0 {
			t.Errorf("naturalCompare(%q, itself) != 0", s)
		}
	}
}
