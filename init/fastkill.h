// The fast kill: `skiff kill ID [SIGNAL]` done here, before the Go runtime
// starts. Included by nsenter.c only, after faststart.h (its state reader).
//
// A kill of a created or running container's init is a state file read,
// a pidfd and one pidfd_send_signal, as libct/signal.go does; a Go runtime's
// start was most of it. Everything else goes to the Go kill, which starts
// over (nothing has happened yet when it does):
//
//   - --all or any other option, more than two arguments, a signal name
//     this table does not have, SKIFF_KILL=go;
//   - a container that is missing, paused (a SIGKILL must thaw it), stopped
//     or still being created, or shares a PID namespace (a SIGKILL takes
//     its whole cgroup), or a state file or status the reader does not
//     fully understand;
//   - any failure of the signal (the init gone meanwhile included): Go
//     finds the same and says so.

// fk_signal is kill.go's parseSignal for decimal numbers and the usual
// names (any case, with or without SIG): the signal, or -1 (Go decides).
static int fk_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
	    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"KILL", SIGKILL},
	    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},   {"CONT", SIGCONT},
	    {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE},
	};
	if (*s >= '0' && *s <= '9') {
		int n = 0;
		for (; *s; s++) {
			if (*s < '0' || *s > '9' || n > 64)
				return -1;
			n = n * 10 + (*s - '0');
		}
		return n <= 64 ? n : -1;
	}
	char up[16];
	size_t n = strlen(s);
	if (n >= sizeof(up))
		return -1;
	for (size_t i = 0; i <= n; i++)
		up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	const char *name = strncmp(up, "SIG", 3) ? up : up + 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].sig;
	return -1;
}

// fast_kill returns when the Go kill must run; else it exits 0.
static void fast_kill(int argc, char **argv, int verb, const char *root, const char *log)
{
	const char *env = getenv("SKIFF_KILL");
	int nargs = argc - verb - 1;
	if (nargs < 1 || nargs > 2 || (env && !strcmp(env, "go")))
		return;
	for (int i = verb + 1; i < argc; i++)
		if (argv[i][0] == '-')
			return;
	const char *id = argv[verb + 1];
	int sig = nargs == 2 ? fk_signal(argv[verb + 2]) : SIGTERM;
	if (sig < 0 || !fs_valid_id(id) || fs_open_log(log) < 0)
		return;
	struct fs_state *s = fs_load_live(root, id);
	if (!s || s->shared_pidns)
		return;
	int pidfd = fs_init_pidfd(s);
	if (pidfd < 0)
		return;
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		close(pidfd);
		return;
	}
	_exit(0);
}
