package specjson_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/cgroups"
	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/libct/specjson"
	"github.com/skiff-runtime/skiff/libct/state"
)

// same decodes data with the generated decoder and with encoding/json:
// whenever the generated one succeeds, encoding/json must succeed with the
// same value. It reports whether the generated one succeeded.
func same[T any](t *testing.T, data []byte, fast func(*genjson.Decoder, *T) error) bool {
	t.Helper()
	var a, b T
	ferr := genjson.Fast(data, &a, fast)
	serr := json.Unmarshal(data, &b)
	if ferr != nil {
		// Decode must then give encoding/json's result.
		var c T
		if err := genjson.Decode(data, &c, fast); fmt.Sprint(err) != fmt.Sprint(serr) || (serr == nil && !reflect.DeepEqual(c, b)) {
			t.Fatalf("Decode after a fallback differs from encoding/json: %v vs %v\ninput: %s", err, serr, data)
		}
		return false
	}
	if serr != nil {
		t.Fatalf("generated decoder accepted what encoding/json rejects (%v):\n%s", serr, data)
	}
	if !reflect.DeepEqual(a, b) {
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		t.Fatalf("generated decoder and encoding/json differ:\ninput: %s\ngenerated: %s\nencoding/json: %s", data, aj, bj)
	}
	return true
}

// filled is a T with every field set: strings, numbers, true, two map
// entries, two slice elements, all the way down (interfaces and the other
// platforms' sections excepted).
func filled[T any]() T {
	var v T
	n := 0
	fill(reflect.ValueOf(&v).Elem(), &n, 0)
	return v
}

func fill(v reflect.Value, n *int, depth int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 16, 0, 0, *n, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n, depth+1)
			}
		}
	case reflect.Pointer:
		switch v.Type().Elem().Name() {
		case "Solaris", "Windows", "VM", "ZOS", "FreeBSD":
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n, depth+1)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.Set(reflect.ValueOf(json.RawMessage(fmt.Sprintf(`{"raw": [%d, "x"]}`, *n))))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), n, depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(fmt.Sprintf("key%d", *n+i))
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, n, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d é \"q\" \\ \u2028", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-int64(*n % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(*n % 200))
	}
}

type root struct {
	name  string
	seeds [][]byte
	check func(*testing.T, []byte) bool
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func roots(t *testing.T) []root {
	specSeeds := [][]byte{
		mustJSON(filled[specs.Spec]()),
		mustJSON(spec.Example(false)),
		mustJSON(spec.Example(true)),
	}
	// Docker's default seccomp profile, as a config's linux.seccomp.
	if b, err := os.ReadFile(filepath.Join("..", "..", "seccomp", "testdata", "docker-default.json")); err == nil {
		specSeeds = append(specSeeds, []byte(`{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"seccomp":`+string(b)+`}}`))
	} else {
		t.Logf("no docker-default.json (%v): that seed is left out", err)
	}
	return []root{
		{"spec", specSeeds, func(t *testing.T, b []byte) bool { return same(t, b, specjson.DecodeSpec) }},
		{"process", [][]byte{mustJSON(filled[specs.Process]()), mustJSON(spec.Example(false).Process)}, func(t *testing.T, b []byte) bool { return same(t, b, specjson.DecodeProcess) }},
		{"hook state", [][]byte{mustJSON(filled[specs.State]())}, func(t *testing.T, b []byte) bool { return same(t, b, specjson.DecodeState) }},
		{"init config", [][]byte{mustJSON(filled[proto.InitConfig]())}, func(t *testing.T, b []byte) bool { return same(t, b, proto.DecodeInitConfig) }},
		{"state file", [][]byte{mustJSON(filled[state.State]())}, func(t *testing.T, b []byte) bool { return same(t, b, state.Decode) }},
		{"saved cgroup", [][]byte{mustJSON(filled[cgroups.Saved]())}, func(t *testing.T, b []byte) bool { return same(t, b, cgroups.DecodeSaved) }},
	}
}

// TestGeneratedDecodersAgreeWithEncodingJSON decodes every root type filled
// to the last field, and thousands of mutations of it, both ways.
func TestGeneratedDecodersAgreeWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, r := range roots(t) {
		t.Run(r.name, func(t *testing.T) {
			for _, s := range r.seeds {
				if !r.check(t, s) {
					t.Fatalf("the generated decoder gave up on a seed it must decode:\n%s", s)
				}
			}
			fast, total := 0, 0
			for i := 0; i < 1500; i++ {
				m := mutate(rng, r.seeds[rng.Intn(len(r.seeds))])
				total++
				if r.check(t, m) {
					fast++
				}
			}
			t.Logf("%d of %d mutations decoded by the generated decoder, the rest by encoding/json", fast, total)
			if fast == 0 || fast == total {
				t.Fatalf("mutations exercised only one path (%d of %d fast)", fast, total)
			}
		})
	}
}

