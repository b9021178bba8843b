// Package specjson decodes the runtime-spec types (config.json, a
// process.json, the hooks' state) without reflection, through the
// functions hack/gen-json generates. Use them with genjson.Decode,
// which falls back to encoding/json for anything they do not handle.
package specjson

//go:generate go run ../../hack/gen-json
