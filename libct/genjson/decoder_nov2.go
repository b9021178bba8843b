//go:build !goexperiment.jsonv2

package genjson

// Without GOEXPERIMENT=jsonv2 there is no encoding/json/jsontext: the
// generated decoders always give up and encoding/json decodes everything
// (slower, same results). The Makefile builds with jsonv2.

// Decoder is the token reader of a generated decoder (none here).
type Decoder struct{}

// Fast always gives up.
func Fast[T any](data []byte, v *T, fast func(*Decoder, *T) error) error { return ErrFallback }

func (d *Decoder) Null() (bool, error)                   { return false, ErrFallback }
func (d *Decoder) BeginObject() error                    { return ErrFallback }
func (d *Decoder) BeginArray() error                     { return ErrFallback }
func (d *Decoder) Name() (string, bool, error)           { return "", false, ErrFallback }
func (d *Decoder) More() (bool, error)                   { return false, ErrFallback }
func (d *Decoder) Unknown(name string, f []string) error { return ErrFallback }
func (d *Decoder) String() (string, error)               { return "", ErrFallback }
func (d *Decoder) Bool() (bool, error)                   { return false, ErrFallback }
func (d *Decoder) Int(bits int) (int64, error)           { return 0, ErrFallback }
func (d *Decoder) Uint(bits int) (uint64, error)         { return 0, ErrFallback }
func (d *Decoder) Raw() ([]byte, error)                  { return nil, ErrFallback }
