package directory

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// CSV reads users from a CSV file on every call, so that edits are picked
// up by the Watcher. The separator is a comma or a semicolon (as Excel
// writes it in many locales), detected from the first line. A first row
// naming a mail column (mail, email, e-mail, smtp, primarysmtpaddress) is a
// header; then columns named displayname/name, upn/userprincipalname and
// sid/objectsid are read too, and a SIP address column (sip, sipaddress,
// sip_address, msRTCSIP-PrimaryUserAddress) for the SIP connector. Without
// a header the columns are: SMTP address, display name, UPN, SID, SIP
// address. Empty lines and lines starting with # are skipped.
type CSV struct {
	Path string
}

// CSVError lists every bad row of a CSV file.
type CSVError struct {
	Path string
	Rows []CSVRowError
}

// CSVRowError is one bad row.
type CSVRowError struct {
	Line    int
	Message string
}

// Error lists every bad row, one per line, as path:line: message.
func (e *CSVError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "directory: %s: %d bad row", e.Path, len(e.Rows))
	if len(e.Rows) != 1 {
		b.WriteString("s")
	}
	for _, r := range e.Rows {
		fmt.Fprintf(&b, "\n%s:%d: %s", e.Path, r.Line, r.Message)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalidUser) match.
func (e *CSVError) Unwrap() error { return ErrInvalidUser }

// maxCSVSize bounds the file read.
const maxCSVSize = 64 << 20

// Users reads the file.
func (c CSV) Users(ctx context.Context) ([]User, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("directory: csv: %w", err)
	}
	f, err := os.Open(c.Path)
	if err != nil {
		return nil, fmt.Errorf("directory: csv: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCSVSize+1))
	if err != nil {
		return nil, fmt.Errorf("directory: csv: %w", err)
	}
	if len(data) > maxCSVSize {
		return nil, fmt.Errorf("directory: csv: %s is larger than %d MiB", c.Path, maxCSVSize>>20)
	}
	return ParseCSV(data, c.Path)
}

var (
	mailHeaders = []string{"mail", "email", "e-mail", "smtp", "smtpaddress", "primarysmtpaddress", "address", "emailaddress"}
	nameHeaders = []string{"displayname", "display name", "name", "cn"}
	upnHeaders  = []string{"upn", "userprincipalname"}
	sidHeaders  = []string{"sid", "objectsid"}
	sipHeaders  = []string{"sip", "sipaddress", "sip address", "sip_address", "msrtcsip-primaryuseraddress"}
)

// ParseCSV parses CSV content; name is used in messages.
func ParseCSV(data []byte, name string) ([]User, error) {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = detectSeparator(data)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	cols := [5]int{0, 1, 2, 3, 4} // smtp, display name, upn, sid, sip address
	cerr := &CSVError{Path: name}
	var users []User
	seen := map[string]int{}
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				cerr.Rows = append(cerr.Rows, CSVRowError{Line: pe.StartLine, Message: pe.Err.Error()})
				continue
			}
			return nil, fmt.Errorf("directory: csv: %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if first {
			first = false
			if h, ok := headerColumns(rec); ok {
				cols = h
				continue
			}
		}
		field := func(i int) string {
			if cols[i] < 0 || cols[i] >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[cols[i]])
		}
		u := User{SMTP: field(0), DisplayName: field(1), UPN: field(2), SID: field(3)}
		sip := field(4)
		if sip != "" {
			var ok bool
			if u.SIPAddress, ok = NormalizeSIPAddress(sip); !ok {
				cerr.Rows = append(cerr.Rows, CSVRowError{Line: line, Message: fmt.Sprintf("%q is not a SIP address (expected sip:alice@example.com or alice@example.com)", sip)})
				continue
			}
		}
		switch {
		case u.SMTP == "":
			cerr.Rows = append(cerr.Rows, CSVRowError{Line: line, Message: "the SMTP address is empty"})
			continue
		case !validSMTP(u.SMTP):
			cerr.Rows = append(cerr.Rows, CSVRowError{Line: line, Message: fmt.Sprintf("%q is not an SMTP address", u.SMTP)})
			continue
		case u.SID != "" && !strings.HasPrefix(strings.ToUpper(u.SID), "S-1-"):
			cerr.Rows = append(cerr.Rows, CSVRowError{Line: line, Message: fmt.Sprintf("%q is not a SID (expected S-1-…)", u.SID)})
			continue
		}
		if prev, dup := seen[u.Key()]; dup {
			cerr.Rows = append(cerr.Rows, CSVRowError{Line: line, Message: fmt.Sprintf("%s is already listed on line %d", u.SMTP, prev)})
			continue
		}
		seen[u.Key()] = line
		users = append(users, u)
	}
	if len(cerr.Rows) > 0 {
		return nil, cerr
	}
	return normalize(users), nil
}

// detectSeparator picks ';' when the first data line (not empty, not a
// comment) has more semicolons than commas.
func detectSeparator(data []byte) rune {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")) {
			return ';'
		}
		return ','
	}
	return ','
}

// headerColumns recognizes a header row by a mail column name.
func headerColumns(rec []string) ([5]int, bool) {
	cols := [5]int{-1, -1, -1, -1, -1}
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(h))
		for c, names := range [][]string{mailHeaders, nameHeaders, upnHeaders, sidHeaders, sipHeaders} {
			if cols[c] < 0 && contains(names, h) {
				cols[c] = i
			}
		}
	}
	return cols, cols[0] >= 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
