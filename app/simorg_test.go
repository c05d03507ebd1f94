package app_test

import (
	"net/http/httptest"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// startSimOrg serves, for the cluster tests, a simulated organisation of n
// mailboxes (user1@example.com …) on servers mailbox servers, with Basic
// authentication and the service account's password that newInstance
// configures. It returns the simulator, its URL and the users.
func startSimOrg(t *testing.T, n, servers int, seed uint64) (sim *ewssim.Simulator, url string, users []string) {
	t.Helper()
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: n, Servers: servers, Seed: seed, Password: "s3cret-pw"}, Basic: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	for i := 1; i <= n; i++ {
		users = append(users, "user"+itoa(i)+"@example.com")
	}
	return sim, srv.URL, users
}
