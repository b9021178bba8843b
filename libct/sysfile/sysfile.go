// Package sysfile reads the small files of procfs, cgroupfs and the state
// directory with plain syscalls. os.ReadFile adds an fstat, fcntl calls, an
// attempt to register the file with the netpoller and an *os.File each: on
// the paths that read one or two such files per container (list, status,
// cgroup settings) they cost more than the reads themselves.
package sysfile

import "golang.org/x/sys/unix"

// ReadSmall returns the whole content of path. Errors are the bare errno
// (callers name the path in their own messages).
func ReadSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 1024)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}
