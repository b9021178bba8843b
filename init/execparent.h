// The fast exec parent: `skiff exec [--process P] [--detach] [--pid-file F]
// ID [CMD ARGS...]` done here, before the Go runtime starts. Included by
// nsenter.c only, after faststart.h (its state reader) and fastexec.h.
//
// The Go exec parent (exec.go, libct/exec.go) spends ~3.5 ms starting its
// runtime and ~2.5 ms more before it spawns the process that joins the
// container: the CLI, state.json, the saved config and its process, the
// capabilities and seccomp program, the cgroup task files, the pidfd, the
// sealed binary. All of it depends on the container and the process alone,
// so an exec that took the fast road saves what it sent the init's
// constructor in the container's exec template (libct/exectemplate.go has
// the format): an entry for a command, and one per --process file content.
// This constructor finds the entry (a process JSON byte for byte: an
// engine's exec probe sends the same one every time), opens the task files,
// the init's pidfd and a sealed view of the binary, starts `skiff init`
// from it exactly as libct/spawn.go does, and sends the saved orders (with
// the command's x-arg ones for a command). Then, as exec.go: the pid file,
// and either exit (--detach) or wait for the process, forwarding signals,
// and exit with its status.
//
// Only these cases are handled here; everything else returns to the Go
// exec, which starts over (nothing has happened that it would see):
//
//   - any other exec option, a global one fs_globals does not handle, a
//     pid file path that is not clean, SKIFF_EXEC=go (the Go parent),
//     SKIFF_EXEC_INIT=go (the Go init), SKIFF_TEST_HANG, no command;
//   - a container that is not created or running (missing, paused,
//     stopped, being created), rootless, or without an entry for this
//     exec, or whose template no longer matches it (another init, a
//     changed config.json, a cgroup2 directory that now delegates);
//   - a binary path overlayfs cannot take as a layer (the Go parent copies
//     it into a sealed memfd instead), or any failure of a system call;
//   - any failure reported by the init's constructor before the workload's
//     execve: the Go exec then tries again and explains the failure.
//
// After the workload's execve nothing is left to Go: a pid file that cannot
// be put in place kills the process (as exec.go does) and the error goes
// to Go in skiff_fast_error, to be reported.

#include <linux/mount.h>

