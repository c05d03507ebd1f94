package ewsserver

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

const schemaFailed = "The request failed schema validation"

// syntaxLine is encoding/xml's own line note, which counts from where the
// body decoder started, not from the request's first line.
var syntaxLine = regexp.MustCompile(`XML syntax error on line \d+: `)

// SchemaFault is Exchange's ErrorSchemaValidation fault for a request that
// breaks the schema: the violation in the fault string and in MessageXml.
// The handler adds LineNumber and LinePosition.
func SchemaFault(violation string) *ews.SOAPFault {
	f := Fault(ews.ErrorSchemaValidation, schemaFailed+": "+violation, ews.ValueViolation, violation)
	f.Message = schemaFailed + "."
	return f
}

// schemaFaultAt is the fault for a request the codec could not decode, at
// the decoder's position.
func schemaFaultAt(err error) *ewswire.Fault {
	line, col := 1, 1
	var pe *ewswire.PositionError
	if errors.As(err, &pe) {
		line, col = pe.Line, pe.Column
	}
	violation := syntaxLine.ReplaceAllString(strings.TrimPrefix(err.Error(), "ewswire: "), "")
	f := SchemaFault(violation)
	f.MessageXml[ews.ValueLineNumber] = strconv.Itoa(line)
	f.MessageXml[ews.ValueLinePosition] = strconv.Itoa(col)
	return ewswire.FaultFromError(f)
}

// placeSchemaFault completes an ErrorSchemaValidation fault raised while
// serving (a value out of the schema's range): the violation when only the
// text has it, and the position of the operation element in the request,
// since the codec keeps no positions of decoded values.
func placeSchemaFault(err error, raw []byte, op string) {
	var f *ews.SOAPFault
	if !errors.As(err, &f) || f.Code != ews.ErrorSchemaValidation {
		return
	}
	if f.MessageXml == nil {
		f.MessageXml = map[string]string{}
	}
	if f.MessageXml[ews.ValueViolation] == "" {
		f.MessageXml[ews.ValueViolation] = strings.TrimPrefix(strings.TrimPrefix(f.FaultString, schemaFailed), ": ")
	}
	if f.MessageXml[ews.ValueLineNumber] == "" {
		line, col := positionOf(raw, op)
		f.MessageXml[ews.ValueLineNumber] = strconv.Itoa(line)
		f.MessageXml[ews.ValueLinePosition] = strconv.Itoa(col)
	}
	f.Message = schemaFailed + "."
}

// positionOf returns the 1-based line and character position of the start
// tag of element local (any prefix) in raw, or 1, 1.
func positionOf(raw []byte, local string) (line, col int) {
	at := -1
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		name := raw[i:]
		if k := bytes.IndexAny(name, " \t\r\n/>"); k >= 0 {
			name = name[:k]
		}
		if k := bytes.IndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		if string(name) == local {
			at = i - 1
			break
		}
	}
	if at < 0 {
		return 1, 1
	}
	before := raw[:at]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}
