// Package seccomp turns a spec's linux.seccomp profile into a classic BPF
// program with libseccomp (in the parent) and loads that program with
// seccomp(2) (in the container's init, which then needs no libseccomp
// call at all), and hands a notify listener fd to the profile's agent.
package seccomp

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// bpfMaxInsns is the kernel's limit on one classic BPF program
// (BPF_MAXINSNS); seccomp(2) refuses longer filters with EINVAL.
const bpfMaxInsns = 4096

// insnSize is sizeof(struct sock_filter).
const insnSize = 8

// Program is a compiled profile. The parent compiles it and sends it to
// the init inside the init's config as JSON; the init loads it. It holds
// everything Load needs so that the init never builds a libseccomp
// context (that would cost time and need the profile's syscalls allowed).
type Program struct {
	// Filter is the BPF program: the ENOSYS stub (enosys.go), then
	// libseccomp's filter.
	Filter []unix.SockFilter
	// Flags are the SECCOMP_FILTER_FLAG_* bits the profile asked for (LOG,
	// SPEC_ALLOW, WAIT_KILLABLE_RECV). Load adds TSYNC, NEW_LISTENER and
	// TSYNC_ESRCH itself.
	Flags uint
	// Notify says a rule uses SCMP_ACT_NOTIFY: Load asks the kernel for a
	// listener fd.
	Notify bool
	// TSync says Load gives the filter to every thread of the process,
	// not only the calling one (tsync.go says when).
	TSync bool
}

// programJSON is the wire form: the filter as base64 of the raw
// sock_filter array (little-endian), which is a quarter of the size of an
// array of objects and much faster to decode in the init.
type programJSON struct {
	BPF    []byte `json:"bpf"`
	Flags  uint   `json:"flags,omitempty"`
	Notify bool   `json:"notify,omitempty"`
	TSync  bool   `json:"tsync,omitempty"`
}

// MarshalJSON encodes the program for the init's config and the cache:
// what json.Marshal writes for programJSON, written directly (a cold
// json.Marshal builds its reflection caches first, in every create).
func (p *Program) MarshalJSON() ([]byte, error) {
	bpf := encodeFilter(p.Filter)
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(bpf))+48)
	b = append(b, `{"bpf":"`...)
	b = base64.StdEncoding.AppendEncode(b, bpf)
	b = append(b, '"')
	if p.Flags != 0 {
		b = strconv.AppendUint(append(b, `,"flags":`...), uint64(p.Flags), 10)
	}
	if p.Notify {
		b = append(b, `,"notify":true`...)
	}
	if p.TSync {
		b = append(b, `,"tsync":true`...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes and sanity-checks a program.
func (p *Program) UnmarshalJSON(data []byte) error {
	w, ok := parseProgramJSON(data)
	if !ok {
		// Not the exact shape MarshalJSON writes: take the slow road.
		if err := json.Unmarshal(data, &w); err != nil {
			return err
		}
	}
	f, err := decodeFilter(w.BPF)
	if err != nil {
		return err
	}
	p.Filter, p.Flags, p.Notify, p.TSync = f, w.Flags, w.Notify, w.TSync
	return nil
}

func encodeFilter(f []unix.SockFilter) []byte {
	b := make([]byte, len(f)*insnSize)
	for i, in := range f {
		o := b[i*insnSize:]
		binary.LittleEndian.PutUint16(o, in.Code)
		o[2] = in.Jt
		o[3] = in.Jf
		binary.LittleEndian.PutUint32(o[4:], in.K)
	}
	return b
}

func decodeFilter(b []byte) ([]unix.SockFilter, error) {
	if len(b)%insnSize != 0 {
		return nil, fmt.Errorf("seccomp program: %d bytes is not a whole number of %d-byte BPF instructions", len(b), insnSize)
	}
	n := len(b) / insnSize
	if n == 0 || n > bpfMaxInsns {
		return nil, fmt.Errorf("seccomp program: %d instructions, want 1 to %d", n, bpfMaxInsns)
	}
	f := make([]unix.SockFilter, n)
	for i := range f {
		o := b[i*insnSize:]
		f[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(o), Jt: o[2], Jf: o[3], K: binary.LittleEndian.Uint32(o[4:])}
	}
	return f, nil
}

// parseProgramJSON reads exactly what MarshalJSON writes,
// {"bpf":"<base64>","flags":N,"notify":true,"tsync":true} with the last
// three optional,
// in one pass. The init decodes its program on every container start, and
// encoding/json would walk the ~18 KiB of base64 of Docker's profile three
// times (validate, skip, unquote) for a third of the cost of that step.
func parseProgramJSON(data []byte) (programJSON, bool) {
	var w programJSON
	rest, ok := bytes.CutPrefix(data, []byte(`{"bpf":"`))
	if !ok {
		return w, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return w, false
	}
	w.BPF = make([]byte, base64.StdEncoding.DecodedLen(end))
	n, err := base64.StdEncoding.Decode(w.BPF, rest[:end])
	if err != nil {
		return w, false
	}
	w.BPF = w.BPF[:n]
	rest = rest[end+1:]
	if r, ok := bytes.CutPrefix(rest, []byte(`,"flags":`)); ok {
		i := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			i++
		}
		v, err := strconv.ParseUint(string(r[:i]), 10, 32)
		if err != nil {
			return w, false
		}
		w.Flags, rest = uint(v), r[i:]
	}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"notify":true`)); ok {
		w.Notify, rest = true, r
	}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"tsync":true`)); ok {
		w.TSync, rest = true, r
	}
	return w, string(rest) == "}"
}
