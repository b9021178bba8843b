// Command hotfuncs turns the page faults of a training run into the order
// file of skiff's linker (hack/golink/train.sh): it reads `perf script -F
// comm,trace` output of exceptions:page_fault_user on stdin and the ELF
// symbol table of the training binary, whose every function starts a page
// of its own and is mapped page by page (SKIFF_LINK_ALIGN=4096, build tag
// nofaultaround), so that a fault in a page of text is the first call of
// the function there. It prints the Go functions in the order of their
// first call, one per line.
package main

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type function struct {
	start, end uint64
	name       string
}

func main() {
	binary := flag.String("binary", "", "the training binary")
	skip := flag.String("skip-comm", "", "comma-separated commands whose faults are not the binary's (the workloads)")
	flag.Parse()
	if *binary == "" {
		fmt.Fprintln(os.Stderr, "usage: perf script -F comm,trace | hotfuncs -binary BIN [-skip-comm true,sleep]")
		os.Exit(2)
	}
	funcs, err := textSymbols(*binary)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotfuncs:", err)
		os.Exit(1)
	}
	skipped := map[string]bool{}
	for _, c := range strings.Split(*skip, ",") {
		skipped[c] = true
	}
	seen := map[string]bool{}
	out := bufio.NewWriter(os.Stdout)
	faults, hot := 0, 0
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		line := in.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 || skipped[fields[0]] {
			continue
		}
		i := strings.Index(line, "address=0x")
		if i < 0 {
			continue
		}
		hex := line[i+len("address=0x"):]
		if j := strings.IndexByte(hex, ' '); j >= 0 {
			hex = hex[:j]
		}
		addr, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		k := sort.Search(len(funcs), func(k int) bool { return funcs[k].end > addr })
		if k == len(funcs) || addr < funcs[k].start {
			continue
		}
		faults++
		if f := funcs[k]; !seen[f.name] {
			seen[f.name] = true
			hot++
			fmt.Fprintln(out, f.name)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "hotfuncs: reading perf script output:", err)
		os.Exit(1)
	}
	out.Flush()
	fmt.Fprintf(os.Stderr, "hotfuncs: %d faults in Go functions, %d functions\n", faults, hot)
	if hot == 0 {
		fmt.Fprintln(os.Stderr, "hotfuncs: no fault in the binary's Go functions: was it the training binary, and did perf record its processes?")
		os.Exit(1)
	}
}

// textSymbols returns the binary's Go functions, sorted by address. The C
// functions of an externally linked binary are left out: the Go linker
// does not place them.
func textSymbols(path string) ([]function, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (built with -s?)", path, err)
	}
	var text, etext uint64
	for _, s := range syms {
		switch s.Name {
		case "runtime.text":
			text = s.Value
		case "runtime.etext":
			etext = s.Value
		}
	}
	if text == 0 || etext == 0 {
		return nil, fmt.Errorf("%s: no runtime.text/runtime.etext: not a Go binary", path)
	}
	var funcs []function
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < text || s.Value >= etext || s.Size == 0 {
			continue
		}
		// The symbol table names an assembly function "NAME.abi0"; the
		// linker, which reads the list, knows it as NAME.
		funcs = append(funcs, function{s.Value, s.Value + s.Size, strings.TrimSuffix(s.Name, ".abi0")})
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].start < funcs[j].start })
	return funcs, nil
}