#define EP_TEMPLATE_MAX (1 << 20)
#define EP_BOOT_MAX ((1 << 20) - 4096)
#define EP_MAX_TASKS 32

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct ep_clone_args {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

struct ep_template {
	long long pid;
	unsigned long long start;
	unsigned long long cino, csize, cmtime;
	char *tasks[EP_MAX_TASKS];
	int ntasks;
	char *cgroup_dir, *recheck;
	long long nsflags;
	int fork;
	// The entry found: its orders (NUL-terminated), and whether the
	// command's arguments are to be added.
	char *orders;
	int add_args;
};

// ep_unhex decodes a whole hex field into a new string; NULL if it is not
// one (or holds a NUL).
static char *ep_unhex(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n % 2)
		return NULL;
	char *out = malloc(n / 2 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = h[2 * i + k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0) {
				free(out);
				return NULL;
			}
			v = v * 16 + d;
		}
		if (v == 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	return out;
}

static int ep_ull(char **line, unsigned long long *out)
{
	char *f = next_field(line);
	long long v;
	if (!f || parse_long(f, 0, LLONG_MAX, &v) < 0)
		return -1;
	*out = (unsigned long long)v;
	return 0;
}

// ep_parse reads the template in buf (len bytes, NUL-terminated) and finds
// the entry of the process JSON pj (pjlen bytes), or of a command (pj
// NULL); -1 when it is not a template this reader knows entirely, or has
// no such entry.
static int ep_parse(char *buf, size_t len, const char *pj, size_t pjlen, struct ep_template *t)
{
	char *p = buf, *end = buf + len;
	char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return -1;
	*nl = '\0';
	if (strcmp(p, "skiff-exec-template 1"))
		return -1;
	p = nl + 1;
	int have_init = 0, have_config = 0, have_build = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -1;
		*nl = '\0';
		char *line = p;
		p = nl + 1;
		char *key = next_field(&line);
		if (!key)
			return -1;
		unsigned long long a, b, c;
		if (!strcmp(key, "command") || !strcmp(key, "process")) {
			int proc = key[0] == 'p';
			a = 0;
			if ((proc && ep_ull(&line, &a) < 0) || ep_ull(&line, &b) < 0 || next_field(&line) ||
			    a > (size_t)(end - p) || b > (size_t)(end - p) - a || !have_init || !have_config || !have_build)
				return -1;
			char *json = p, *orders = p + a;
			p = orders + b;
			if (proc != (pj != NULL) || (proc && (a != pjlen || memcmp(json, pj, pjlen))))
				continue;
			// The writer keeps one entry a key.
			t->orders = orders;
			t->add_args = !proc;
			orders[b] = '\0'; // the next entry's first byte, or the end
			return strncmp(orders, "fastexec\n", 9) && strncmp(orders, "oom ", 4) ? -1 : 0;
		}
		if (!strcmp(key, "build")) {
			// Written by another build of skiff (an upgrade): its orders
			// are for that build's constructor.
			char *f = next_field(&line);
			const char *mine = skiff_build_id();
			if (!f || !*mine || strcmp(f, mine))
				return -1;
			have_build = 1;
		} else if (!strcmp(key, "init")) {
			if (ep_ull(&line, &a) < 0 || ep_ull(&line, &b) < 0)
				return -1;
			t->pid = (long long)a;
			t->start = b;
			have_init = 1;
		} else if (!strcmp(key, "config")) {
			if (ep_ull(&line, &a) < 0 || ep_ull(&line, &b) < 0 || ep_ull(&line, &c) < 0)
				return -1;
			t->cino = a, t->csize = b, t->cmtime = c;
			have_config = 1;
		} else if (!strcmp(key, "task") || !strcmp(key, "cgroup-dir") || !strcmp(key, "recheck")) {
			char *h = next_field(&line);
			char *v = h ? ep_unhex(h) : NULL;
			if (!v)
				return -1;
			if (key[0] == 't') {
				if (t->ntasks == EP_MAX_TASKS)
					return -1;
				t->tasks[t->ntasks++] = v;
			} else if (key[0] == 'c') {
				t->cgroup_dir = v;
			} else {
				t->recheck = v;
			}
		} else if (!strcmp(key, "setns")) {
			if (ep_ull(&line, &a) < 0 || a > INT_MAX)
				return -1;
			t->nsflags = (long long)a;
		} else if (!strcmp(key, "fork")) {
			t->fork = 1;
		} else {
			return -1;
		}
		if (next_field(&line))
			return -1;
	}
	return -1;
}

// ep_read reads dirfd's name whole into a new NUL-terminated buffer of
// *len bytes; NULL when it is not a regular file of at most max bytes.
static char *ep_read(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[got] = '\0';
			*len = got;
		}
	}
	close(fd);
	return buf;
}

// ep_clean_abs makes path absolute against the working directory, as
// filepath.Abs does, into out; -1 when it is not already clean (".", ".."
// or empty components, a trailing slash): Go decides then.
static int ep_clean_abs(const char *path, char *out, size_t cap)
{
	if (!*path)
		return -1;
	for (const char *c = path; *c;) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);
		if ((n == 0 && c != path) || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -1;
		c = *e ? e + 1 : e;
		if (*e && !*c)
			return -1; // trailing slash
	}
	if (path[0] == '/') {
		if (path[1] == '/' || !path[1] || (size_t)snprintf(out, cap, "%s", path) >= cap)
			return -1;
		return 0;
	}
	char cwd[FS_PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		return -1;
	if ((size_t)snprintf(out, cap, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) >= cap)
		return -1;
	return 0;
}

// ep_pidfile is an open temporary file beside the pid file, as
// state.WriteFileAtomic makes it; put in place by ep_pidfile_commit.
struct ep_pidfile {
	int fd;
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX + 16];
};

static int ep_pidfile_open(struct ep_pidfile *f, const char *path)
{
	f->fd = -1;
	if (ep_clean_abs(path, f->path, sizeof(f->path)) < 0)
		return -1;
	char *slash = strrchr(f->path, '/');
	int n = snprintf(f->tmp, sizeof(f->tmp), "%.*s.%s-XXXXXX", (int)(slash + 1 - f->path), f->path, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(f->tmp))
		return -1;
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	return f->fd < 0 ? -1 : 0;
}

