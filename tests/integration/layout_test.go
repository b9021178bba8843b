package integration

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestHotFunctionsFirst: skiff is linked with the Go functions of
// hack/golink/hot-functions.txt at the start of its text, in the list's
// order, before every function the list does not name (the Makefile's
// LAYOUT=hot; hack/golink). The FIPS functions, which the linker keeps in a
// block of their own at the end, are left out of the comparison. The binary
// says which list it was linked with in `skiff features`; built with
// LAYOUT=stock (the Makefile passes SKIFF_LAYOUT), it names none.
func TestHotFunctionsFirst(t *testing.T) {
	out, err := exec.Command(skiffBin, "features").Output()
	if err != nil {
		t.Fatalf("skiff features: %v", err)
	}
	var features struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(out, &features); err != nil {
		t.Fatalf("skiff features: %v\n%s", err, out)
	}
	if os.Getenv("SKIFF_LAYOUT") == "stock" {
		if got := features.Annotations["org.skiff.layout"]; got != "" {
			t.Fatalf("built with LAYOUT=stock, but skiff features names a layout: %q", got)
		}
		t.Log("LAYOUT=stock: the Go linker's own order, nothing more to check")
		return
	}
	path := os.Getenv("SKIFF_HOTFUNCS")
	if path == "" {
		path = "../../hack/golink/hot-functions.txt"
	}
	list, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (SKIFF_HOTFUNCS names the list when the test does not run in its package directory)", err)
	}
	sum := sha256.Sum256(list)
	if got, want := features.Annotations["org.skiff.layout"], hex.EncodeToString(sum[:])[:12]; got != want {
		t.Fatalf("features annotation org.skiff.layout = %q, want %q (the sha256 of hot-functions.txt): "+
			"%s was not linked with this list (built with LAYOUT=stock, or hack/golink/build.sh failed: see make's warning)", got, want, skiffBin)
	}

	f, err := elf.Open(skiffBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", skiffBin, err)
	}
	// The symbol table names an assembly function "NAME.abi0", the list
	// (and the linker) NAME; a NAME may have both.
	addr := map[string][]uint64{}
	var text, fips uint64
	for _, s := range syms {
		switch s.Name {
		case "runtime.text":
			text = s.Value
		case "go:textfipsstart":
			fips = s.Value
		}
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			name := strings.TrimSuffix(s.Name, ".abi0")
			addr[name] = append(addr[name], s.Value)
		}
	}
	if text == 0 || fips == 0 {
		t.Fatalf("%s: no runtime.text or go:textfipsstart symbol", skiffBin)
	}
	inGoText := func(a uint64) bool { return a >= text && a < fips }

	listed := map[string]bool{}
	var hot []uint64 // the first address of each, in the list's order
	var last uint64  // the highest address of a listed function
	names := 0
	for _, line := range strings.Split(string(list), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		names++
		listed[line] = true
		as := addr[line]
		if len(as) == 0 || !inGoText(as[0]) {
			continue
		}
		hot = append(hot, slices.Min(as))
		last = max(last, slices.Max(as))
	}
	// A list most of whose names the binary no longer has is stale:
	// `make layout` writes it again.
	if len(hot) < names*3/4 {
		t.Fatalf("only %d of the %d functions of hot-functions.txt are in %s: run `make layout`", len(hot), names, skiffBin)
	}
	if !sort.SliceIsSorted(hot, func(i, j int) bool { return hot[i] < hot[j] }) {
		t.Fatal("the listed functions are not in the list's order in the text")
	}
	cold := 0
	for name, as := range addr {
		for _, a := range as {
			if listed[name] || !inGoText(a) || a == text {
				continue
			}
			cold++
			if a < last {
				t.Fatalf("%s (%#x), not in the list, lies among the listed functions (the last ends at %#x)", name, a, last)
			}
		}
	}
	if cold == 0 {
		t.Fatal("no Go function outside the list: the symbol table was not read")
	}
	t.Logf("%d listed functions first in %#x-%#x, %d others after", len(hot), hot[0], last, cold)
}
