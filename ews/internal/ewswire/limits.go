package ewswire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Limits bound what a decoder accepts from a peer.
type Limits struct {
	// MaxBytes is the most bytes one envelope may have (0 = default).
	MaxBytes int64
	// MaxDepth is the deepest element nesting accepted (0 = default).
	MaxDepth int
}

// DefaultLimits allow 32 MiB per envelope and 64 levels of nesting, far
// above any EWS message calsync requests (a 1,000-item CalendarView is about
// 2 MiB and 12 levels deep).
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// ErrTooLarge reports an envelope larger than Limits.MaxBytes.
var ErrTooLarge = errors.New("ewswire: envelope exceeds the size limit")

// ErrTooDeep reports elements nested deeper than Limits.MaxDepth.
var ErrTooDeep = errors.New("ewswire: elements nested too deeply")

// budgetReader fails with ErrTooLarge once more than budget bytes are read
// since the last reset. The streaming reader resets it per envelope.
type budgetReader struct {
	r      io.Reader
	limit  int64
	used   int64
	total  int64
	failed bool
	// readErr is the last error of r other than io.EOF.
	readErr error
	// dec is the decoder reading from this reader; its InputPos places
	// XML errors.
	dec *xml.Decoder
}

// Read implements io.Reader within the budget.
func (b *budgetReader) Read(p []byte) (int, error) {
	if b.failed || b.used >= b.limit {
		b.failed = true
		return 0, ErrTooLarge
	}
	if rem := b.limit - b.used; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.used += int64(n)
	b.total += int64(n)
	if err != nil && err != io.EOF {
		b.readErr = err
	}
	return n, err
}

// byteBudgetReader is a budgetReader over an in-memory reader (a body
// already read): encoding/xml then reads it byte by byte through ReadByte
// instead of wrapping it in a bufio.Reader of its own (4 KiB per decode).
type byteBudgetReader struct {
	*budgetReader
	rb io.ByteReader
}

// ReadByte implements io.ByteReader within the budget.
func (b byteBudgetReader) ReadByte() (byte, error) {
	if b.failed || b.used >= b.limit {
		b.failed = true
		return 0, ErrTooLarge
	}
	c, err := b.rb.ReadByte()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			b.readErr = err
		}
		return 0, err
	}
	b.used++
	b.total++
	return c, nil
}

// depthReader hands raw tokens to an xml.Decoder (which resolves
// namespaces) and fails with ErrTooDeep past the depth limit.
type depthReader struct {
	raw   *xml.Decoder
	depth int
	max   int
}

// Token implements xml.TokenReader with the depth check.
func (d *depthReader) Token() (xml.Token, error) {
	tok, err := d.raw.RawToken()
	if err != nil {
		return tok, err
	}
	switch tok.(type) {
	case xml.StartElement:
		d.depth++
		if d.depth > d.max {
			return nil, fmt.Errorf("%w (more than %d levels)", ErrTooDeep, d.max)
		}
	case xml.EndElement:
		d.depth--
	}
	return tok, nil
}

// newDecoder builds a namespace-resolving decoder over r with the limits.
func newDecoder(r io.Reader, lim Limits) (*xml.Decoder, *budgetReader) {
	lim = lim.withDefaults()
	br := &budgetReader{r: r, limit: lim.MaxBytes}
	var src io.Reader = br
	if rb, ok := r.(io.ByteReader); ok {
		src = byteBudgetReader{budgetReader: br, rb: rb}
	}
	raw := xml.NewDecoder(src)
	raw.CharsetReader = refuseCharset
	br.dec = raw
	dec := xml.NewTokenDecoder(&depthReader{raw: raw, max: lim.MaxDepth})
	return dec, br
}

func refuseCharset(label string, _ io.Reader) (io.Reader, error) {
	return nil, fmt.Errorf("ewswire: unsupported charset %q (EWS uses UTF-8)", label)
}