// ep_pidfile_commit writes pid and puts the file in place (exchanged with
// an old one, which then goes, as state.replace does): NULL, or the error
// worded as Go's.
static const char *ep_pidfile_commit(struct ep_pidfile *f, pid_t pid)
{
	static char err[3 * FS_PATH_MAX + 128], what[2 * FS_PATH_MAX + 64];
	char num[24];
	int n = snprintf(num, sizeof(num), "%d", (int)pid);
	int e = 0;
	what[0] = '\0';
	if (write(f->fd, num, (size_t)n) != n)
		e = errno, snprintf(what, sizeof(what), "write %s: ", f->tmp);
	else if (fchmod(f->fd, 0644) < 0)
		e = errno, snprintf(what, sizeof(what), "chmod %s: ", f->tmp);
	if (close(f->fd) < 0 && !e)
		e = errno, snprintf(what, sizeof(what), "close %s: ", f->tmp);
	f->fd = -1;
	if (!e) {
		if (syscall(SYS_renameat2, AT_FDCWD, f->tmp, AT_FDCWD, f->path, RENAME_EXCHANGE) == 0) {
			unlink(f->tmp); // the old file, under the temporary name
			return NULL;
		}
		e = errno;
		if (e != ENOENT && e != EINVAL && e != ENOSYS)
			; // the exchange's own error, bare
		else if (rename(f->tmp, f->path) == 0)
			return NULL;
		else
			e = errno, snprintf(what, sizeof(what), "rename %s %s: ", f->tmp, f->path);
	}
	unlink(f->tmp);
	// Go's error strings are skiff_strerror's, starting lower case.
	snprintf(err, sizeof(err), "--pid-file: write %s: %s%s", f->path, what, skiff_strerror(e));
	char *m = err + strlen(err) - strlen(skiff_strerror(e));
	if (*m >= 'A' && *m <= 'Z')
		*m = (char)(*m - 'A' + 'a');
	return err;
}

// ep_sealed opens the read-only overlay view of the running binary that
// libct/selfexe makes (the binary's directory over scratch, never
// attached): *mnt is the mount (its close unmounts it), the result an
// O_PATH fd of the binary in it, or -1.
static int ep_sealed(const char *scratch, int *mnt)
{
	static char exe[FS_PATH_MAX], lower[2 * FS_PATH_MAX + 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	size_t dl = (size_t)n;
	if (!slash || exe[0] != '/' || (dl > 10 && !strcmp(exe + dl - 10, " (deleted)")))
		return -1;
	*slash = '\0';
	const char *dir = slash == exe ? "/" : exe, *base = slash + 1;
	// The legacy lowerdir syntax separates with ':' and escapes with '\'.
	if (strpbrk(dir, ":\\,") || strpbrk(scratch, ":\\,") || !*base)
		return -1;
	snprintf(lower, sizeof(lower), "%s:%s", dir, scratch);
	int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	int m = -1, fd = -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) == 0 &&
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
	close(fs);
	if (m >= 0 && (fd = openat(m, base, O_PATH | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		close(m);
		m = -1;
	}
	*mnt = m;
	return fd;
}

// ep_delegates: the cgroup2 directory's cgroup.subtree_control is not
// empty (or cannot be read): the Go exec would choose a leaf below it.
static int ep_delegates(const char *dir)
{
	char path[FS_PATH_MAX + 32], buf[512];
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir) >= sizeof(path))
		return 1;
	ssize_t n = fs_read_small(AT_FDCWD, path, buf, sizeof(buf));
	return n < 0 || (n > 0 && !(n == 1 && buf[0] == '\n'));
}

// ep_reap collects exited children without blocking, as exec.go's reap:
// the workload's status once it is among them, else -1.
static int ep_reap(pid_t pid)
{
	for (;;) {
		int st;
		pid_t got = waitpid(-1, &st, WNOHANG);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (got == pid)
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	}
}