// TestGeneratedDecodersEdgeCases are the cases encoding/json treats in its
// own way: each must either decode the same or fall back.
func TestGeneratedDecodersEdgeCases(t *testing.T) {
	for _, in := range []string{
		`null`, `{}`, ` {} `, `{} {}`, `[]`, `"x"`, `{"ociVersion":null}`,
		`{"ociVersion":"1","ociVersion":"2"}`, `{"OCIVERSION":"1"}`, `{"ociversion":"1"}`, `{"oci_version":"1"}`,
		`{"ociVersion":"1","OciVersion":"2"}`, `{"hostnamK":"x"}`, `{"hostnam\u212a":"x"}`, `{"unknown":{"deep":[1,2,{"x":null}]}}`,
		`{"process":null}`, `{"process":{"args":null}}`, `{"process":{"args":[]}}`, `{"process":{"args":[null,"a"]}}`,
		`{"annotations":{}}`, `{"annotations":{"a":null}}`, `{"annotations":{"a":"1","a":"2"}}`, `{"annotations":null}`,
		`{"process":{"user":{"uid":1.0}}}`, `{"process":{"user":{"uid":1e2}}}`, `{"process":{"user":{"uid":-1}}}`,
		`{"process":{"user":{"uid":4294967296}}}`, `{"process":{"user":{"uid":-0}}}`, `{"process":{"user":{"uid":"1"}}}`,
		`{"process":{"terminal":"true"}}`, `{"process":{"terminal":1}}`, `{"hostname":"\ud800"}`, "{\"hostname\":\"\xff\"}",
		`{"hostname":"a\u0000b"}`, `{"linux":{"resources":{"memory":{"limit":-1}}}}`, `{"linux":{"resources":{"memory":{"limit":9223372036854775808}}}}`,
		`{"linux":{"devices":[{"fileMode":438}]}}`, `{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}}}`,
		`{"windows":{"layerFolders":["x"]}}`, `{"windows":null}`, `{"vm":{}}`, `{"process":{"args":["a"]`, `{"mounts":[{"options":["ro",]}]}`,
	} {
		same(t, []byte(in), specjson.DecodeSpec)
	}
	// These the generated decoder must take itself (same() has checked
	// they agree): a fallback for them would cost every common config.
	for _, in := range []string{`{}`, `null`, `{"process":null}`, `{"process":{"args":[]}}`, `{"annotations":{"a":null}}`,
		`{"unknown":{"deep":[1,2,{"x":null}]}}`, `{"oci_version":"1"}`, `{"linux":{"devices":[{"fileMode":438}]}}`,
		`{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}}}`} {
		var s specs.Spec
		if err := genjson.Fast([]byte(in), &s, specjson.DecodeSpec); err != nil {
			t.Errorf("%s: the generated decoder gave up (%v)", in, err)
		}
	}
	for _, in := range []string{`{"seccomp":null}`, `{"seccomp":{"a":1}}`, `{"seccomp": [1, 2 ] }`, `{"spec":{"process":{"args":["x"]}},"process":null}`} {
		same(t, []byte(in), proto.DecodeInitConfig)
	}
	for _, in := range []string{`{"created":"2026-12-01T16:00:00Z"}`, `{"created":null}`, `{"created":"yesterday"}`, `{"created":1}`, `{"cgroup":null}`, `{"hooks":{"poststart":true}}`} {
		same(t, []byte(in), state.Decode)
	}
}

