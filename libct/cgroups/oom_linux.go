package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oomEventsV1 registers an eventfd for memory.oom_control through
// cgroup.event_control. The kernel signals it on every OOM and once more
// when the cgroup is removed, which is told apart by the cgroup being gone.
func oomEventsV1(dir string, stop <-chan struct{}) (<-chan struct{}, error) {
	if dir == "" {
		return nil, errors.New("the container has no memory cgroup to watch for OOM kills")
	}
	ctl, err := os.Open(dir + "/memory.oom_control")
	if err != nil {
		return nil, newFileError("", "open", dir+"/memory.oom_control", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("eventfd for OOM notifications: %s", errnoText(err))
	}
	ev := os.NewFile(uintptr(efd), "oom-eventfd")
	if err := writeFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, ctl.Fd()), ""); err != nil {
		ev.Close()
		ctl.Close()
		return nil, err
	}
	ch := make(chan struct{})
	go func() {
		<-stop
		ev.Close()
	}()
	go func() {
		defer close(ch)
		defer ctl.Close()
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			if !exists(dir + "/cgroup.event_control") {
				return
			}
			select {
			case ch <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	return ch, nil
}

// oomEventsV2 watches memory.events with inotify (the kernel notifies
// modifications of cgroup2 event files) and reports each rise of
// oom_kill; cgroup.events turning "populated 0" ends the stream, as the
// container has no process left to be killed.
func oomEventsV2(dir string, stop <-chan struct{}) (<-chan struct{}, error) {
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify for OOM notifications: %s", errnoText(err))
	}
	in := os.NewFile(uintptr(ifd), "oom-inotify")
	memWd, err := unix.InotifyAddWatch(ifd, dir+"/memory.events", unix.IN_MODIFY)
	if err != nil {
		in.Close()
		return nil, newFileError("", "watch", dir+"/memory.events", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, dir+"/cgroup.events", unix.IN_MODIFY); err != nil {
		in.Close()
		return nil, newFileError("", "watch", dir+"/cgroup.events", err)
	}
	last, _ := oomKillV2(dir)
	ch := make(chan struct{})
	go func() {
		<-stop
		in.Close()
	}()
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if ev.Mask&unix.IN_IGNORED != 0 {
					return // the cgroup was removed
				}
				if int(ev.Wd) == memWd {
					cur, err := oomKillV2(dir)
					if err != nil {
						return
					}
					for ; last < cur; last++ {
						select {
						case ch <- struct{}{}:
						case <-stop:
							return
						}
					}
					continue
				}
				if s, err := os.ReadFile(dir + "/cgroup.events"); err != nil || strings.Contains(string(s), "populated 0") {
					return
				}
			}
		}
	}()
	return ch, nil
}

func oomKillV2(dir string) (uint64, error) {
	s, err := readFile(dir, "memory.events")
	if err != nil {
		return 0, err
	}
	return parseFlatKeyed(s)["oom_kill"], nil
}

func oomKillV1(dir string) (uint64, error) {
	if dir == "" {
		return 0, errors.New("the container has no memory cgroup")
	}
	s, err := readFile(dir, "memory.oom_control")
	if err != nil {
		return 0, err
	}
	return parseFlatKeyed(s)["oom_kill"], nil
}

func (m *v1) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	return oomEventsV1(m.paths["memory"], stop)
}

func (m *v1) OOMKillCount() (uint64, error) {
	return oomKillV1(m.paths["memory"])
}
