package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func inRootPath(t *testing.T, root string, f *os.File) string {
	t.Helper()
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if p != root && !strings.HasPrefix(p, root+"/") {
		t.Fatalf("handle resolved to %s, outside the rootfs %s", p, root)
	}
	return strings.TrimPrefix(p, root)
}

// Paths through symlinks that point out of the rootfs stay inside it, both
// on the openat2 fast paths and on securejoin's fallback.
func TestResolveStaysInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	os.Symlink("/", filepath.Join(root, "abs"))
	os.Symlink("../../../../../..", filepath.Join(root, "rel"))
	os.Symlink("/etc", filepath.Join(root, "etclink"))
	rf, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	cases := []struct{ dir, want string }{
		{"/etc", "/etc"},               // exists
		{"/abs/etc", "/etc"},           // through an absolute symlink
		{"/rel/newdir", "/newdir"},     // parent through a relative escape, one mkdir
		{"/etclink/sub", "/etc/sub"},   // parent through a symlink, one mkdir
		{"/deep/a/b/c", "/deep/a/b/c"}, // several missing: securejoin
		{"/abs/rel/x/y", "/x/y"},
		{"/", ""},
	}
	for _, c := range cases {
		f, err := mkdirInRoot(rf, c.dir, 0o755)
		if err != nil {
			t.Errorf("mkdirInRoot(%s): %v", c.dir, err)
			continue
		}
		if got := inRootPath(t, root, f); got != c.want {
			t.Errorf("mkdirInRoot(%s) made %q, want %q", c.dir, got, c.want)
		}
		f.Close()
	}
	if _, err := mkdirInRoot(rf, "/file/sub", 0o755); err == nil {
		t.Error("mkdirInRoot below a regular file succeeded")
	}
	f, err := openInRoot(rf, "/abs/rel/etc")
	if err != nil {
		t.Fatalf("openInRoot: %v", err)
	}
	if got := inRootPath(t, root, f); got != "/etc" {
		t.Errorf("openInRoot resolved to %q", got)
	}
	f.Close()
	if _, err := openInRoot(rf, "/rel/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openInRoot of a missing path: %v, want not-exist", err)
	}
}
