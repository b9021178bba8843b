package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreCurrent fails when a type changed and the generated
// decoders were not regenerated (`go run ./hack/gen-json`).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for _, j := range jobs() {
		want, err := j.generate()
		if err != nil {
			t.Fatalf("%s: %v", j.out, err)
		}
		have, err := os.ReadFile(filepath.Join("..", "..", j.out))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s is stale: run `go run ./hack/gen-json` from the repository root", j.out)
		}
	}
}
