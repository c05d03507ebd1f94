package ewswire

import (
	"bytes"
	"io"
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

func newNSCompactor(w io.Writer) *nsCompactor { return &nsCompactor{w: w} }

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
			ns := string(tag[vStart : vStart+q])
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
