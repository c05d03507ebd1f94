package boltstore_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
)

// schema3Windows are the mailboxes with a window value in testdata/schema3.db.
var schema3Windows = []string{"alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com"}

// A file written by schema-3 calsync (records with their statuses next to
// the windows, no "statuses") opens, is upgraded in one transaction (the
// bucket "statuses" added, nothing moved: a record's status is the
// mailbox's until a status is written alone) and reads exactly as the
// calls that wrote it; statuses written alone afterwards win over the
// records', and all of it stays so after a second open, which upgrades
// nothing.
func TestSchema3FileIsUpgradedOnOpen(t *testing.T) {
	path := copyFixture(t, "testdata/schema3.db")
	if l := readLayout(t, path); l.schema != "3" || l.upgradeFrom != "" || !reflect.DeepEqual(l.windows, schema3Windows) || slices.Contains(l.buckets, "statuses") {
		t.Fatalf("testdata/schema3.db is not the schema-3 fixture: %+v", l)
	}
	want := schema1Want(t)
	s, logs := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, want)
	if !strings.Contains(logs.String(), "upgraded") || !strings.Contains(logs.String(), "from_schema=3") || !strings.Contains(logs.String(), "to_schema=4") {
		t.Errorf("the upgrade logged %q, want a line from schema 3 to 4", logs)
	}
	for _, st := range []store.Store{s, want} {
		if err := st.SaveStatus(t.Context(), store.MailboxStatus{SMTP: "alice@example.com", State: "backoff", ConsecutiveFailures: 2}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveStatuses(t.Context(), []store.MailboxStatus{{SMTP: "erin@example.com", State: "stopped"}, {SMTP: "carol@example.com", State: "stopped"}}); err != nil {
			t.Fatal(err)
		}
	}
	sameContent(t, s, want)
	reopenedUnchanged(t, s, path, want, schema3Windows...)
}

// An upgrade that schema-3 calsync began and did not finish — the file
// marked "schema" 3, "upgrade_from" 2 or 1, one mailbox converted (the
// fixtures are testdata/schema2.db and schema1.db after one step of main
// 525202b's upgrade) — is continued by this calsync, whose first step
// marks it schema 4 (so schema-3 calsync now refuses it: "has schema
// version 4, this calsync reads up to 3"). Opened, it is upgraded and
// reads as the calls that wrote it; with that step interrupted too, the
// next Open finishes the upgrade, one mailbox per transaction, the same.
func TestUpgradeBegunBySchema3CalsyncIsContinued(t *testing.T) {
	for _, tc := range []struct {
		fixture, from string
		windows       []string
	}{
		{"testdata/schema3-upgrading-from-2.db", "2", schema3Windows},
		{"testdata/schema3-upgrading-from-1.db", "1", nil},
	} {
		t.Run("from "+tc.from, func(t *testing.T) {
			path := copyFixture(t, tc.fixture)
			if l := readLayout(t, path); l.schema != "3" || l.upgradeFrom != tc.from || !reflect.DeepEqual(l.windows, []string{"alice@example.com"}) {
				t.Fatalf("%s is not a half-finished upgrade of schema-3 calsync: %+v", tc.fixture, l)
			}
			direct := copyFixture(t, tc.fixture)
			s, logs := openLogged(t, direct, boltstore.Options{})
			sameContent(t, s, schema1Want(t))
			if !strings.Contains(logs.String(), "from_schema="+tc.from) {
				t.Errorf("the upgrade logged %q, want from_schema=%s (the schema the older calsync's upgrade started from)", logs, tc.from)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			upgraded(t, direct, tc.windows...)

			l := upgradeOneStep(t, path)
			if l.schema != "4" || l.upgradeFrom != tc.from || !reflect.DeepEqual(l.windows, []string{"alice@example.com", "bob@example.com"}) || !slices.Contains(l.buckets, "statuses") {
				t.Fatalf("after one step of this calsync the file holds %+v; want schema 4 upgrading from %s, alice and bob converted", l, tc.from)
			}
			continuedUpgrade(t, path, tc.windows...)
		})
	}
}

// A read-only open (calsync check) refuses a schema-3 file and a
// half-finished upgrade of schema-3 calsync, naming the schema each holds,
// and changes neither.
func TestReadOnlyOpenRefusesSchema3(t *testing.T) {
	for fixture, schema := range map[string]string{"testdata/schema3.db": "schema 3", "testdata/schema3-upgrading-from-2.db": "schema 2"} {
		path := copyFixture(t, fixture)
		before := readBytes(t, path)
		_, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
		if !errors.Is(err, boltstore.ErrOlderSchema) || !strings.Contains(err.Error(), schema) || !strings.Contains(err.Error(), "upgrades it to 4") {
			t.Errorf("read-only Open of %s: %v, want ErrOlderSchema naming %s", fixture, err, schema)
		}
		if !reflect.DeepEqual(readBytes(t, path), before) {
			t.Errorf("a read-only open changed %s", fixture)
		}
	}
}
