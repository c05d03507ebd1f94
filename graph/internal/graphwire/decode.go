package graphwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge reports a body over the caller's limit.
var ErrTooLarge = errors.New("body over the size limit")

// Decode reads one JSON value of at most limit bytes from r into v. It
// reports a body over the limit as ErrTooLarge (never reading more than
// limit+1 bytes), trailing data after the value, and JSON errors with the
// byte offset where they were found.
func Decode(r io.Reader, limit int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return Unmarshal(data, v)
}

// Unmarshal is json.Unmarshal with the position of a syntax or type error
// in the message ("at byte 123: …") and a precise word for empty bodies.
func Unmarshal(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty body where JSON was expected")
	}
	err := json.Unmarshal(data, v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("JSON field %q at byte %d: %s where %s was expected", te.Field, te.Offset, te.Value, te.Type)
	}
	return err
}