// mutate changes data in one of the ways that matter to a JSON decoder.
func mutate(rng *rand.Rand, data []byte) []byte {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	for k := 1 + rng.Intn(3); k > 0; k-- {
		v = mutateValue(rng, v)
	}
	out := mustJSON(v)
	switch rng.Intn(10) {
	case 0: // a byte changed
		i := rng.Intn(len(out))
		const bytes = "{}[]\",:0 -.e\\nu"
		out[i] = bytes[rng.Intn(len(bytes))]
	case 1: // a name repeated
		if i := strings.Index(string(out), `":`); i > 0 {
			j := strings.LastIndexByte(string(out[:i]), '"')
			if j > 0 && (out[j-1] == '{' || out[j-1] == ',') {
				member := string(out[j:i]) + `":0,`
				out = []byte(string(out[:j]) + member + string(out[j:]))
			}
		}
	}
	return out
}

func mutateValue(rng *rand.Rand, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 || rng.Intn(8) == 0 {
			return replacement(rng)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		k := keys[rng.Intn(len(keys))]
		switch rng.Intn(6) {
		case 0: // the name in another case
			x[strings.ToUpper(k)] = x[k]
			delete(x, k)
		case 1: // an unknown member
			x["unknown"+k] = replacement(rng)
		default:
			x[k] = mutateValue(rng, x[k])
		}
		return x
	case []any:
		if len(x) == 0 || rng.Intn(8) == 0 {
			return replacement(rng)
		}
		i := rng.Intn(len(x))
		x[i] = mutateValue(rng, x[i])
		return x
	}
	return replacement(rng)
}

func replacement(rng *rand.Rand) any {
	choices := []any{nil, true, false, "", "x", 0, -1, 1.5, 1e3, 4294967296, -9223372036854775808.0, 18446744073709551616.0,
		[]any{}, []any{"a", nil}, map[string]any{}, map[string]any{"a": "b"}, "2026-12-01T16:00:00Z", json.Number("1e2"), json.Number("-0")}
	return choices[rng.Intn(len(choices))]
}

