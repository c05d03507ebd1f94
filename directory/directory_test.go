package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/clock"
)

func TestStatic(t *testing.T) {
	s, err := NewStatic([]string{"bob@example.com", " alice@example.com", "Bob@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	users, _ := s.Users(context.Background())
	if got := smtps(users); got != "alice@example.com,bob@example.com" {
		t.Errorf("users = %s", got)
	}
	_, err = NewStatic([]string{"alice@example.com", "not-an-address", "a b@example.com"})
	if !errors.Is(err, ErrInvalidUser) || !strings.Contains(err.Error(), `entry 2: "not-an-address"`) || !strings.Contains(err.Error(), `entry 3: "a b@example.com"`) {
		t.Errorf("NewStatic(bad) = %v", err)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name, data string
		want       []User
		wantErr    string
	}{
		{"header with extra columns", "Name,Department,Mail,UPN\nAlice,Sales,alice@example.com,alice@corp.example.com\nBob,IT,bob@example.com,\n",
			[]User{{SMTP: "alice@example.com", DisplayName: "Alice", UPN: "alice@corp.example.com"}, {SMTP: "bob@example.com", DisplayName: "Bob"}}, ""},
		{"no header, semicolons, comments, BOM", "\xEF\xBB\xBF# exported from AD\nalice@example.com;Alice Example\n\nbob@example.com;Bob;bob@corp;S-1-5-21-1-2-3-1001\n",
			[]User{{SMTP: "alice@example.com", DisplayName: "Alice Example"}, {SMTP: "bob@example.com", DisplayName: "Bob", UPN: "bob@corp", SID: "S-1-5-21-1-2-3-1001"}}, ""},
		{"primarysmtpaddress header from Exchange", "PrimarySmtpAddress,DisplayName\r\ncarol@example.com,Carol\r\n",
			[]User{{SMTP: "carol@example.com", DisplayName: "Carol"}}, ""},
		{"every bad row reported with its line", "mail,sid\nalice@example.com,\nnot-an-address,\n,\nalice@example.com,\nbob@example.com,1234\n", nil,
			"directory: users.csv: 4 bad rows\nusers.csv:3: \"not-an-address\" is not an SMTP address\nusers.csv:4: the SMTP address is empty\nusers.csv:5: alice@example.com is already listed on line 2\nusers.csv:6: \"1234\" is not a SID (expected S-1-…)"},
		{"SIP address column, with and without scheme", "mail,SIP Address\nalice@example.com,sip:alice.smith@voice.example.com\nbob@example.com,bob@voice.example.com\ncarol@example.com,\n",
			[]User{{SMTP: "alice@example.com", SIPAddress: "sip:alice.smith@voice.example.com"}, {SMTP: "bob@example.com", SIPAddress: "sip:bob@voice.example.com"}, {SMTP: "carol@example.com"}}, ""},
		{"no header: the fifth column is the SIP address", "dave@example.com;Dave;;;sip:dave@voice.example.com\n",
			[]User{{SMTP: "dave@example.com", DisplayName: "Dave", SIPAddress: "sip:dave@voice.example.com"}}, ""},
		{"a bad SIP address is a bad row", "mail,sip\nalice@example.com,not a sip address\nbob@example.com,sip:@voice\n", nil,
			"users.csv:2: \"not a sip address\" is not a SIP address (expected sip:alice@example.com or alice@example.com)\nusers.csv:3: \"sip:@voice\" is not a SIP address"},
		{"broken quoting", "mail\n\"alice@example.com\nbob@example.com\n", nil, "users.csv:2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, err := ParseCSV([]byte(tc.data), "users.csv")
			if tc.wantErr != "" {
				var ce *CSVError
				if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidUser) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCSV = %v; want *CSVError containing\n%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != len(tc.want) {
				t.Fatalf("users = %+v, want %+v", users, tc.want)
			}
			for i := range users {
				if users[i] != tc.want[i] {
					t.Errorf("user %d = %+v, want %+v", i, users[i], tc.want[i])
				}
			}
		})
	}
}

func TestCSVFileReReadEachTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte("mail\na@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := CSV{Path: path}
	users, err := src.Users(context.Background())
	if err != nil || smtps(users) != "a@example.com" {
		t.Fatalf("Users = %v, %v", users, err)
	}
	if err := os.WriteFile(path, []byte("mail\nb@example.com\na@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err = src.Users(context.Background())
	if err != nil || smtps(users) != "a@example.com,b@example.com" {
		t.Fatalf("Users after edit = %v, %v", users, err)
	}
	if _, err := (CSV{Path: filepath.Join(t.TempDir(), "missing.csv")}).Users(context.Background()); err == nil {
		t.Error("a missing file must be an error")
	}
}

func TestMultiUnionAndFailure(t *testing.T) {
	a, _ := NewStatic([]string{"a@example.com", "b@example.com"})
	b, _ := NewStatic([]string{"B@example.com", "c@example.com"})
	users, err := Multi{a, b}.Users(context.Background())
	if err != nil || smtps(users) != "a@example.com,b@example.com,c@example.com" {
		t.Fatalf("Multi = %v, %v", smtps(users), err)
	}
	failing := &scriptedSource{errs: []error{errors.New("ldap down")}}
	if _, err := (Multi{a, failing}).Users(context.Background()); err == nil {
		t.Error("Multi must fail when a source fails")
	}
}

func TestDiff(t *testing.T) {
	u := func(s ...string) []User {
		var out []User
		for _, x := range s {
			out = append(out, User{SMTP: x})
		}
		return out
	}
	added, removed := Diff(u("a@x.com", "B@x.com", "c@x.com"), u("b@x.com", "d@x.com", "c@x.com"))
	if smtps(added) != "d@x.com" || smtps(removed) != "a@x.com" {
		t.Errorf("Diff = +%s -%s", smtps(added), smtps(removed))
	}
}

// scriptedSource returns its lists and errors in order.
type scriptedSource struct {
	mu    sync.Mutex
	lists [][]User
	errs  []error
	calls int
}

func (s *scriptedSource) Users(context.Context) ([]User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.calls
	s.calls++
	if i < len(s.errs) && s.errs[i] != nil {
		return nil, s.errs[i]
	}
	if i < len(s.lists) {
		return s.lists[i], nil
	}
	return s.lists[len(s.lists)-1], nil
}

func TestWatcherKeepsUsersWhenTheSourceFails(t *testing.T) {
	one := []User{{SMTP: "a@example.com"}, {SMTP: "b@example.com"}}
	two := []User{{SMTP: "b@example.com"}, {SMTP: "c@example.com"}}
	src := &scriptedSource{lists: [][]User{one, nil, two}, errs: []error{nil, errors.New("ldap: connection refused"), nil}}
	var got []string
	w := NewWatcher(src, WatcherOptions{Clock: clock.NewFake(time.Unix(0, 0)), OnChange: func(a, r []User) {
		got = append(got, "+"+smtps(a)+" -"+smtps(r))
	}})
	ctx := context.Background()
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(ctx); err == nil || w.LastError() == nil {
		t.Fatal("the failing refresh must return and record its error")
	}
	if smtps(w.Users()) != "a@example.com,b@example.com" {
		t.Errorf("after a failure the watcher holds %s; want the previous list", smtps(w.Users()))
	}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(ctx); err != nil { // unchanged: no callback
		t.Fatal(err)
	}
	want := []string{"+a@example.com,b@example.com -", "+c@example.com -a@example.com"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("changes = %q, want %q", got, want)
	}
}

func TestWatcherFirstRefreshOfEmptySourceReported(t *testing.T) {
	src := &scriptedSource{lists: [][]User{nil}}
	calls := 0
	w := NewWatcher(src, WatcherOptions{OnChange: func(a, r []User) { calls++ }})
	if err := w.Refresh(context.Background()); err != nil || calls != 1 {
		t.Errorf("Refresh = %v with %d calls; want one call for the initial (empty) load", err, calls)
	}
}

func TestADFilterAndSID(t *testing.T) {
	o := LDAPOptions{GroupDN: `CN=Sync (EMEA)\, all,OU=Groups,DC=example,DC=com`, MailAttribute: "mail", Nested: true}
	want := `(&(objectCategory=person)(objectClass=user)(mail=*)(memberOf:1.2.840.113556.1.4.1941:=CN=Sync \28EMEA\29\5c, all,OU=Groups,DC=example,DC=com))`
	if got := adMemberFilter(o); got != want {
		t.Errorf("nested filter =\n%s\nwant\n%s", got, want)
	}
	o.Nested = false
	if got := adMemberFilter(o); strings.Contains(got, "1.2.840.113556.1.4.1941") || !strings.Contains(got, "(memberOf=CN=Sync") {
		t.Errorf("direct filter = %s", got)
	}
	// BUILTIN\Administrators.
	sid, err := FormatSID([]byte{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0})
	if err != nil || sid != "S-1-5-32-544" {
		t.Errorf("FormatSID = %q, %v", sid, err)
	}
	for _, bad := range [][]byte{nil, {1, 2, 0, 0, 0, 0, 0, 5, 32, 0}, {2, 0, 0, 0, 0, 0, 0, 5}} {
		if _, err := FormatSID(bad); err == nil {
			t.Errorf("FormatSID(%v) accepted", bad)
		}
	}
}

func TestFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte("c@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := FromConfig(config.Users{Static: []string{"a@example.com"}, CSVFile: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	users, err := src.Users(context.Background())
	if err != nil || smtps(users) != "a@example.com,c@example.com" {
		t.Errorf("Users = %s, %v", smtps(users), err)
	}
	if _, err := FromConfig(config.Users{}, nil); err == nil {
		t.Error("an empty users section must be an error")
	}
	if RefreshInterval(config.Users{LDAP: &config.LDAP{RefreshInterval: time.Minute}}) != time.Minute || RefreshInterval(config.Users{}) != DefaultRefreshInterval {
		t.Error("RefreshInterval")
	}
}

func TestWatcherSetSourceReportsTheDifference(t *testing.T) {
	before, _ := NewStatic([]string{"a@example.com", "b@example.com"})
	after, _ := NewStatic([]string{"b@example.com", "c@example.com"})
	var got []string
	w := NewWatcher(before, WatcherOptions{OnChange: func(a, r []User) { got = append(got, "+"+smtps(a)+" -"+smtps(r)) }})
	ctx := context.Background()
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	w.SetSource(after)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != "+c@example.com -a@example.com" {
		t.Errorf("changes = %q", got)
	}
}
