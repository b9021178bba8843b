// Package state owns the state directory under --root: one directory per
// container, serialised by an flock on that directory, with files replaced
// atomically (temp file + rename) so a crash never leaves a torn file.
//
//	<root>/<id>/           0711
//	<root>/<id>/state.json 0600  small: what state/list/kill need (read on every call)
//	<root>/<id>/config.json 0600 the full spec as created (read by exec, update, delete)
//	<root>/<id>/exec.fifo  0622  exists only while the container is "created"
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/specjson"
	"github.com/skiff-runtime/skiff/libct/sysfile"
)

const (
	StateFile  = "state.json"
	ConfigFile = "config.json"
	FifoFile   = "exec.fifo"
	// ExecTemplate: what a plain `skiff exec ID CMD...` sends the init's
	// constructor, saved by the first one (libct/exectemplate.go) for the
	// constructor of the next (init/execparent.h).
	ExecTemplate = "exec.template"
)

// Phases of a container's life as recorded on disk. Status shown to users is
// derived from the kernel on every call; the phase only says how far create got.
const (
	PhaseCreating = "creating" // create is running or was killed mid-way
	PhaseCreated  = "created"  // the init reported ready; pid and start time are final
)

// State is the small per-container record.
type State struct {
	ID          string            `json:"id"`
	Phase       string            `json:"phase"`
	OCIVersion  string            `json:"ociVersion"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Created     time.Time         `json:"created"`
	// Pid and PidStart (field 22 of /proc/<pid>/stat) identify the init; a
	// reused pid has another start time and is never mistaken for it.
	Pid      int    `json:"pid,omitempty"`
	PidStart uint64 `json:"pidStart,omitempty"`
	// Cgroup is the cgroup manager's own saved form.
	Cgroup json.RawMessage `json:"cgroup,omitempty"`
	// Namespaces lists the container's namespace types ("pid", "user"...),
	// created or joined, as exec must join them.
	Namespaces []string `json:"namespaces,omitempty"`
	// SharedPidNS: the init is not the init of a PID namespace of its own
	// (no pid namespace, or one joined by path), so its death does not take
	// the container's other processes with it.
	SharedPidNS  bool `json:"sharedPidNS,omitempty"`
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	Rootless     bool `json:"rootless,omitempty"`
	Systemd      bool `json:"systemd,omitempty"`
	// Hooks says which of config.json's hooks start and delete must run,
	// so that they need not decode the whole config (a cold decode of the
	// spec costs ~1 ms of CPU) to find none. nil: unknown, read the config.
	Hooks *Hooks `json:"hooks,omitempty"`
}

// Hooks records which hook lists of the config are not empty.
type Hooks struct {
	Poststart bool `json:"poststart,omitempty"`
	Poststop  bool `json:"poststop,omitempty"`
}

// ErrNotExist is returned for an id with no container.
var ErrNotExist = errors.New("container does not exist")

// Dir is one container's locked state directory.
type Dir struct {
	Path string
	f    *os.File
}

// ValidID reports whether id is acceptable: letters, digits, '_', '+', '-',
// '.', not "." or "..", as runc accepts. Anything else could escape --root.
func ValidID(id string) error {
	if id == "" {
		return errors.New("invalid container ID format: the ID is empty")
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid container ID format: %q", id)
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container ID format: longer than 1024 characters")
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '+', c == '-', c == '.':
		default:
			return fmt.Errorf("invalid container ID format: %q (allowed: letters, digits, '_', '+', '-', '.')", id)
		}
	}
	return nil
}

// MkRoot makes the --root directory if needed.
func MkRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("create state root %s: %w", root, err)
	}
	return nil
}

// Create makes and locks the directory of a new container.
func Create(root, id string) (*Dir, error) {
	p := filepath.Join(root, id)
	if err := os.Mkdir(p, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with given ID already exists: %s", id)
		}
		return nil, fmt.Errorf("create state directory %s: %w", p, err)
	}
	d, err := open(p, unix.LOCK_EX)
	if err != nil {
		os.Remove(p)
		return nil, err
	}
	return d, nil
}

// Open locks an existing container directory. Exclusive for commands that
// change the container, shared for readers.
func Open(root, id string, exclusive bool) (*Dir, error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	d, err := open(filepath.Join(root, id), how)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotExist
	}
	return d, err
}

func open(p string, how int) (*Dir, error) {
	f, err := os.OpenFile(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state directory %s: %w", p, err)
	}
	return &Dir{Path: p, f: f}, nil
}

// Locked reports whether another process holds an exclusive lock on the
// container's directory (a create in progress).
func Locked(root, id string) bool {
	f, err := os.OpenFile(filepath.Join(root, id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	return false
}

// Unlock releases the lock (the directory may be gone).
func (d *Dir) Unlock() {
	if d != nil && d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

// Load reads state.json. A directory without one is an aborted create.
func (d *Dir) Load() (*State, error) { return Read(d.Path) }

// Read reads <dir>/state.json without locking (list, state).
func Read(dir string) (*State, error) {
	b, err := ReadSmallFile(filepath.Join(dir, StateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	s := new(State)
	if err := genjson.Decode(b, s, Decode); err != nil {
		return nil, fmt.Errorf("corrupt state file %s: %w (delete --force removes the container)", filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// ReadSmallFile reads a small file (a state file, /proc/<pid>/stat) with
// plain syscalls. os.ReadFile adds an fstat, fcntl calls, an attempt to
// register the file with the netpoller and an *os.File for each: on list's
// path, which reads two such files per container, they cost more than the
// reads.
func ReadSmallFile(path string) ([]byte, error) {
	b, err := sysfile.ReadSmall(path)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return b, nil
}

// Save writes state.json atomically.
func (d *Dir) Save(s *State) error {
	b, err := genjson.Encode(s, Encode)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return WriteFileAtomic(filepath.Join(d.Path, StateFile), b, 0o600)
}

// Pending is a state.json save whose temporary file is made ahead of time:
// on a disk-backed state root (ext4 here) making an inode is most of the
// cost of a save (~0.5-1 ms), and create makes it while it waits for the
// init instead of when the init is ready.
type Pending struct {
	path string
	tmp  *os.File
}

// PrepareSave makes the temporary file of a later Save.
func (d *Dir) PrepareSave() (*Pending, error) {
	path := filepath.Join(d.Path, StateFile)
	tmp, err := os.CreateTemp(d.Path, "."+StateFile+"-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Pending{path: path, tmp: tmp}, nil
}

// Save writes s to the prepared file and renames it over state.json. A
// Pending saves once.
func (p *Pending) Save(s *State) error {
	if p.tmp == nil {
		return fmt.Errorf("write %s: the prepared file was already used", p.path)
	}
	b, err := genjson.Encode(s, Encode)
	if err != nil {
		p.Discard()
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := p.tmp
	p.tmp = nil
	return commitTemp(tmp, p.path, b, 0o600)
}

// Discard removes the prepared file (a no-op after Save).
func (p *Pending) Discard() {
	if p != nil && p.tmp != nil {
		p.tmp.Close()
		os.Remove(p.tmp.Name())
		p.tmp = nil
	}
}

// SaveConfig writes the container's config.json atomically.
func (d *Dir) SaveConfig(s *specs.Spec) error {
	b, err := genjson.Encode(s, specjson.EncodeSpec)
	if err != nil {
		return fmt.Errorf("encode %s: %w", ConfigFile, err)
	}
	return WriteFileAtomic(filepath.Join(d.Path, ConfigFile), b, 0o600)
}

// Remove deletes the directory and everything in it, keeping the lock
// until the end so nobody sees a half-removed container.
func (d *Dir) Remove() error {
	err := os.RemoveAll(d.Path)
	d.Unlock()
	if err != nil {
		return fmt.Errorf("remove state directory %s: %w", d.Path, err)
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file next to path and renames
// it over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+base+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return commitTemp(tmp, path, data, perm)
}

// commitTemp writes data to the temporary file tmp, closes it and renames
// it over path; on failure tmp is removed.
func commitTemp(tmp *os.File, path string, data []byte, perm os.FileMode) error {
	name := tmp.Name()
	_, err := tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replace puts the file tmp at path atomically. Over an existing file it
// exchanges the two (renameat2 RENAME_EXCHANGE) and removes the old one
// under the temporary name: a plain rename over a file makes ext4 start
// writing the new file's data out at once (auto_da_alloc), and the unlink
// of that file by the next save or by delete, a few ms later, then waits
// for the disk (0.5 ms of a delete here, with /run on ext4). Readers see the
// old file or the new one at every moment either way; a skiff killed
// between the two steps leaves a temporary file, which the directory's
// removal takes with it.
func replace(tmp, path string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		// The new file is in place: the save succeeded even if the old
		// one stays behind under the temporary name.
		_ = os.Remove(tmp)
		return nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// Nothing to exchange with yet, or a file system without
		// RENAME_EXCHANGE.
		return os.Rename(tmp, path)
	}
	return err
}
