// Package wire holds the legacy Go services' event messages, encoded by hand with protowire
// (field numbers and types as in their .proto files; no generated code) and, for the
// application/json codec, through protojson on dynamic messages built from the same schema.
package wire

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Message is an event message of one of the eras.
type Message interface {
	// FullName is the protobuf name (package.Message), as in the legacy .proto files.
	FullName() string
	// Marshal encodes as Go's proto.Marshal does: fields in number order, zero scalars omitted.
	Marshal() []byte
	// Unmarshal decodes as Go's proto.Unmarshal does: unknown fields and fields of a
	// mismatched wire type are skipped, the last value of a scalar wins.
	Unmarshal(b []byte) error
}

// BaseEvent is common.BaseEvent {int64 timestamp = 2; string event_type = 3; bytes payload = 4}
// (order v7.0.0 proto/base_event.proto), the v7 envelope of every event.
type BaseEvent struct {
	Timestamp int64  `json:"timestamp"`
	EventType string `json:"event_type"`
	Payload   []byte `json:"payload"`
}

func (*BaseEvent) FullName() string { return "common.BaseEvent" }

func (m *BaseEvent) Marshal() []byte {
	var b []byte
	b = appendVarint(b, 2, uint64(m.Timestamp))
	b = appendBytes(b, 3, []byte(m.EventType))
	b = appendBytes(b, 4, m.Payload)
	return b
}

func (m *BaseEvent) Unmarshal(b []byte) error {
	*m = BaseEvent{}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 2 && typ == protowire.VarintType:
			m.Timestamp = int64(v)
		case num == 3 && typ == protowire.BytesType:
			if !utf8.Valid(bs) {
				return errInvalidUTF8("common.BaseEvent.event_type")
			}
			m.EventType = string(bs)
		case num == 4 && typ == protowire.BytesType:
			m.Payload = append([]byte{}, bs...)
		}
		return nil
	})
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return appendMessage(b, num, v)
}

// appendMessage writes an embedded message, empty or not (an element of a repeated field).
func appendMessage(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// walk calls fn for each varint and length-delimited field; other wire types are skipped.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return parseError(n)
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return parseError(n)
		}
		b = b[n:]
		if typ == protowire.VarintType || typ == protowire.BytesType {
			if err := fn(num, typ, v, bs); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseError(n int) error {
	return fmt.Errorf("proto: cannot parse invalid wire-format data (%v)", protowire.ParseError(n))
}

func errInvalidUTF8(field string) error {
	return fmt.Errorf("proto: field %s contains invalid UTF-8", field)
}
