package genjson

import (
	"encoding/json"
	"unsafe"
)

// The generic codecs of the types a generated file does not spell out:
// the generated functions call them for every string, boolean, integer,
// pointer, slice and map, named or not.

// DecodeString reads a string, or a null (which leaves *v as it is).
func DecodeString[T ~string](d *Decoder, v *T) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	s, err := d.String()
	*v = T(s)
	return err
}

// DecodeBool reads true, false or null.
func DecodeBool[T ~bool](d *Decoder, v *T) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	b, err := d.Bool()
	*v = T(b)
	return err
}

// DecodeInt reads an integer that fits in T, or null.
func DecodeInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](d *Decoder, v *T) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	n, err := d.Int(int(unsafe.Sizeof(*v)) * 8)
	*v = T(n)
	return err
}

// DecodeUint reads a non-negative integer that fits in T, or null.
func DecodeUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](d *Decoder, v *T) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	n, err := d.Uint(int(unsafe.Sizeof(*v)) * 8)
	*v = T(n)
	return err
}

// DecodePtr reads null (nil) or a new E.
func DecodePtr[E any](d *Decoder, v **E, elem func(*Decoder, *E) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	*v = new(E)
	return elem(d, *v)
}

// DecodeSlice reads null (nil) or an array; [] is an empty, non-nil
// slice, as encoding/json makes it.
func DecodeSlice[E any](d *Decoder, v *[]E, elem func(*Decoder, *E) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	if err := d.BeginArray(); err != nil {
		return err
	}
	s := make([]E, 0)
	for {
		more, err := d.More()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		var e E
		if err := elem(d, &e); err != nil {
			return err
		}
		s = append(s, e)
	}
	*v = s
	return nil
}

// DecodeMap reads null (nil) or an object into a new map.
func DecodeMap[K ~string, E any](d *Decoder, v *map[K]E, elem func(*Decoder, *E) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	m := make(map[K]E)
	*v = m
	return DecodeObject(d, func(name string) error {
		var e E
		err := elem(d, &e)
		m[K(name)] = e
		return err
	})
}

// DecodeUnmarshaler hands any value but null to u, as encoding/json does.
func DecodeUnmarshaler(d *Decoder, u json.Unmarshaler) error {
	raw, err := d.Raw()
	if err != nil {
		return err
	}
	return u.UnmarshalJSON(raw)
}

// EncodeString writes a string.
func EncodeString[T ~string](e *Encoder, v *T) error {
	e.String(string(*v))
	return nil
}

// EncodeBool writes true or false.
func EncodeBool[T ~bool](e *Encoder, v *T) error {
	e.Bool(bool(*v))
	return nil
}

// EncodeInt writes an integer.
func EncodeInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](e *Encoder, v *T) error {
	e.Int(int64(*v))
	return nil
}

// EncodeUint writes a non-negative integer.
func EncodeUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](e *Encoder, v *T) error {
	e.Uint(uint64(*v))
	return nil
}

// EncodePtr writes null or the element.
func EncodePtr[E any](e *Encoder, v **E, elem func(*Encoder, *E) error) error {
	if *v == nil {
		e.Raw("null")
		return nil
	}
	return elem(e, *v)
}

// EncodeSlice writes null (nil) or an array.
func EncodeSlice[E any](e *Encoder, v *[]E, elem func(*Encoder, *E) error) error {
	if *v == nil {
		e.Raw("null")
		return nil
	}
	e.Byte('[')
	for i := range *v {
		if i > 0 {
			e.Byte(',')
		}
		if err := elem(e, &(*v)[i]); err != nil {
			return err
		}
	}
	e.Byte(']')
	return nil
}

// EncodeMap writes null (nil) or an object, its names sorted as
// json.Marshal sorts them.
func EncodeMap[K ~string, E any](e *Encoder, v *map[K]E, elem func(*Encoder, *E) error) error {
	if *v == nil {
		e.Raw("null")
		return nil
	}
	e.Byte('{')
	for i, k := range SortedKeys(*v) {
		if i > 0 {
			e.Byte(',')
		}
		e.String(string(k))
		e.Byte(':')
		x := (*v)[k]
		if err := elem(e, &x); err != nil {
			return err
		}
	}
	e.Byte('}')
	return nil
}

// DecodeObject reads null or an object, handing each member's name to
// member, which reads its value.
func DecodeObject(d *Decoder, member func(name string) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	if err := d.BeginObject(); err != nil {
		return err
	}
	for {
		name, ok, err := d.Name()
		if err != nil || !ok {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
	}
}