// FuzzSpecDecoder: `go test -fuzz FuzzSpecDecoder ./libct/specjson` looks
// for an input the two decoders disagree on.
func FuzzSpecDecoder(f *testing.F) {
	f.Add(mustJSON(filled[specs.Spec]()))
	f.Add(mustJSON(spec.Example(false)))
	f.Add([]byte(`{"process":{"args":["a"],"user":{"uid":1}},"annotations":{"a":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) { same(t, data, specjson.DecodeSpec) })
}

// sameBytes encodes v with the generated encoder and with json.Marshal:
// the bytes must be the same. It reports whether the generated encoder
// wrote them (rather than giving up).
func sameBytes[T any](t *testing.T, v *T, fast func(*genjson.Encoder, *T) error) bool {
	t.Helper()
	want, werr := json.Marshal(v)
	have, herr := genjson.Encode(v, fast)
	if fmt.Sprint(werr) != fmt.Sprint(herr) || !bytes.Equal(have, want) {
		t.Fatalf("generated encoder and json.Marshal differ:\ngenerated: %s (%v)\njson.Marshal: %s (%v)", have, herr, want, werr)
	}
	return genjson.EncodeFast(v, fast) == nil
}

// randomFill sets each field of v to its zero value, an empty value or a
// filled one, with strings that need escaping.
func randomFill(rng *rand.Rand, v reflect.Value, depth int) {
	if depth > 12 || rng.Intn(4) == 0 {
		return // zero
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(rng.Int63n(4e9), rng.Int63n(1e9)).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				randomFill(rng, v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		switch v.Type().Elem().Name() {
		case "Solaris", "Windows", "VM", "ZOS", "FreeBSD":
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		randomFill(rng, v.Elem(), depth+1)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			raws := []string{`{"a": [1, 2]}`, `null`, ` "x" `, `"<&>"`, `[]`}
			v.Set(reflect.ValueOf(json.RawMessage(raws[rng.Intn(len(raws))])))
			return
		}
		n := rng.Intn(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			randomFill(rng, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := rng.Intn(3); i > 0; i-- {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(oddString(rng))
			e := reflect.New(v.Type().Elem()).Elem()
			randomFill(rng, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(oddString(rng))
	case reflect.Bool:
		v.SetBool(rng.Intn(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(rng.Int63() >> (64 - v.Type().Bits()) * int64(1-2*rng.Intn(2)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(rng.Uint64() >> (64 - v.Type().Bits()))
	}
}

func oddString(rng *rand.Rand) string {
	parts := []string{"", "a", "/usr/bin", "<", ">", "&", "\"", "\\", "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "\ufffd", "</script>"}
	var b strings.Builder
	for i := rng.Intn(4); i > 0; i-- {
		b.WriteString(parts[rng.Intn(len(parts))])
	}
	return b.String()
}

func encodes[T any](t *testing.T, rng *rand.Rand, fast func(*genjson.Encoder, *T) error) {
	full := filled[T]()
	if !sameBytes(t, &full, fast) {
		t.Fatalf("the generated encoder gave up on a filled %T", full)
	}
	n := 0
	for i := 0; i < 2000; i++ {
		var v T
		randomFill(rng, reflect.ValueOf(&v).Elem(), 0)
		if sameBytes(t, &v, fast) {
			n++
		}
	}
	t.Logf("%d of 2000 random values encoded by the generated encoder", n)
	if n < 1000 {
		t.Fatalf("the generated encoder gave up on %d of 2000 random values", 2000-n)
	}
}

// TestGeneratedEncodersWriteWhatJSONMarshalWrites compares bytes.
func TestGeneratedEncodersWriteWhatJSONMarshalWrites(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	t.Run("spec", func(t *testing.T) { encodes(t, rng, specjson.EncodeSpec) })
	t.Run("process", func(t *testing.T) { encodes(t, rng, specjson.EncodeProcess) })
	t.Run("hook state", func(t *testing.T) { encodes(t, rng, specjson.EncodeState) })
	t.Run("seccomp cache key", func(t *testing.T) { encodes(t, rng, specjson.EncodeLinuxSeccomp) })
	t.Run("init config", func(t *testing.T) { encodes(t, rng, proto.EncodeInitConfig) })
	t.Run("message", func(t *testing.T) { encodes(t, rng, proto.EncodeMessage) })
	t.Run("state file", func(t *testing.T) { encodes(t, rng, state.Encode) })
	t.Run("saved cgroup", func(t *testing.T) { encodes(t, rng, cgroups.EncodeSaved) })
	t.Run("oci state", func(t *testing.T) {
		encodes(t, rng, libct.EncodeOCIState)
		// state prints json.MarshalIndent's bytes.
		for i := 0; i < 200; i++ {
			var s libct.OCIState
			randomFill(rng, reflect.ValueOf(&s).Elem(), 0)
			want, werr := json.MarshalIndent(&s, "", "  ")
			have, herr := s.JSON()
			if !bytes.Equal(have, want) || fmt.Sprint(herr) != fmt.Sprint(werr) {
				t.Fatalf("OCIState.JSON:\n%s (%v)\njson.MarshalIndent:\n%s (%v)", have, herr, want, werr)
			}
		}
	})
	for _, s := range []string{"", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \x7f", "a\xffb\xc0\xafc", "\xed\xa0\x80"} {
		st := specs.State{ID: s}
		sameBytes(t, &st, specjson.EncodeState)
	}
}
