package ewswire

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// nsCompactor removes the redundant default-namespace declarations that
// encoding/xml writes on every namespaced element (`<Start xmlns="…types">`
// inside a types-namespace parent), roughly halving message size. It relies
// on the encoder's output form: start tags put `xmlns="…"` first, attribute
// values and text are escaped (no raw '<' or '>'), and there are no
// comments, CDATA sections or self-closing tags.
type nsCompactor struct {
	w     io.Writer
	stack []string
	inTag bool
	tag   []byte
	out   []byte
}

// compactEncoderOut is an nsCompactor with the buffered writer that
// xml.NewEncoder puts in front of it. xml.NewEncoder takes a *bufio.Writer
// of at least its default size as it is instead of allocating a new one,
// so pooling the pair saves a 4 KiB buffer and the compactor's slices on
// every request encoded (about 5 % of the client's allocations during a
// load, docs/BENCHMARKS.md).
type compactEncoderOut struct {
	c  nsCompactor
	bw *bufio.Writer
}

var compactEncoderOuts = sync.Pool{New: func() any {
	o := &compactEncoderOut{}
	o.bw = bufio.NewWriterSize(&o.c, 4096) // 4096: bufio's default, which xml.NewEncoder asks for
	return o
}}

// getCompactWriter returns a pooled buffered writer that compacts into w;
// putCompactWriter gives it back once the encoder using it is done.
func getCompactWriter(w io.Writer) *compactEncoderOut {
	o := compactEncoderOuts.Get().(*compactEncoderOut)
	o.c.reset(w)
	o.bw.Reset(&o.c)
	return o
}

func putCompactWriter(o *compactEncoderOut) {
	const keep = 64 << 10 // a rare huge message's buffers are not kept
	if cap(o.c.out) > keep || cap(o.c.tag) > keep {
		return
	}
	o.c.reset(nil)
	compactEncoderOuts.Put(o)
}

func (c *nsCompactor) reset(w io.Writer) {
	c.w, c.inTag = w, false
	c.stack, c.tag, c.out = c.stack[:0], c.tag[:0], c.out[:0]
}

var xmlnsAttr = []byte(` xmlns="`)

// Write implements io.Writer.
func (c *nsCompactor) Write(p []byte) (int, error) {
	n := len(p)
	c.out = c.out[:0]
	for len(p) > 0 {
		if c.inTag {
			i := bytes.IndexByte(p, '>')
			if i < 0 {
				c.tag = append(c.tag, p...)
				break
			}
			c.tag = append(c.tag, p[:i+1]...)
			p = p[i+1:]
			c.closeTag()
			continue
		}
		i := bytes.IndexByte(p, '<')
		if i < 0 {
			c.out = append(c.out, p...)
			break
		}
		c.out = append(c.out, p[:i]...)
		c.tag = append(c.tag[:0], '<')
		c.inTag = true
		p = p[i+1:]
	}
	if _, err := c.w.Write(c.out); err != nil {
		return 0, err
	}
	return n, nil
}

func (c *nsCompactor) closeTag() {
	c.inTag = false
	tag := c.tag
	if len(tag) > 1 && tag[1] == '/' {
		if n := len(c.stack); n > 0 {
			c.stack = c.stack[:n-1]
		}
		c.out = append(c.out, tag...)
		return
	}
	top := ""
	if n := len(c.stack); n > 0 {
		top = c.stack[n-1]
	}
	end := bytes.IndexAny(tag, " >")
	if end > 0 && bytes.HasPrefix(tag[end:], xmlnsAttr) {
		vStart := end + len(xmlnsAttr)
		if q := bytes.IndexByte(tag[vStart:], '"'); q >= 0 {
			ns := nsString(tag[vStart : vStart+q])
			c.stack = append(c.stack, ns)
			if ns == top {
				c.out = append(c.out, tag[:end]...)
				c.out = append(c.out, tag[vStart+q+1:]...)
				return
			}
			c.out = append(c.out, tag...)
			return
		}
	}
	c.stack = append(c.stack, top)
	c.out = append(c.out, tag...)
}

// nsString returns the namespace as a string, without allocating for the
// namespaces EWS messages use.
func nsString(b []byte) string {
	switch string(b) {
	case NSMessages:
		return NSMessages
	case NSTypes:
		return NSTypes
	case NSSOAP11:
		return NSSOAP11
	}
	return string(b)
}
