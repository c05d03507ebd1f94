package directory

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchLDIF has n users in a group tree: the root group holds groups of
// 100 users each, nested three levels deep.
func benchLDIF(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: svc-calsync\ncn: svc\nsn: svc\nuserPassword: %s\n\n", testSvcDN, testSvcPW)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: u%02d\ncn: User %d\nsn: %d\nmail: u%02d@example.com\n\n", userDN(i), i, i, i, i)
	}
	groups := (n + 99) / 100
	for g := groups; g >= 1; g-- {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: team-%d\n", groupDN(fmt.Sprintf("team-%d", g)), g)
		for i := (g-1)*100 + 1; i <= min(g*100, n); i++ {
			fmt.Fprintf(&b, "member: %s\n", userDN(i))
		}
		// Chain the teams: team-1 ⊃ team-2 ⊃ … (depth grows with n).
		if g < groups {
			fmt.Fprintf(&b, "member: %s\n", groupDN(fmt.Sprintf("team-%d", g+1)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// BenchmarkLDAPNestedGroup measures one refresh of a 2000-user group
// nested 20 levels deep against a real slapd, pages of 500.
func BenchmarkLDAPNestedGroup(b *testing.B) {
	const users = 2000
	srv := startSlapd(b, benchLDIF(users), false, 1000)
	src, err := NewLDAP(LDAPOptions{URL: srv.URL, BindDN: testSvcDN, Password: testSvcPW, BaseDN: testSuffix,
		GroupDN: groupDN("team-1"), Nested: true, PageSize: 500, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		got, err := src.Users(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != users {
			b.Fatalf("%d users, want %d", len(got), users)
		}
	}
	b.ReportMetric(float64(src.LastStats().Pages), "pages/op")
}

// BenchmarkParseCSV measures parsing a 10 000-row export.
func BenchmarkParseCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("PrimarySmtpAddress,DisplayName\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "user%05d@example.com,User %d\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseCSV(data, "users.csv"); err != nil {
			b.Fatal(err)
		}
	}
}
