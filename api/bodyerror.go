package api

// Errors of decoding a request body, said in the API's terms: the field at
// fault and what it expects, never encoding/json's Go type names
// ("Go struct field OverrideRequest.availability of type string") or
// time's layout strings.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"
)

// bodyError describes err, returned by decoding body into v: a *fieldError
// when one field is at fault, else a plain error.
func bodyError(body []byte, v any, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON body: %w (at byte %d)", se, se.Offset)
	case errors.As(err, &te) && te.Field != "":
		return &fieldError{te.Field, codeBadRequest, "expected " + jsonKind(te.Type) + ", found " + te.Value}
	case errors.As(err, &te):
		return fmt.Errorf("invalid JSON body: expected %s, found %s", jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &fieldError{name, codeBadRequest, "unknown field"}
	}
	// A value's own UnmarshalJSON failed (a time): find the field by
	// decoding each one alone.
	if field, typ := culprit(body, v); field != "" {
		msg := "invalid value"
		if typ == reflect.TypeOf(time.Time{}) {
			msg = "expected an RFC 3339 time such as 2026-03-01T15:00:00Z"
		}
		return &fieldError{field, codeBadRequest, msg}
	}
	return errors.New("invalid JSON body")
}

// culprit returns the top-level field of body whose value alone does not
// decode into v's type, and that field's Go type.
func culprit(body []byte, v any) (string, reflect.Type) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", nil
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	t := reflect.TypeOf(v).Elem()
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		if json.Unmarshal(one, reflect.New(t).Interface()) != nil {
			return k, fieldType(t, k)
		}
	}
	return "", nil
}

// fieldType is the type (pointers removed) of the struct field t encodes
// as name, nil when there is none.
func fieldType(t reflect.Type, name string) reflect.Type {
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			return ft
		}
	}
	return nil
}

// jsonKind names what a Go type expects in JSON.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "an object"
	}
}

// writeBodyError answers 400 for an error of decodeBody, with the field
// when one is at fault.
func writeBodyError(w http.ResponseWriter, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		writeFieldError(w, fe)
		return
	}
	writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
}
