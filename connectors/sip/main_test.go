package sip

import (
	"testing"

	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// TestMain stops the PostgreSQL the handover benchmark starts (none
// otherwise).
func TestMain(m *testing.M) { pgtest.Main(m) }
