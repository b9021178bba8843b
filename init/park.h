// The parked init: a created container waits for `start` in this small C
// process, not in a Go runtime.
// Included by nsenter.c only (cgo compiles every .c file of the package; this
// is a .h so that it is not compiled alone).
//
// The Go init builds the container, applies the process's credentials,
// capabilities and seccomp filter, then re-executes the sealed binary it was
// started from (init/park.go) with the workload's argv and environment and,
// first in that environment:
//
//   _SKIFF_PARK=FIFO PASS FILTER PATH
//
// FIFO is an O_PATH fd of the exec FIFO, PASS the number of fds from 3 on
// that the workload keeps (LISTEN_FDS, --preserve-fds), FILTER "-" or the
// seccomp filter as FLAGS:HEX (the raw sock_filter array), PATH the resolved
// workload binary. Here, before anything else runs: open the FIFO for
// writing (blocks until `start` opens it), write one byte, close every fd
// but stdio and the passed ones, load the filter (as late as possible: the
// profile only has to allow execve), execve PATH. The FIFO is close-on-exec, so
// `start` sees EOF exactly when execve succeeds, or reads the reason it
// failed, as with the Go init.
//
// Why: a parked Go init holds ~7 MB and four threads; killing it (delete of
// a created container) tears all of that down while delete waits, and every
// created container keeps it. This process holds what the constructor
// touched.
//
// Signals: the Go init exited on SIGHUP, SIGINT, SIGTERM and on the signals
// it treats as crashes, and ignored the others (it had a handler for every
// one, so a pid namespace's init received them). Handlers here do the same,
// installed only where the disposition is the default: what the caller
// ignored stays ignored for the workload (handlers, unlike SIG_IGN, do not
// survive execve).

static int park_exiting_signal(int sig)
{
	switch (sig) {
	case SIGHUP:
	case SIGINT:
	case SIGQUIT:
	case SIGILL:
	case SIGTRAP:
	case SIGABRT:
	case SIGSTKFLT:
	case SIGTERM:
	case SIGSYS:
		return 1;
	}
	return 0;
}

static void park_on_signal(int sig)
{
	if (park_exiting_signal(sig))
		_exit(2);
}

static void park_signals(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = park_on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		switch (sig) {
		case SIGKILL:
		case SIGSTOP:
		// Their default is to ignore or to stop, as in the Go init.
		case SIGCHLD:
		case SIGCONT:
		case SIGTSTP:
		case SIGTTIN:
		case SIGTTOU:
		case SIGURG:
		case SIGWINCH:
			continue;
		}
		if (sig >= 32 && sig < SIGRTMIN)
			continue; // the C library's own
		if (sigaction(sig, NULL, &old) < 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
			continue;
		sigaction(sig, &sa, NULL);
	}
}

static int park_num(char **s, long long max, long long *out)
{
	char *f = next_field(s);
	if (!f || parse_long(f, 0, max, out) < 0)
		return -1;
	return 0;
}

// park_filter decodes FLAGS:HEX into a filter.
static void park_filter(char *s, unsigned long long *flags, struct sock_fprog *prog)
{
	char *hex = strchr(s, ':');
	if (!hex)
		bail("park", 0, "bad seccomp filter in the park order");
	*hex++ = '\0';
	size_t len;
	unsigned char *bpf = fx_unhex(&hex, &len, 1, "seccomp filter");
	if (fx_parse_ull(s, UINT_MAX, flags) < 0 || len == 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > USHRT_MAX)
		bail("park", 0, "bad seccomp filter in the park order");
	prog->len = (unsigned short)(len / sizeof(struct sock_filter));
	prog->filter = (struct sock_filter *)bpf;
}

// park runs when environ[0] is the park order; it does not return.
static void park(int argc, char **argv, char **envp) __attribute__((noreturn));
static void park(int argc, char **argv, char **envp)
{
	static const char key[] = "_SKIFF_PARK=";
	char *order = strdup(envp[0] + sizeof(key) - 1);
	long long fifo_path, pass;
	char *filter = NULL;
	if (!order || park_num(&order, INT_MAX, &fifo_path) < 0 || park_num(&order, INT_MAX, &pass) < 0 ||
	    !(filter = next_field(&order)) || !*order || argc < 1)
		bail("park", 0, "bad park order");
	const char *path = order;
	struct sock_fprog prog = {0};
	unsigned long long filter_flags = 0;
	if (strcmp(filter, "-"))
		park_filter(filter, &filter_flags, &prog);
	// The workload's environment is the rest, exactly.
	char **env = envp + 1;
	park_signals();

	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%lld", fifo_path);
	int fifo;
	do {
		fifo = open(proc, O_WRONLY | O_CLOEXEC);
	} while (fifo < 0 && errno == EINTR);
	if (fifo < 0)
		bail("park", errno, "open the exec fifo to wait for start");
	close((int)fifo_path);
	int first = 3 + (int)pass;
	if (fifo < first) {
		int moved = fcntl(fifo, F_DUPFD_CLOEXEC, first);
		if (moved < 0)
			bail("park", errno, "move the exec fifo");
		close(fifo);
		fifo = moved;
	}
	ssize_t w;
	do {
		w = write(fifo, "", 1);
	} while (w < 0 && errno == EINTR);
	if (w != 1)
		_exit(255);
	// Everything but stdio, the passed fds and the FIFO (close-on-exec).
	if (fifo > first)
		syscall(SYS_close_range, first, fifo - 1, 0);
	syscall(SYS_close_range, fifo + 1, ~0U, 0);
	if (prog.filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)filter_flags, &prog) < 0) {
		dprintf(fifo, "linux.seccomp: load the filter: %s", skiff_strerror(errno));
		_exit(255);
	}
	execve(path, argv, env);
	int e = errno;
	dprintf(fifo, "exec %s: %s", path, skiff_strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}
