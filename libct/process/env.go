package process

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// BuildEnv returns env with extra appended, duplicates removed keeping the
// last value (what a shell would see), and HOME filled in from the
// container's /etc/passwd when absent or empty. It runs after pivot_root,
// so /etc/passwd is the container's.
func BuildEnv(env, extra []string, uid uint32) []string {
	out := MergeEnv(env, extra)
	if i, need := HomeSlot(out); need {
		home := "HOME=" + homeOf(uid)
		if i < len(out) {
			out[i] = home
		} else {
			out = append(out, home)
		}
	}
	return out
}

// MergeEnv returns env with extra appended and duplicates removed, keeping
// the last value at the place of the first.
func MergeEnv(env, extra []string) []string {
	all := make([]string, 0, len(env)+len(extra)+1)
	all = append(all, env...)
	all = append(all, extra...)
	idx := make(map[string]int, len(all))
	out := make([]string, 0, len(all)+1)
	for _, kv := range all {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// HomeSlot says whether a merged env lacks HOME (or has it empty), and
// where HOME goes: the index of the empty entry, or len(env) to append.
func HomeSlot(env []string) (int, bool) {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == "HOME" {
			return i, kv == "HOME="
		}
	}
	return len(env), true
}

// homeOf finds uid's home directory in /etc/passwd, or "/".
func homeOf(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// name:password:uid:gid:gecos:home:shell
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}

// Getenv returns the value of key in env.
func Getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
