// Opt-in, for measurement: keep the kernel from mapping skiff's binary
// 64 KB at a time (build tag nofaultaround; `make skiff-nofaultaround`).
// Included by nsenter.c only.
//
// On a page fault in a file mapping the kernel maps not only the page that
// faulted but every page of the aligned 64 KB window around it that is in the
// page cache ("fault-around", /sys/kernel/debug/fault_around_bytes). In the
// Go linker's own order create's ~380 pages of code were spread over ~50 such
// windows of the 3.4 MB .text, and what it reads of the read-only data over
// ~37 more: at exit 5.5 MB of the binary were mapped where ~2.5 MB were
// touched (bench/README.md, "What bounds the targets"). The default build now
// puts the hot functions first (hack/golink), 14 windows; this build is also
// the training build of `make layout`, where every fault is one function.
//
// The kernel does no fault-around in a range registered with userfaultfd for
// write-protect tracking. With UFFD_FEATURE_WP_ASYNC (Linux 6.7) the kernel
// resolves write faults there itself, so no thread has to serve the fd, and
// the binary's read-only mappings are never written anyway. Registering them
// here, before the Go runtime runs, maps each page of code or data on its
// first use only: a create then peaks at ~3.7 MiB instead of ~6.2 MiB. It
// costs about one extra page fault per page touched (~550 for a create, ~1 ms
// here), and saves no memory: the binary's pages stay in the page cache,
// shared by every skiff process, whether mapped or not. Hence not the default.
//
// Best effort: without userfaultfd (older kernel, no privilege, a seccomp
// profile that refuses it) nothing changes. The fd stays open for the life of
// the process (closing it ends the registration) and is close-on-exec.

#ifdef SKIFF_NO_FAULT_AROUND
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define SKIFF_UFFD_FEATURE_WP_ASYNC (1ULL << 15) // linux/userfaultfd.h of 6.7

static int no_fault_around_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	int fd = *(int *)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || ph->p_memsz < 65536)
			continue;
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
		uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~(uintptr_t)4095;
		struct uffdio_register reg = {
			.range = { .start = start, .len = end - start },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		ioctl(fd, UFFDIO_REGISTER, &reg); // best effort
	}
	return 1; // the first object is the program itself
}

static void no_fault_around(void)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return;
	if (fd < 3) {
		// stdin, stdout or stderr was closed: that slot is the Go
		// runtime's to fill with /dev/null, and an fd 0-2 would be handed
		// on to whatever skiff starts, close-on-exec or not.
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		if (high < 0)
			return;
		fd = high;
	}
	struct uffdio_api api = { .api = UFFD_API, .features = SKIFF_UFFD_FEATURE_WP_ASYNC };
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return;
	}
	dl_iterate_phdr(no_fault_around_segment, &fd);
}
#else
static void no_fault_around(void)
{
}
#endif
