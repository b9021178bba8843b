// The fast exec parent: `skiff exec ID CMD [ARGS...]` done here, before the
// Go runtime starts. Included by nsenter.c only, after faststart.h (its
// state reader) and fastexec.h.
//
// The Go exec parent (exec.go, libct/exec.go) spends ~3.5 ms starting its
// runtime and ~2.5 ms more before it spawns the process that joins the
// container: the CLI, state.json, the saved config and its process, the
// capabilities and seccomp program, the cgroup task files, the pidfd, the
// sealed binary. All but the command depends on the container alone, so
// the first plain exec saves what it sent the init's constructor as the
// container's exec template (libct/exectemplate.go has its format), and
// this constructor sends it again, with the command's x-arg orders: it
// opens the task files, the init's pidfd and a sealed view of the binary,
// starts `skiff init` from that view exactly as libct/spawn.go does, and
// then waits for the workload as exec.go does, forwarding signals.
//
// Only the plain case is handled here; everything else returns to the Go
// exec, which starts over (nothing has happened that it would see):
//
//   - any exec option, or a global one fs_globals does not handle,
//     SKIFF_EXEC=go (the Go parent), SKIFF_EXEC_INIT=go (the Go init),
//     SKIFF_TEST_HANG, an empty command;
//   - a container that is not created or running (missing, paused,
//     stopped, being created), rootless, or without a template, or whose
//     template no longer matches it (another init, a changed config.json, a
//     cgroup2 directory that now delegates controllers);
//   - a binary path overlayfs cannot take as a layer (the Go parent copies
//     it into a sealed memfd instead), or any failure of a system call;
//   - any failure reported by the init's constructor before the workload's
//     execve: the Go exec then tries again and explains the failure.
//
// Once the workload runs, its exit status (128 + the signal that killed
// it) is skiff's, as from the Go exec.

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
	int oom_set;
	long long oom;
	const char *orders; // from the "fastexec" line to the end
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

// ep_parse reads the template in buf (NUL-terminated); -1 when it is not
// one this reader knows entirely.
static int ep_parse(char *buf, struct ep_template *t)
{
	char *p = buf;
	char *nl = strchr(p, '\n');
	if (!nl)
		return -1;
	*nl = '\0';
	if (strcmp(p, "skiff-exec-template 1"))
		return -1;
	p = nl + 1;
	int have_init = 0, have_config = 0;
	while (*p) {
		if (!strncmp(p, "fastexec\n", 9)) {
			t->orders = p;
			return have_init && have_config ? 0 : -1;
		}
		nl = strchr(p, '\n');
		if (!nl)
			return -1;
		*nl = '\0';
		char *line = p;
		p = nl + 1;
		char *key = next_field(&line);
		if (!key)
			return -1;
		unsigned long long a, b, c;
		if (!strcmp(key, "init")) {
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
		} else if (!strcmp(key, "oom")) {
			char *f = next_field(&line);
			if (!f || parse_long(f, -1000, 1000, &t->oom) < 0)
				return -1;
			t->oom_set = 1;
		} else {
			return -1;
		}
		if (next_field(&line))
			return -1;
	}
	return -1;
}

// ep_read reads dirfd's name whole into a new NUL-terminated buffer.
static char *ep_read(int dirfd, const char *name, size_t max)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[got] = '\0';
		}
	}
	close(fd);
	return buf;
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

// fast_exec returns when the Go exec must run; else it exits with the
// workload's status.
static void fast_exec(int argc, char **argv, int verb, const char *root, const char *log)
{
	const char *env = getenv("SKIFF_EXEC"), *einit = getenv("SKIFF_EXEC_INIT"), *hang = getenv("SKIFF_TEST_HANG");
	int i = verb + 1;
	if (argc - i < 2 || (env && !strcmp(env, "go")) || (einit && !strcmp(einit, "go")) || (hang && *hang))
		return;
	const char *id = argv[i];
	char **cmd = argv + i + 1;
	int ncmd = argc - i - 1;
	if (id[0] == '-' || !cmd[0][0] || !fs_valid_id(id) || fs_open_log(log) < 0)
		return;

	static struct fs_state s;
	static char sbuf[FS_STATE_MAX];
	const char *status = fs_load_status(root, id, &s, sbuf);
	if (!status || (strcmp(status, "created") && strcmp(status, "running")) || s.rootless || s.pid <= 0)
		return;
	static char dir[FS_PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, id) >= sizeof(dir))
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	struct ep_template t;
	memset(&t, 0, sizeof(t));
	struct stat cst;
	char *tbuf = ep_read(dfd, "exec.template", EP_TEMPLATE_MAX);
	int ok = tbuf && ep_parse(tbuf, &t) == 0 && t.pid == s.pid && t.start == s.pid_start &&
		 fstatat(dfd, "config.json", &cst, AT_SYMLINK_NOFOLLOW) == 0 && (unsigned long long)cst.st_ino == t.cino &&
		 (unsigned long long)cst.st_size == t.csize &&
		 (unsigned long long)cst.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)cst.st_mtim.tv_nsec == t.cmtime &&
		 !(t.recheck && ep_delegates(t.recheck));
	close(dfd);

	// The child's fds from 3: the task files, the init's pidfd, the
	// socket, the sealed binary (libct/exec.go and spawn.go's order).
	int fds[EP_MAX_TASKS + 3], nfds = 0, cgdir = -1, mnt = -1, exe = -1, sock[2] = {-1, -1};
	int pidfd = -1;
	char *boot = NULL;
	if (ok) {
		// The pidfd first, then the start time: the pid cannot be reused
		// while we hold it.
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s.pid, 0);
		ok = pidfd >= 0 && fs_proc_alive(s.pid, s.pid_start);
	}
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
		if (t.oom_set)
			blen += (size_t)sprintf(boot + blen, "oom %lld\n", t.oom);
		blen += (size_t)sprintf(boot + blen, "setsid\n");
		size_t ol = strlen(t.orders);
		memcpy(boot + blen, t.orders, ol);
		blen += ol;
		static const char hex[] = "0123456789abcdef";
		for (int k = 0; k < ncmd; k++) {
			memcpy(boot + blen, "x-arg ", 6);
			blen += 6;
			for (const unsigned char *c = (const unsigned char *)cmd[k]; *c; c++) {
				boot[blen++] = hex[*c >> 4];
				boot[blen++] = hex[*c & 15];
			}
			boot[blen++] = '\n';
		}
	}

	pid_t first = -1, wpid = -1;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
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
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	close(sock[0]);
	close(exe);
	close(mnt);
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
