// The pre-Go stage of `skiff init`.
//
// A Go program is multithreaded before main() runs, and the kernel refuses
// setns(CLONE_NEWUSER) and unshare(CLONE_NEWUSER) to a multithreaded caller;
// setns/unshare of pid and time namespaces only affect children, so a fork is
// needed anyway. This constructor runs before the Go runtime starts, while the
// process is still single-threaded, and does exactly those things, reading its
// orders from the bootstrap socket the parent passed in _SKIFF_BOOTSTRAP:
//
//   oom N            write N to /proc/self/oom_score_adj (before we may become
//                    non-dumpable, after which the file is no longer writable)
//   cgroup FD        write "0" to the v1 "tasks" file FD: a single-threaded
//                    process moving itself skips the kernel's global
//                    threadgroup lock, 0.03 ms instead of a 5-15 ms RCU wait
//   cgroup-later     the tasks files come in a second packet ("cgroups",
//                    the fds by SCM_RIGHTS) once the namespaces are made:
//                    the parent makes the cgroups meanwhile (never with a
//                    new user namespace, whose maps use the same socket);
//                    a new cgroup namespace is then made after the join
//   setns FD FLAGS   join a namespace (a /proc/<pid>/ns/<type> fd, or a pidfd
//                    with several CLONE_NEW* flags at once)
//   unshare FLAGS    create namespaces; a user namespace is created first and
//                    alone, then the parent writes its id maps
//   timens M_S M_NS B_S B_NS  monotonic and boottime offsets of a new time ns
//   fork             fork once more (CLONE_PARENT) so that the process that
//                    continues is inside the new pid and time namespaces
//   setsid           start a new session (every container process does)
//   fastexec         then finish an exec'd process here and exec it, without
//                    the Go runtime (fastexec.h has the x-* orders it reads)
//
// A process whose environment starts with _SKIFF_PARK= is instead a created
// container's init waiting for start (park.h). `skiff start`, `list` and
// `delete` themselves run here too, when they can (faststart.h,
// fastlist.h, fastdelete.h).
//
// It answers on the same socket with JSON messages the Go side of the parent
// understands: {"type":"usermap"} (then waits for one reply packet),
// {"type":"pid","pid":N} with the pid of the process that continues into Go,
// and {"type":"error","error":{...}} on failure, after which it exits 1.
//
// Everything is bounds-checked: the message comes from our own parent, but a
// parsing bug here would run as root in every container (CVE-2021-43784 was
// an integer overflow in runc's equivalent).

#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errnames.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1) // linux/fs.h, which musl's headers do not include
#endif

// An errno's name (ENOENT) and message, in the words of the Go side
// (errnames.h): the same whichever C library skiff is linked with.
static const char *skiff_errname(int e)
{
	for (size_t i = 0; i < sizeof(skiff_errnos) / sizeof(skiff_errnos[0]); i++)
		if (skiff_errnos[i].num == e)
			return skiff_errnos[i].name;
	return NULL;
}

