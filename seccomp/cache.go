package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/specjson"
)

// The compiled-program cache. Every create and exec of a container with
// Docker's default profile would otherwise build the same libseccomp
// filter again: 25-40 ms on a small VM, against well under 0.2 ms for a
// cache hit (BenchmarkCompileDocker, BenchmarkCompileCachedDockerHit);
// crun keeps a cache for the same reason.
//
// An entry is named by a hash of everything the output depends on: the
// profile JSON, the libseccomp version, the architecture, the kernel
// release (flags are checked against it) and the skiff binary itself
// (device, inode, size, mtime of /proc/self/exe), so an upgraded skiff
// never loads what an older translation produced. The cache holds filters
// that are loaded into containers, so it is used only when its directory
// is ours and writable by nobody else, and entries carry a checksum: a
// torn or tampered-with entry is compiled again and replaced.

// cacheFormat changes whenever the translation or the entry layout does.
const cacheFormat = "skiff-seccomp-cache-2"

// maxCacheEntry is far above any real entry (Docker's profile: ~10 KiB;
// the largest filter the kernel takes: 32 KiB).
const maxCacheEntry = 1 << 20

// maxCacheEntries bounds the directory; the oldest entries go first.
const maxCacheEntries = 64

const cacheSuffix = ".bpf"

// An entry is binary, to be read in microseconds: the magic, the SHA-256
// of the rest (a torn write or a flipped bit is not an entry), the key,
// the flags, a byte of booleans (cacheNotify, cacheTSync) and the filter
// (encodeFilter).
const cacheMagic = "SKFBPF2\n"

const (
	cacheSumOff   = len(cacheMagic)
	cacheKeyOff   = cacheSumOff + sha256.Size
	cacheFlagsOff = cacheKeyOff + sha256.Size
	cacheBoolsOff = cacheFlagsOff + 4
	cacheBPFOff   = cacheBoolsOff + 1
)

const (
	cacheNotify = 1 << iota
	cacheTSync
)

var errCacheMiss = errors.New("no cache entry")

// CompileCached is Compile with a cache of compiled programs in cacheDir
// (created 0700). Cache trouble never fails a create: it only costs the
// compilation.
func CompileCached(s *specs.LinuxSeccomp, cacheDir string) (*Program, error) {
	if s == nil || cacheDir == "" {
		return Compile(s)
	}
	debug := logrus.IsLevelEnabled(logrus.DebugLevel)
	key, err := cacheKey(s)
	if err == nil {
		err = usableCacheDir(cacheDir)
	}
	if err != nil {
		if debug {
			logrus.Debugf("seccomp: not using the cache %s: %v", cacheDir, err)
		}
		return Compile(s)
	}
	file := filepath.Join(cacheDir, key+cacheSuffix)
	p, err := readCache(file, key)
	if err == nil {
		return p, nil
	}
	if debug && !errors.Is(err, errCacheMiss) {
		logrus.Debugf("seccomp: cache entry %s is unusable (%v): compiling again", file, err)
	}
	start := time.Now()
	p, err = Compile(s)
	if err != nil {
		return nil, err
	}
	if debug {
		logrus.Debugf("seccomp: compiled the profile in %v (%d instructions)", time.Since(start), len(p.Filter))
	}
	if err := writeCache(cacheDir, file, key, p); err != nil && debug {
		logrus.Debugf("seccomp: cache the compiled profile in %s: %v", cacheDir, err)
	}
	return p, nil
}

func cacheKey(s *specs.LinuxSeccomp) (string, error) {
	// json.Marshal's bytes, without its cold reflection caches (~1 ms in
	// every create with a profile).
	profile, err := genjson.Encode(s, specjson.EncodeLinuxSeccomp)
	if err != nil {
		return "", err
	}
	var exe unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &exe); err != nil {
		return "", fmt.Errorf("stat /proc/self/exe: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d:%d:%d:%d.%d\x00", cacheFormat, Version(), runtime.GOARCH, kernelRelease(),
		exe.Dev, exe.Ino, exe.Size, exe.Mtim.Sec, exe.Mtim.Nsec)
	h.Write(profile)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// usableCacheDir makes dir and checks that only we can write to it.
func usableCacheDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return errors.New("not a directory")
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("owned by uid %d, not by us", st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("mode %#o lets others write to it", st.Mode&0o777)
	}
	return nil
}

func readCache(file, key string) (*Program, error) {
	fd, err := unix.Open(file, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, errCacheMiss
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
		return nil, errors.New("not a regular file of ours")
	}
	if st.Size > maxCacheEntry {
		return nil, errors.New("too large")
	}
	data := make([]byte, st.Size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	if len(data) <= cacheBPFOff || string(data[:cacheSumOff]) != cacheMagic {
		return nil, errors.New("not a cache entry")
	}
	sum := sha256.Sum256(data[cacheKeyOff:])
	if !bytes.Equal(sum[:], data[cacheSumOff:cacheKeyOff]) {
		return nil, errors.New("checksum mismatch")
	}
	if hex.EncodeToString(data[cacheKeyOff:cacheFlagsOff]) != key {
		return nil, errors.New("it belongs to another profile")
	}
	filter, err := decodeFilter(data[cacheBPFOff:])
	if err != nil {
		return nil, err
	}
	return &Program{
		Filter: filter,
		Flags:  uint(binary.LittleEndian.Uint32(data[cacheFlagsOff:])),
		Notify: data[cacheBoolsOff]&cacheNotify != 0,
		TSync:  data[cacheBoolsOff]&cacheTSync != 0,
	}, nil
}

// writeCache replaces file atomically: a reader sees the old entry, the
// new one or none, never half of one.
func writeCache(dir, file, key string, p *Program) error {
	rawKey, err := hex.DecodeString(key)
	if err != nil || len(rawKey) != sha256.Size {
		return fmt.Errorf("bad cache key %q", key)
	}
	data := make([]byte, cacheBPFOff, cacheBPFOff+len(p.Filter)*insnSize)
	copy(data, cacheMagic)
	copy(data[cacheKeyOff:], rawKey)
	binary.LittleEndian.PutUint32(data[cacheFlagsOff:], uint32(p.Flags))
	if p.Notify {
		data[cacheBoolsOff] |= cacheNotify
	}
	if p.TSync {
		data[cacheBoolsOff] |= cacheTSync
	}
	data = append(data, encodeFilter(p.Filter)...)
	sum := sha256.Sum256(data[cacheKeyOff:])
	copy(data[cacheSumOff:], sum[:])
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	pruneCache(dir)
	return nil
}

// pruneCache keeps the newest maxCacheEntries entries, and removes
// temporary files a killed skiff left behind.
func pruneCache(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		mod  time.Time
	}
	var list []entry
	for _, d := range ents {
		info, err := d.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(d.Name(), ".tmp-"):
			if time.Since(info.ModTime()) > time.Minute {
				os.Remove(filepath.Join(dir, d.Name()))
			}
		case strings.HasSuffix(d.Name(), cacheSuffix):
			list = append(list, entry{d.Name(), info.ModTime()})
		}
	}
	if len(list) <= maxCacheEntries {
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i].mod.After(list[j].mod) })
	for _, e := range list[maxCacheEntries:] {
		os.Remove(filepath.Join(dir, e.name))
	}
}
