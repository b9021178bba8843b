//go:build goexperiment.jsonv2

package genjson

import (
	"bytes"
	"encoding/json/jsontext"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Decoder is the token reader of a generated decoder.
type Decoder struct {
	d   *jsontext.Decoder
	buf bytes.Buffer
}

// decoders are reused: list decodes two small documents per container,
// and a new jsontext.Decoder each time was most of the garbage.
var decoders = sync.Pool{New: func() any { return &Decoder{d: jsontext.NewDecoder(bytes.NewBuffer(nil))} }}

// Fast runs only the generated decoder: nil, or why it gave up. Tests
// compare it with encoding/json.
func Fast[T any](data []byte, v *T, fast func(*Decoder, *T) error) error {
	d := decoders.Get().(*Decoder)
	defer func() {
		d.buf = bytes.Buffer{}
		d.d.Reset(&d.buf)
		decoders.Put(d)
	}()
	// From a bytes.Buffer, jsontext reads data in place, without a copy.
	d.buf = *bytes.NewBuffer(data)
	d.d.Reset(&d.buf)
	if err := fast(d, v); err != nil {
		return err
	}
	// Only white space may follow the value.
	if _, err := d.d.ReadToken(); err != io.EOF {
		return ErrFallback
	}
	return nil
}

// Null consumes a null and reports true if the next value is one.
// encoding/json leaves the (zero) target unchanged for a null, or sets a
// pointer, slice or map to nil: the same for a zero target.
func (d *Decoder) Null() (bool, error) {
	if d.d.PeekKind() != jsontext.KindNull {
		return false, nil
	}
	_, err := d.d.ReadToken()
	return true, err
}

func (d *Decoder) want(k jsontext.Kind) error {
	t, err := d.d.ReadToken()
	if err != nil {
		return err
	}
	if t.Kind() != k {
		return ErrFallback
	}
	return nil
}

// BeginObject reads '{'.
func (d *Decoder) BeginObject() error { return d.want(jsontext.KindBeginObject) }

// BeginArray reads '['.
func (d *Decoder) BeginArray() error { return d.want(jsontext.KindBeginArray) }

// Name reads the next member name of an object, or its '}' (ok false).
func (d *Decoder) Name() (name string, ok bool, err error) {
	t, err := d.d.ReadToken()
	if err != nil {
		return "", false, err
	}
	switch t.Kind() {
	case jsontext.KindEndObject:
		return "", false, nil
	case jsontext.KindString:
		return t.String(), true, nil
	}
	return "", false, ErrFallback
}

// More reports whether an array has another element; false consumes its ']'.
func (d *Decoder) More() (bool, error) {
	if d.d.PeekKind() != jsontext.KindEndArray {
		return true, nil
	}
	_, err := d.d.ReadToken()
	return false, err
}

// Unknown skips the value of a member that names no field, as
// encoding/json does. A name that matches one of fields without regard to
// case is one encoding/json would decode into it: that gives up, as does a
// non-ASCII name (Unicode case folding: "K" is also U+212A).
func (d *Decoder) Unknown(name string, fields []string) error {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return ErrFallback
		}
	}
	for _, f := range fields {
		if strings.EqualFold(name, f) {
			return ErrFallback
		}
	}
	return d.d.SkipValue()
}

// String reads a string.
func (d *Decoder) String() (string, error) {
	if d.d.PeekKind() != jsontext.KindString {
		return "", ErrFallback
	}
	t, err := d.d.ReadToken()
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

// Bool reads true or false.
func (d *Decoder) Bool() (bool, error) {
	switch d.d.PeekKind() {
	case jsontext.KindTrue, jsontext.KindFalse:
	default:
		return false, ErrFallback
	}
	t, err := d.d.ReadToken()
	if err != nil {
		return false, err
	}
	return t.Bool(), nil
}

func (d *Decoder) number() (string, error) {
	if d.d.PeekKind() != jsontext.KindNumber {
		return "", ErrFallback
	}
	v, err := d.d.ReadValue()
	return string(v), err
}

// Int reads an integer that fits in bits, written as encoding/json
// accepts it for an integer field (no fraction, no exponent).
func (d *Decoder) Int(bits int) (int64, error) {
	s, err := d.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, ErrFallback
	}
	return n, nil
}

// Uint reads a non-negative integer that fits in bits.
func (d *Decoder) Uint(bits int) (uint64, error) {
	s, err := d.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, ErrFallback
	}
	return n, nil
}

// Raw reads any value but null as its bytes, for a json.Unmarshaler (which
// encoding/json hands the same bytes). They are valid until the next read:
// an UnmarshalJSON copies what it keeps (its contract), so no copy here. A
// null gives up: encoding/json's handling of it depends on the type.
func (d *Decoder) Raw() ([]byte, error) {
	if d.d.PeekKind() == jsontext.KindNull {
		return nil, ErrFallback
	}
	v, err := d.d.ReadValue()
	if err != nil {
		return nil, err
	}
	return v, nil
}