static const char *skiff_strerror(int e)
{
	for (size_t i = 0; i < sizeof(skiff_errnos) / sizeof(skiff_errnos[0]); i++)
		if (skiff_errnos[i].num == e)
			return skiff_errnos[i].msg;
	static char unknown[32];
	snprintf(unknown, sizeof(unknown), "Errno %d", e); // Go's "errno N"
	return unknown;
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define BOOTSTRAP_MAX (1 << 20)
#define MAX_CGROUP_FDS 32
#define MAX_SETNS 16

static int sock_fd;
// The timer slack of skiff's caller in ns (libct/timerslack): the workload
// and hooks get it back; 0 if unknown.
unsigned long skiff_caller_timerslack;
// bail_stage is the "stage" of bail's errors: "nsenter", or "fastexec"
// once the fast exec steps run (the parent retries those with the Go init).
static const char *bail_stage = "nsenter";
static void bail(const char *op, int errnum, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
static char *next_field(char **line);
static int parse_long(const char *s, long long min, long long max, long long *out);

// skiff_build_id is the GNU build ID of the running binary in hex, ""
// when it has none: an exec template is only used by the build that wrote
// it (libct/exectemplate.go, execparent.h).
const char *skiff_build_id(void);

#include "fastexec.h"
#include "park.h"
#include "faststart.h"
#include "fastdelete.h"
#include "fastlist.h"
#include "faststate.h"
#include "fastkill.h"
#include "execparent.h"
#include "faultaround.h"

struct nsjoin {
	int fd;
	int flags;
};

struct bootstrap {
	int sock;
	int oom_set;
	long oom;
	int cgroup_fds[MAX_CGROUP_FDS];
	int ncgroup;
	struct nsjoin joins[MAX_SETNS];
	int njoin;
	int unshare_flags;
	int timens_set;
	long long mono_s, mono_ns, boot_s, boot_ns;
	int fork;
	int setsid;
	int cgroup_later;
	struct fastexec fx;
};

static int sock_fd = -1;

// json_escape copies s into out as a JSON string body (no quotes).
static void json_escape(char *out, size_t outlen, const char *s)
{
	size_t o = 0;
	for (; *s && o + 7 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c < 0x20) {
			o += snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
}

static void send_msg(const char *msg)
{
	if (sock_fd < 0)
		return;
	ssize_t n;
	do {
		n = send(sock_fd, msg, strlen(msg), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
}

// bail reports one structured error to the parent and exits. op names the
// step, errnum is 0 when there is no errno.
static void bail(const char *op, int errnum, const char *fmt, ...)
{
	char msg[512], esc[1100], out[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_escape(esc, sizeof(esc), msg);
	if (errnum) {
		const char *name = skiff_errname(errnum);
		snprintf(out, sizeof(out),
			 "{\"type\":\"error\",\"error\":{\"stage\":\"%s\",\"op\":\"%s\",\"errno\":\"%s\",\"msg\":\"%s: %s\"}}",
			 bail_stage, op, name ? name : "", esc, skiff_strerror(errnum));
	} else {
		snprintf(out, sizeof(out),
			 "{\"type\":\"error\",\"error\":{\"stage\":\"%s\",\"op\":\"%s\",\"msg\":\"%s\"}}", bail_stage, op, esc);
	}
	if (sock_fd < 0) {
		// No parent listens (the park, park.h): say it where a person
		// looks.
		dprintf(2, "skiff init: %s%s%s\n", msg, errnum ? ": " : "", errnum ? skiff_strerror(errnum) : "");
		_exit(255);
	}
	send_msg(out);
	_exit(1);
}

static int parse_long(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || (*end != '\0' && *end != ' ') || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

// next_field returns the next space-separated field of *line, or NULL.
static char *next_field(char **line)
{
	char *s = *line;
	if (!s || !*s)
		return NULL;
	char *sp = strchr(s, ' ');
	if (sp) {
		*sp = '\0';
		*line = sp + 1;
	} else {
		*line = s + strlen(s);
	}
	return s;
}

static long long need_num(char **line, long long min, long long max, const char *what)
{
	long long v;
	char *f = next_field(line);
	if (!f || parse_long(f, min, max, &v) < 0)
		bail("bootstrap", 0, "bad or missing %s in bootstrap data", what);
	return v;
}

static void parse_bootstrap(struct bootstrap *b, char *buf)
{
	char *saveptr = NULL;
	for (char *line = strtok_r(buf, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
		char *rest = line;
		char *key = next_field(&rest);
		if (!key)
			continue;
		if (!strcmp(key, "oom")) {
			b->oom = need_num(&rest, -1000, 1000, "oom score");
			b->oom_set = 1;
		} else if (!strcmp(key, "cgroup-later")) {
			b->cgroup_later = 1;
		} else if (!strcmp(key, "cgroup")) {
			if (b->ncgroup >= MAX_CGROUP_FDS)
				bail("bootstrap", 0, "too many cgroup fds");
			b->cgroup_fds[b->ncgroup++] = need_num(&rest, 3, INT_MAX, "cgroup fd");
		} else if (!strcmp(key, "setns")) {
			if (b->njoin >= MAX_SETNS)
				bail("bootstrap", 0, "too many namespaces to join");
			b->joins[b->njoin].fd = need_num(&rest, 3, INT_MAX, "setns fd");
			b->joins[b->njoin].flags = need_num(&rest, 0, INT_MAX, "setns flags");
			b->njoin++;
		} else if (!strcmp(key, "unshare")) {
			b->unshare_flags = need_num(&rest, 0, INT_MAX, "unshare flags");
		} else if (!strcmp(key, "timens")) {
			b->mono_s = need_num(&rest, LLONG_MIN / 2, LLONG_MAX / 2, "monotonic seconds");
			b->mono_ns = need_num(&rest, 0, 999999999, "monotonic nanoseconds");
			b->boot_s = need_num(&rest, LLONG_MIN / 2, LLONG_MAX / 2, "boottime seconds");
			b->boot_ns = need_num(&rest, 0, 999999999, "boottime nanoseconds");
			b->timens_set = 1;
		} else if (!strcmp(key, "fork")) {
			b->fork = 1;
		} else if (!strcmp(key, "setsid")) {
			b->setsid = 1;
		} else if (!strcmp(key, "fastexec")) {
			b->fx.on = 1;
		} else if (!strncmp(key, "x-", 2)) {
			fastexec_parse(&b->fx, key, &rest);
		} else {
			bail("bootstrap", 0, "unknown bootstrap directive");
		}
	}
}

static const char *nsname(int flag)
{
	switch (flag) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "several";
}

static void wait_reply(const char *what)
{
	char buf[64];
	ssize_t n;
	do {
		n = recv(sock_fd, buf, sizeof(buf), 0);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		bail(what, n < 0 ? errno : 0, "parent did not answer the %s request", what);
}

static void become_root(void)
{
	// The parent mapped container root; become it so later steps have
	// privilege inside the new user namespace.
	if (setresgid(0, 0, 0) < 0)
		bail("setresgid", errno, "cannot become gid 0 in the user namespace (is gid 0 mapped?)");
	if (setresuid(0, 0, 0) < 0)
		bail("setresuid", errno, "cannot become uid 0 in the user namespace (is uid 0 mapped?)");
}

static void join_namespaces(struct bootstrap *b)
{
	int pending[MAX_SETNS], npending = 0;

	// Non-user namespaces first: some are owned by user namespaces we may
	// only have privilege over before we join another one. EPERM is retried
	// after the user namespace, like nsenter(1).
	for (int i = 0; i < b->njoin; i++) {
		if (b->joins[i].flags & CLONE_NEWUSER) {
			pending[npending++] = i;
			continue;
		}
		if (setns(b->joins[i].fd, b->joins[i].flags) < 0) {
			if (errno == EPERM) {
				pending[npending++] = i;
				continue;
			}
			bail("setns", errno, "cannot join the %s namespace", nsname(b->joins[i].flags));
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < npending; k++) {
			int i = pending[k];
			int is_user = b->joins[i].flags & CLONE_NEWUSER;
			if ((pass == 0) != (is_user != 0))
				continue;
			if (setns(b->joins[i].fd, b->joins[i].flags) < 0)
				bail("setns", errno, "cannot join the %s namespace", nsname(b->joins[i].flags));
			if (is_user)
				become_root();
		}
	}
	for (int i = 0; i < b->njoin; i++)
		close(b->joins[i].fd);
}

static void join_cgroups(struct bootstrap *b)
{
	for (int i = 0; i < b->ncgroup; i++) {
		ssize_t w;
		do {
			w = write(b->cgroup_fds[i], "0", 1);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			bail("cgroup", errno, "cannot join the container's cgroup (write to its tasks file)");
		close(b->cgroup_fds[i]);
	}
	b->ncgroup = 0;
}

// recv_packet reads one packet from the parent (fds close-on-exec); it
// exits when the parent is gone: nothing to report to.
static ssize_t recv_packet(struct msghdr *mh, const char *what)
{
	ssize_t n;
	do {
		n = recvmsg(sock_fd, mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		bail("bootstrap", errno, "cannot read %s", what);
	if (n == 0)
		_exit(1);
	return n;
}

// recv_cgroup_fds reads the "cgroups" packet of cgroup-later.
static void recv_cgroup_fds(struct bootstrap *b)
{
	char buf[16];
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_CGROUP_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n = recv_packet(&mh, "the cgroup task files");
	buf[n] = '\0';
	if (strcmp(buf, "cgroups") || (mh.msg_flags & MSG_CTRUNC))
		bail("bootstrap", 0, "bad cgroup task files message");
	b->ncgroup = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[MAX_CGROUP_FDS];
		if (cnt > MAX_CGROUP_FDS)
			bail("bootstrap", 0, "too many cgroup fds");
		memcpy(fds, CMSG_DATA(c), cnt * sizeof(int));
		for (size_t i = 0; i < cnt; i++) {
			if (b->ncgroup >= MAX_CGROUP_FDS)
				bail("bootstrap", 0, "too many cgroup fds");
			b->cgroup_fds[b->ncgroup++] = fds[i];
		}
	}
}

static void write_file(const char *path, const char *data, const char *what)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail(what, errno, "cannot open %s", path);
	ssize_t n = write(fd, data, strlen(data));
	if (n < 0)
		bail(what, errno, "cannot write %s", path);
	close(fd);
}

// Every skiff process runs with a timer slack of 0.5 ms (libct/timerslack
// says why); set here, before the Go runtime makes its threads, so that all
// of them inherit it. The caller's value is recorded first: the thread's
// own, or for an init the one its parent passed (it inherited skiff's).
#define SKIFF_TIMERSLACK_NS 500000UL

static void raise_timerslack(void)
{
	const char *env = getenv("_SKIFF_TIMERSLACK");
	long long v;
	if (env && getenv("_SKIFF_BOOTSTRAP") && parse_long(env, 1, LONG_MAX, &v) == 0) {
		skiff_caller_timerslack = (unsigned long)v;
	} else {
		long cur = syscall(SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0);
		if (cur <= 0)
			return; // unknown: leave everything as it is
		skiff_caller_timerslack = (unsigned long)cur;
	}
	prctl(PR_SET_TIMERSLACK, SKIFF_TIMERSLACK_NS, 0, 0, 0);
}

static void nsenter(void)
{
	const char *env = getenv("_SKIFF_BOOTSTRAP");
	if (!env)
		return;

	long long fd;
	if (parse_long(env, 3, INT_MAX, &fd) < 0)
		_exit(1);
	sock_fd = (int)fd;

	struct bootstrap b;
	memset(&b, 0, sizeof(b));
	// In .bss, not malloc'd: a 1 MB malloc is an mmap, and its free a
	// munmap; only the pages the packet fills are ever touched.
	static char buf[BOOTSTRAP_MAX + 1];
	struct iovec iov = {.iov_base = buf, .iov_len = BOOTSTRAP_MAX};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recv_packet(&mh, "bootstrap data");
	buf[n] = '\0';
	parse_bootstrap(&b, buf);

	// Die with the parent until it has recorded us (it clears this later).
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	if (b.oom_set) {
		char s[16];
		snprintf(s, sizeof(s), "%ld", b.oom);
		write_file("/proc/self/oom_score_adj", s, "oom_score_adj");
	}

	if (!b.cgroup_later)
		join_cgroups(&b);

	// While we enter namespaces that already have processes in them, do not
	// let those processes ptrace us or open our /proc files (CVE-2016-9962).
	if (b.njoin > 0)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	join_namespaces(&b);

	int flags = b.unshare_flags;
	if (flags & CLONE_NEWUSER) {
		// The user namespace comes first and alone: its maps must be written
		// by the parent, which still has privilege in the parent namespace,
		// and namespaces created later must be owned by it.
		if (unshare(CLONE_NEWUSER) < 0)
			bail("unshare", errno, "cannot create the user namespace");
		// The parent writes /proc/<pid>/{uid,gid}_map: it needs us dumpable.
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		send_msg("{\"type\":\"usermap\"}");
		wait_reply("usermap");
		become_root();
		flags &= ~CLONE_NEWUSER;
	}
	int cgroupns_late = b.cgroup_later && (flags & CLONE_NEWCGROUP);
	if (cgroupns_late)
		flags &= ~CLONE_NEWCGROUP;
	if (flags) {
		if (unshare(flags) < 0)
			bail("unshare", errno, "cannot create namespaces (flags 0x%x)", flags);
	}
	if (b.cgroup_later) {
		recv_cgroup_fds(&b);
		join_cgroups(&b);
		// The new cgroup namespace's root is the cgroup we are in.
		if (cgroupns_late && unshare(CLONE_NEWCGROUP) < 0)
			bail("unshare", errno, "cannot create the cgroup namespace");
	}
	if (b.timens_set) {
		char s[128];
		snprintf(s, sizeof(s), "monotonic %lld %lld\nboottime %lld %lld\n", b.mono_s, b.mono_ns, b.boot_s, b.boot_ns);
		write_file("/proc/self/timens_offsets", s, "timens_offsets");
	}

	if (b.fork) {
		// CLONE_PARENT: the process that continues is the caller's child, so
		// `skiff run` can wait for it and, once create exits, it is
		// re-parented to the caller's subreaper (the shim, conmon).
		pid_t child = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
		if (child < 0)
			bail("clone", errno, "cannot fork into the new pid namespace");
		if (child > 0) {
			char out[64];
			snprintf(out, sizeof(out), "{\"type\":\"pid\",\"pid\":%d}", child);
			send_msg(out);
			_exit(0);
		}
		// The death signal is not inherited across fork.
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	} else {
		char out[64];
		snprintf(out, sizeof(out), "{\"type\":\"pid\",\"pid\":%d}", getpid());
		send_msg(out);
	}
	if (b.setsid && setsid() < 0)
		bail("setsid", errno, "cannot start a new session");
	if (b.fx.on)
		fastexec_run(&b.fx); // does not return
	// The Go runtime now starts inside every namespace, in the cgroup.
}

static char build_id[2 * 64 + 1];

// build_id_note finds the NT_GNU_BUILD_ID note in the first object, the
// program itself.
static int build_id_note(struct dl_phdr_info *info, size_t size, void *data)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *n = (const void *)p;
			const char *name = p + sizeof(*n);
			const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
			if ((const char *)desc > end || n->n_descsz > (size_t)(end - (const char *)desc))
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) && n->n_descsz <= 64) {
				for (size_t k = 0; k < n->n_descsz; k++)
					snprintf(build_id + 2 * k, 3, "%02x", desc[k]);
				return 1;
			}
			p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

const char *skiff_build_id(void)
{
	static int done;
	if (!done) {
		done = 1;
		dl_iterate_phdr(build_id_note, NULL);
	}
	return build_id;
}

// keep_thread_start_slot holds one small heap slot for the life of the
// process. For every thread it starts, the Go runtime mallocs a 24-byte
// start record (runtime/cgo's ThreadStart) that the new thread frees. musl's
// allocator gives an emptied group of slots back to the kernel at once, so
// without a slot that stays in use each thread start was an mmap of a page
// and, in the new thread, its munmap: a TLB shootdown, an interrupt to every
// CPU running another thread of the process (5 in a `skiff run`, 4 in its
// init). glibc's allocator keeps freed memory; there it changes nothing.
static void *volatile thread_start_slot;
static void keep_thread_start_slot(void)
{
	thread_start_slot = malloc(3 * sizeof(void *));
}

// fast_cli runs `skiff start`, `list`, `delete`, `state`, `kill` and a
// plain `exec` here when it can; it returns when Go must run the command.
static void fast_cli(int argc, char **argv)
{
	const char *root, *log;
	int explicit_root;
	int verb = fs_globals(argc, argv, &root, &explicit_root, &log);
	if (verb < 0)
		return;
	if (!strcmp(argv[verb], "start"))
		fast_start(argc, argv, verb, root, log);
	else if (!strcmp(argv[verb], "list"))
		fast_list(argc, argv, verb, root, explicit_root, log);
	else if (!strcmp(argv[verb], "delete"))
		fast_delete(argc, argv, verb, root, log);
	else if (!strcmp(argv[verb], "state"))
		fast_state(argc, argv, verb, root, log);
	else if (!strcmp(argv[verb], "kill"))
		fast_kill(argc, argv, verb, root, log);
	else if (!strcmp(argv[verb], "exec"))
		fast_exec(argc, argv, verb, root, log);
}

// glibc passes a constructor the program's argc, argv and environment.
#ifdef __GLIBC__
__attribute__((constructor)) static void skiff_nsenter(int argc, char **argv, char **envp)
{
#else
// musl calls constructors without arguments. The process's initial stack
// holds argc, argv[0..argc-1], NULL, envp[...], and nothing has changed
// environ yet: walking back from envp, argc is the first word that equals
// the number of words passed (argv's are pointers, never that small).
extern char **environ;
__attribute__((constructor)) static void skiff_nsenter(void)
{
	char **envp = environ;
	int argc = 0;
	char **argv = NULL;
	if (envp) {
		long k = 0;
		while (k < (1L << 24) && (long)envp[-2 - k] != k)
			k++;
		if (k < (1L << 24)) {
			argc = (int)k;
			argv = envp - 1 - k;
		}
	}
#endif
	// A parked init (park.h) keeps the caller's timer slack: the workload
	// gets it.
	if (envp && envp[0] && !strncmp(envp[0], "_SKIFF_PARK=", 12))
		park(argc, argv, envp);
	// `skiff start`, `list`, `delete`, `state` and `kill` (faststart.h,
	// fastlist.h, fastdelete.h, faststate.h, fastkill.h): return only when
	// Go must do it (or, for start, report how it failed).
	if (argc > 1 && !getenv("_SKIFF_BOOTSTRAP"))
		fast_cli(argc, argv);
	keep_thread_start_slot();
	raise_timerslack();
	nsenter();
	// Go runs next, in this process (nsenter may have forked: a child
	// does not inherit the registration). With build tag nofaultaround,
	// the binary is mapped page by page from here on (faultaround.h).
	no_fault_around();
}
