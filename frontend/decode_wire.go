package frontend

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// wireError is a malformed-protobuf error; the decoder adds the fix text.
type wireError struct{ msg string }

func (e *wireError) Error() string { return e.msg }

// field is one decoded protobuf field of a message.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	u     uint64 // VarintType, Fixed32Type, Fixed64Type
	bytes []byte // BytesType
	off   int    // absolute file offset of the value (after tag and length)
}

// msgReader walks the fields of one protobuf message. off is the absolute
// file offset of b[0], so errors point into the file.
type msgReader struct {
	b   []byte
	pos int
	off int
	msg string // message type name, e.g. "GraphProto"
}

func newReader(b []byte, off int, msg string) *msgReader {
	return &msgReader{b: b, off: off, msg: msg}
}

// next returns the next field; ok is false at the end of the message.
func (r *msgReader) next() (f field, ok bool, err error) {
	if r.pos >= len(r.b) {
		return field{}, false, nil
	}
	start := r.pos
	num, typ, n := protowire.ConsumeTag(r.b[r.pos:])
	if n < 0 {
		return field{}, false, r.errAt(start, 0, n)
	}
	r.pos += n
	f = field{num: num, typ: typ}
	rest := r.b[r.pos:]
	switch typ {
	case protowire.VarintType:
		f.u, n = protowire.ConsumeVarint(rest)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(rest)
		f.u = uint64(v)
	case protowire.Fixed64Type:
		f.u, n = protowire.ConsumeFixed64(rest)
	case protowire.BytesType:
		f.bytes, n = protowire.ConsumeBytes(rest)
		if n >= 0 {
			f.off = r.off + r.pos + n - len(f.bytes)
		}
	default: // groups: skip them whole
		n = protowire.ConsumeFieldValue(num, typ, rest)
	}
	if n < 0 {
		return field{}, false, r.errAt(start, num, n)
	}
	if typ != protowire.BytesType {
		f.off = r.off + r.pos
	}
	r.pos += n
	return f, true, nil
}

func (r *msgReader) errAt(start int, num protowire.Number, code int) error {
	what := "malformed protobuf"
	if errors.Is(protowire.ParseError(code), io.ErrUnexpectedEOF) {
		what = "truncated protobuf"
	}
	if num == 0 {
		return &wireError{fmt.Sprintf("%s at byte %d (field tag in %s)", what, r.off+start, r.msg)}
	}
	return &wireError{fmt.Sprintf("%s at byte %d (field %d of %s)", what, r.off+start, num, r.msg)}
}

// wrongType reports a field whose wire type does not match the ONNX schema.
func (r *msgReader) wrongType(f field) error {
	return &wireError{fmt.Sprintf("field %d of %s at byte %d has wire type %d, which the ONNX schema does not allow",
		f.num, r.msg, f.off, f.typ)}
}

// sub returns a reader over an embedded message field.
func (r *msgReader) sub(f field, msg string) (*msgReader, error) {
	if f.typ != protowire.BytesType {
		return nil, r.wrongType(f)
	}
	return newReader(f.bytes, f.off, msg), nil
}

// str returns a string field.
func (r *msgReader) str(f field) (string, error) {
	if f.typ != protowire.BytesType {
		return "", r.wrongType(f)
	}
	return string(f.bytes), nil
}

// varint returns a varint scalar field.
func (r *msgReader) varint(f field) (uint64, error) {
	if f.typ != protowire.VarintType {
		return 0, r.wrongType(f)
	}
	return f.u, nil
}

// packedVarints calls fn for each varint of a repeated varint field, packed
// or not.
func (r *msgReader) packedVarints(f field, fn func(uint64)) error {
	switch f.typ {
	case protowire.VarintType:
		fn(f.u)
		return nil
	case protowire.BytesType:
		b := f.bytes
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return &wireError{fmt.Sprintf("malformed packed varints at byte %d (field %d of %s)",
					f.off+len(f.bytes)-len(b), f.num, r.msg)}
			}
			fn(v)
			b = b[n:]
		}
		return nil
	}
	return r.wrongType(f)
}

// countVarints counts the elements of a repeated varint field without
// allocating.
func (r *msgReader) countVarints(f field) (int64, error) {
	var n int64
	err := r.packedVarints(f, func(uint64) { n++ })
	return n, err
}

// packedFixed calls fn for each element of a repeated fixed32/fixed64 field
// (size 4 or 8), packed or not.
func (r *msgReader) packedFixed(f field, size int, fn func(uint64)) error {
	want := protowire.Fixed32Type
	if size == 8 {
		want = protowire.Fixed64Type
	}
	switch f.typ {
	case want:
		fn(f.u)
		return nil
	case protowire.BytesType:
		if len(f.bytes)%size != 0 {
			return &wireError{fmt.Sprintf("packed field %d of %s at byte %d is %d bytes, not a multiple of %d",
				f.num, r.msg, f.off, len(f.bytes), size)}
		}
		for i := 0; i < len(f.bytes); i += size {
			if size == 4 {
				v, _ := protowire.ConsumeFixed32(f.bytes[i:])
				fn(uint64(v))
			} else {
				v, _ := protowire.ConsumeFixed64(f.bytes[i:])
				fn(v)
			}
		}
		return nil
	}
	return r.wrongType(f)
}

// countFixed counts the elements of a repeated fixed-size field.
func (r *msgReader) countFixed(f field, size int) (int64, error) {
	switch f.typ {
	case protowire.BytesType:
		if len(f.bytes)%size != 0 {
			return 0, &wireError{fmt.Sprintf("packed field %d of %s at byte %d is %d bytes, not a multiple of %d",
				f.num, r.msg, f.off, len(f.bytes), size)}
		}
		return int64(len(f.bytes) / size), nil
	case protowire.Fixed32Type:
		if size == 4 {
			return 1, nil
		}
	case protowire.Fixed64Type:
		if size == 8 {
			return 1, nil
		}
	}
	return 0, r.wrongType(f)
}
