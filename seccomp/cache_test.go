package seccomp

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+cacheSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCacheRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache", "seccomp")
	s := loadDocker(t)
	want := mustCompile(t, s)

	p, err := CompileCached(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatal("the first (compiling) call returned another program")
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v, mode %v, want 0700", err, st.Mode())
	}
	entries := cacheEntries(t, dir)
	if len(entries) != 1 {
		t.Fatalf("want one entry, got %v", entries)
	}
	// A hit returns the entry: plant a recognisable (validly summed)
	// program under the profile's key to prove it is what we read.
	key, err := cacheKey(s)
	if err != nil {
		t.Fatal(err)
	}
	planted := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActLog})
	if err := writeCache(dir, entries[0], key, planted); err != nil {
		t.Fatal(err)
	}
	p, err = CompileCached(s, dir)
	if err != nil || !reflect.DeepEqual(p, planted) {
		t.Fatalf("a cache hit did not return the entry (%v)", err)
	}
	if filepath.Base(entries[0]) != key+cacheSuffix {
		t.Fatalf("entry %s is not named by the key %s", entries[0], key)
	}

	// Another profile is another entry.
	other := *s
	other.DefaultErrnoRet = u(13)
	if _, err := CompileCached(&other, dir); err != nil {
		t.Fatal(err)
	}
	if n := len(cacheEntries(t, dir)); n != 2 {
		t.Fatalf("want two entries, got %d", n)
	}
}

func TestCacheCorruptEntryIsRecompiled(t *testing.T) {
	s := loadDocker(t)
	want := mustCompile(t, s)
	key, err := cacheKey(s)
	if err != nil {
		t.Fatal(err)
	}
	valid := func(dir string) []byte {
		if _, err := CompileCached(s, dir); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, key+cacheSuffix))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	good := valid(t.TempDir())
	corruptions := map[string]func([]byte) []byte{
		"garbage":   func([]byte) []byte { return []byte("\x00\x01not json") },
		"empty":     func([]byte) []byte { return nil },
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"flipped instruction": func(b []byte) []byte {
			c := append([]byte(nil), b...)
			// Inside the filter: the checksum catches it.
			c[len(c)/2] ^= 0x01
			return c
		},
		"other key": func(b []byte) []byte {
			c := append([]byte(nil), b...)
			c[cacheKeyOff] ^= 0x01 // and a matching checksum:
			sum := sha256.Sum256(c[cacheKeyOff:])
			copy(c[cacheSumOff:], sum[:])
			return c
		},
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, key+cacheSuffix)
			if err := os.WriteFile(file, corrupt(good), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := CompileCached(s, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, want) {
				t.Fatal("a corrupt entry was used")
			}
			if p2, err := readCache(file, key); err != nil || !reflect.DeepEqual(p2, want) {
				t.Fatalf("the entry was not replaced by a good one: %v", err)
			}
		})
	}
}

func TestCacheRefusesOpenDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	s := loadDocker(t)
	if _, err := CompileCached(s, dir); err != nil {
		t.Fatal(err)
	}
	if e := cacheEntries(t, dir); len(e) != 0 {
		t.Fatalf("a world-writable cache dir was used: %v", e)
	}
	// A symlinked entry is not followed.
	good := t.TempDir()
	if _, err := CompileCached(s, good); err != nil {
		t.Fatal(err)
	}
	key, _ := cacheKey(s)
	file := filepath.Join(good, key+cacheSuffix)
	os.Rename(file, file+".real")
	os.Symlink(file+".real", file)
	if _, err := readCache(file, key); err == nil {
		t.Fatal("followed a symlinked cache entry")
	}
}

func TestCachePrune(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i := 0; i < maxCacheEntries+5; i++ {
		f := filepath.Join(dir, string(rune('a'+i%26))+string(rune('a'+i/26))+cacheSuffix)
		os.WriteFile(f, []byte("{}"), 0o600)
		os.Chtimes(f, old, old)
	}
	os.WriteFile(filepath.Join(dir, ".tmp-stale"), nil, 0o600)
	os.Chtimes(filepath.Join(dir, ".tmp-stale"), old, old)
	if _, err := CompileCached(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, dir); err != nil {
		t.Fatal(err)
	}
	if n := len(cacheEntries(t, dir)); n != maxCacheEntries {
		t.Errorf("%d entries left, want %d", n, maxCacheEntries)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-stale")); err == nil {
		t.Error("stale temporary file left")
	}
}

// Figures for the report: `go test -run '^$' -bench . ./seccomp/`.
func BenchmarkCompileDocker(b *testing.B) {
	s := loadDocker(b)
	for i := 0; i < b.N; i++ {
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileCachedDockerHit(b *testing.B) {
	s := loadDocker(b)
	dir := b.TempDir()
	if _, err := CompileCached(s, dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := CompileCached(s, dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeProgramDocker(b *testing.B) {
	p, err := Compile(loadDocker(b))
	if err != nil {
		b.Fatal(err)
	}
	data, _ := p.MarshalJSON()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := new(Program).UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
