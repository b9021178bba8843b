package main

import (
	"os"
	"strings"
	"testing"
)

func TestErrnoHeaderIsCurrent(t *testing.T) {
	have, err := os.ReadFile("../../init/errnames.h")
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != header() {
		t.Fatal("init/errnames.h is stale: go run ./hack/gen-errno > init/errnames.h")
	}
	for _, want := range []string{`{2, "ENOENT", "No such file or directory"}`, `{1, "EPERM", "Operation not permitted"}`, `{16, "EBUSY", "Device or resource busy"}`} {
		if !strings.Contains(string(have), want) {
			t.Errorf("init/errnames.h lacks %s", want)
		}
	}
}
