package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/specjson"
)

// ConfigFile is the name of the bundle's configuration.
const ConfigFile = "config.json"

// Load reads bundle/config.json. Syntax errors carry the line and column,
// type errors the JSON path of the field, so that a hand-edited bundle is
// fixed in one look.
func Load(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, missingConfig(path)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes a config; name is used in error messages.
func Parse(name string, data []byte) (*specs.Spec, error) {
	s := new(specs.Spec)
	if err := genjson.Decode(data, s, specjson.DecodeSpec); err != nil {
		return nil, fmt.Errorf("invalid %s: %s", name, describeJSONError(data, err))
	}
	return s, nil
}

// describeJSONError turns encoding/json's errors into "line L column C:
// ..." or "field: wants T, got U".
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(data, se.Offset)
		return fmt.Sprintf("line %d column %d: %s", l, c, se.Error())
	case errors.As(err, &te):
		l, c := lineCol(data, te.Offset)
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("%s: a JSON %s where %s is expected (line %d column %d)", field, te.Value, goTypeName(te.Type.String()), l, c)
	}
	return err.Error()
}

func goTypeName(t string) string {
	switch t {
	case "[]string":
		return "an array of strings"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "uint32", "uint64", "uint16", "int32", "*int64", "*uint64":
		return "a number (" + t + ")"
	}
	return "a value of type " + t
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// missingConfig is a bundle without config.json; errors.Is(err,
// fs.ErrNotExist) holds.
type missingConfig string

func (m missingConfig) Error() string {
	return "read " + string(m) + ": no such file or directory (is --bundle right? `skiff spec` writes an example)"
}

func (m missingConfig) Unwrap() error { return fs.ErrNotExist }