// ep_child arranges the fds of `skiff init` as spawn.go does (stdio, then
// src[0..n-1] at 3..) and executes it from the sealed view.
static void ep_child(int *src, int n, const char *path, char **argv, char **envp, const sigset_t *mask)
    __attribute__((noreturn));
static void ep_child(int *src, int n, const char *path, char **argv, char **envp, const sigset_t *mask)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	// The Go parent handled every signal, so its child starts with all of
	// them at their default.
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	int tmp[EP_MAX_TASKS + 3];
	for (int i = 0; i < n; i++)
		if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3 + n)) < 0)
			_exit(127);
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			_exit(127);
	syscall(SYS_close_range, 3 + n, ~0U, 0);
	if (chdir("/") < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(path, argv, envp);
	_exit(127);
}

// ep_stdio opens /dev/null on a closed fd 0, 1 or 2, as the Go runtime
// does at its start: else the first file opened here would take its
// number, and the workload would get it as its stdin (a cgroup tasks file,
// the init's pidfd). -1 if it cannot (Go then fails the same way).
static int ep_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n != fd) {
			if (n >= 0)
				close(n);
			return -1;
		}
	}
	return 0;
}

// ep_options reads the exec options before the id: --process (-p),
// --pid-file and --detach (-d) in urfave/cli's spellings; the index of the
// id, or -1 for anything else.
static int ep_options(int argc, char **argv, int i, const char **process, const char **pidfile, int *detach)
{
	const char *v;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (fs_option(argc, argv, &i, "process", &v) || fs_option(argc, argv, &i, "p", &v))
			*process = v;
		else if (fs_option(argc, argv, &i, "pid-file", &v))
			*pidfile = v;
		else if (!strcmp(a, "detach") || !strcmp(a, "d"))
			*detach = 1;
		else
			return -1;
	}
	return i < argc ? i : -1;
}

// fast_exec returns when the Go exec must run (with skiff_fast_error set
// when it failed after the workload started); else it exits as exec.go.
static void fast_exec(int argc, char **argv, int verb, const char *root, const char *log)
{
	const char *env = getenv("SKIFF_EXEC"), *einit = getenv("SKIFF_EXEC_INIT"), *hang = getenv("SKIFF_TEST_HANG");
	if ((env && !strcmp(env, "go")) || (einit && !strcmp(einit, "go")) || (hang && *hang))
		return;
	const char *process = NULL, *pidfile = NULL;
	int detach = 0;
	int i = ep_options(argc, argv, verb + 1, &process, &pidfile, &detach);
	if (i < 0 || (process && !*process) || (pidfile && !*pidfile))
		return;
	const char *id = argv[i];
	char **cmd = argv + i + 1;
	int ncmd = argc - i - 1;
	// With --process, exec.go ignores what follows the id.
	if (process ? ncmd != 0 : (ncmd < 1 || !cmd[0][0]))
		return;
	if (process)
		ncmd = 0;
	if (!fs_valid_id(id) || fs_open_log(log) < 0 || ep_stdio() < 0)
		return;

	struct fs_state *s = fs_load_live(root, id);
	if (!s || s->rootless)
		return;
	static char dir[FS_PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, id) >= sizeof(dir))
		return;
	size_t pjlen = 0, tlen = 0;
	char *pj = NULL;
	if (process && !(pj = ep_read(AT_FDCWD, process, EP_TEMPLATE_MAX, &pjlen)))
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	struct ep_template t;
	memset(&t, 0, sizeof(t));
	struct stat cst;
	char *tbuf = ep_read(dfd, "exec.template", EP_TEMPLATE_MAX, &tlen);
	int ok = tbuf && ep_parse(tbuf, tlen, pj, pjlen, &t) == 0 && t.pid == s->pid && t.start == s->pid_start &&
		 fstatat(dfd, "config.json", &cst, AT_SYMLINK_NOFOLLOW) == 0 && (unsigned long long)cst.st_ino == t.cino &&
		 (unsigned long long)cst.st_size == t.csize &&
		 (unsigned long long)cst.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)cst.st_mtim.tv_nsec == t.cmtime &&
		 !(t.recheck && ep_delegates(t.recheck));
	close(dfd);
	free(pj);

	// The child's fds from 3: the task files, the init's pidfd, the
	// socket, the sealed binary (libct/exec.go and spawn.go's order).
	int fds[EP_MAX_TASKS + 3], nfds = 0, cgdir = -1, mnt = -1, exe = -1, sock[2] = {-1, -1};
	int pidfd = -1;
	char *boot = NULL;
	static struct ep_pidfile pf;
	pf.fd = -1;
	if (ok && pidfile)
		ok = ep_pidfile_open(&pf, pidfile) == 0;
	if (ok)
		ok = (pidfd = fs_init_pidfd(s)) >= 0;
	for (int k = 0; ok && k < t.ntasks; k++)
		ok = (fds[nfds++] = open(t.tasks[k], O_WRONLY | O_CLOEXEC)) >= 0;
	if (ok && t.nsflags)
		fds[nfds++] = pidfd;
	if (ok && t.cgroup_dir)
		ok = (cgdir = open(t.cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0;
	if (ok)
		ok = (exe = ep_sealed(dir, &mnt)) >= 0;
	if (ok)
		ok = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) == 0;
	size_t blen = 0;
	if (ok) {
		int max = 4 << 20; // libct/proto's maxPacket
		for (int k = 0; k < 2; k++) {
			if (setsockopt(sock[k], SOL_SOCKET, SO_SNDBUFFORCE, &max, sizeof(max)) < 0)
				setsockopt(sock[k], SOL_SOCKET, SO_SNDBUF, &max, sizeof(max));
			if (setsockopt(sock[k], SOL_SOCKET, SO_RCVBUFFORCE, &max, sizeof(max)) < 0)
				setsockopt(sock[k], SOL_SOCKET, SO_RCVBUF, &max, sizeof(max));
		}
		fds[nfds++] = sock[1];
		fds[nfds++] = exe;
		// The orders, as libct/exec.go writes them, then the command.
		size_t cap = strlen(t.orders) + 256 + 32 * (size_t)t.ntasks;
		for (int k = 0; k < ncmd; k++)
			cap += 7 + 2 * strlen(cmd[k]);
		ok = cap <= EP_BOOT_MAX && (boot = malloc(cap));
	}
	if (ok) {
		for (int k = 0; k < t.ntasks; k++)
			blen += (size_t)sprintf(boot + blen, "cgroup %d\n", 3 + k);
		if (t.nsflags)
			blen += (size_t)sprintf(boot + blen, "setns %d %lld\n", 3 + t.ntasks, t.nsflags);
		if (t.fork)
			blen += (size_t)sprintf(boot + blen, "fork\n");
		blen += (size_t)sprintf(boot + blen, "setsid\n");
		size_t ol = strlen(t.orders);
		memcpy(boot + blen, t.orders, ol);
		blen += ol;
		static const char hex[] = "0123456789abcdef";
		for (int k = 0; k < ncmd; k++) {
			memcpy(boot + blen, "x-arg ", 6);
			blen += 6;
			if (!cmd[k][0])
				boot[blen++] = '-'; // fastexec.h's empty string
			for (const unsigned char *c = (const unsigned char *)cmd[k]; *c; c++) {
				boot[blen++] = hex[*c >> 4];
				boot[blen++] = hex[*c & 15];
			}
			boot[blen++] = '\n';
		}
	}

	pid_t first = -1, wpid = -1;
	// exec.go catches every signal before it starts the process, to pass
	// them on; a detached exec catches none.
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(detach ? SIG_SETMASK : SIG_BLOCK, detach ? NULL : &all, &old);
	if (ok) {
		static char path[32], benv[48], xenv[48], slack[48];
		int sockn = 3 + nfds - 2, exen = 3 + nfds - 1;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", exen);
		snprintf(benv, sizeof(benv), "_SKIFF_BOOTSTRAP=%d", sockn);
		snprintf(xenv, sizeof(xenv), "_SKIFF_EXE_FD=%d", exen);
		char *cenv[8];
		int ne = 0;
		cenv[ne++] = benv;
		cenv[ne++] = xenv;
		cenv[ne++] = "GODEBUG=containermaxprocs=0,updatemaxprocs=0";
		cenv[ne++] = "GOMAXPROCS=1";
		// Our timer slack is still the caller's (raise_timerslack comes
		// after us): libct/timerslack's EnvVar.
		long cur = syscall(SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0);
		if (cur > 0) {
			snprintf(slack, sizeof(slack), "_SKIFF_TIMERSLACK=%ld", cur);
			cenv[ne++] = slack;
		}
		const char *park = getenv("SKIFF_PARK");
		if (park && !strcmp(park, "go"))
			cenv[ne++] = "_SKIFF_PARK_GO=1";
		cenv[ne] = NULL;
		char *cargv[] = {argv[0], "init", NULL};
		if (cgdir >= 0) {
			struct ep_clone_args ca;
			memset(&ca, 0, sizeof(ca));
			ca.flags = CLONE_INTO_CGROUP;
			ca.exit_signal = SIGCHLD;
			ca.cgroup = (unsigned long long)cgdir;
			first = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		} else {
			first = fork();
		}
		if (first == 0)
			ep_child(fds, nfds, path, cargv, cenv, &old);
		ok = first > 0;
	}
	// Our copies of the child's fds (spawn.go's closeAfter); the sealed
	// view stays until the workload runs (its close is the unmount).
	for (int k = 0; k < t.ntasks && k < nfds; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	if (pidfd >= 0)
		close(pidfd);
	if (cgdir >= 0)
		close(cgdir);
	if (sock[1] >= 0)
		close(sock[1]);
	if (ok) {
		ssize_t n;
		do {
			n = send(sock[0], boot, blen, MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		ok = n == (ssize_t)blen;
	}
	free(boot);
	// The constructor reports the pid that continues (the intermediate
	// process then exits), then nothing until the socket closes at the
	// workload's execve; any message is a failure.
	static char msg[4096];
	if (ok) {
		ssize_t n;
		do {
			n = recv(sock[0], msg, sizeof(msg) - 1, 0);
		} while (n < 0 && errno == EINTR);
		long long p = 0;
		const char *pfx = "{\"type\":\"pid\",\"pid\":";
		if (n > 0) {
			msg[n] = '\0';
			char *end;
			if (!strncmp(msg, pfx, strlen(pfx))) {
				errno = 0;
				p = strtoll(msg + strlen(pfx), &end, 10);
				if (errno || strcmp(end, "}") || p <= 0 || p > INT_MAX)
					p = 0;
			}
		}
		ok = p > 0;
		if (ok) {
			wpid = (pid_t)p;
			if (t.fork && wpid != first) {
				int st;
				while (waitpid(first, &st, 0) < 0 && errno == EINTR)
					;
				first = -1;
			}
			do {
				n = recv(sock[0], msg, sizeof(msg) - 1, 0);
			} while (n < 0 && errno == EINTR);
			ok = n == 0;
		}
	}
	if (!ok) {
		// Nothing ran: stop what was started and let Go do it all.
		pid_t kill_list[2] = {wpid, first};
		for (int k = 0; k < 2; k++) {
			if (kill_list[k] <= 0 || (k == 1 && kill_list[1] == kill_list[0]))
				continue;
			kill(kill_list[k], SIGKILL);
			int st;
			while (waitpid(kill_list[k], &st, 0) < 0 && errno == EINTR)
				;
		}
		if (sock[0] >= 0)
			close(sock[0]);
		if (exe >= 0)
			close(exe);
		if (mnt >= 0)
			close(mnt);
		if (pf.fd >= 0) {
			close(pf.fd);
			unlink(pf.tmp);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	close(sock[0]);
	close(exe);
	close(mnt);
	if (pidfile) {
		const char *err = ep_pidfile_commit(&pf, wpid);
		if (err) {
			// exec.go kills the process then (and leaves it to its
			// parent, the subreaper, once skiff exits).
			kill(wpid, SIGKILL);
			skiff_fast_error = strdup(err);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return;
		}
	}
	if (detach)
		_exit(0);
	// exec.go's waitForeground.
	int code = ep_reap(wpid);
	while (code < 0) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			_exit(255);
		}
		if (sig == SIGCHLD)
			code = ep_reap(wpid);
		else if (sig != SIGURG && sig != SIGPIPE && sig != SIGWINCH)
			kill(wpid, sig);
	}
	_exit(code);
}
