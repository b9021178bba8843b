// The fast exec: a process exec'd into a running container, finished here in
// the constructor and exec'd without starting the init's Go runtime.
// Included by nsenter.c only (cgo compiles every .c file of the package; this
// is a .h so that it is not compiled alone).
//
// The parent (libct/fastexec.go) sends it only for what this file can do
// completely, with every value resolved: capability masks, rlimit numbers,
// the merged environment. The steps are those of the Go init's setns path
// (init/setns.go and finish in init/standard.go), in the same order. Strings
// are hex, so that any byte but NUL survives the line format:
//
//   x-keyring HEX       join a new session keyring of that name
//   x-umask N
//   x-rlimit RES SOFT HARD      (repeated)
//   x-nnp               set no_new_privs
//   x-caps BND EFF INH PRM AMB LAST   64-bit masks, and cap_last_cap
//   x-user UID GID
//   x-groups GID...     additional gids
//   x-cwd HEX
//   x-arg HEX           (repeated, in order)
//   x-env HEX           (repeated, in order; already merged)
//   x-home IDX          HOME from the container's /etc/passwd goes at IDX
//   x-seccomp FLAGS HEX the raw sock_filter array
//   x-passfds N         fds 3 .. 3+N-1 stay open for the workload
//
// Every failure from here on is reported with stage "fastexec": the parent
// then runs the same exec again through the Go init, which fails with its
// precise explanation. execve is the last step, so the workload never ran.

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define FX_MAX_RLIMITS 16
#define FX_MAX_STRINGS 65536
#define FX_MAX_GROUPS 65536

struct fx_rlimit {
	int res;
	unsigned long long soft, hard;
};

struct fastexec {
	int on;
	char *keyring;
	unsigned umask;
	struct fx_rlimit rl[FX_MAX_RLIMITS];
	int nrl;
	int nnp;
	int caps_set;
	unsigned long long bnd, eff, inh, prm, amb;
	int last_cap;
	int user_set;
	unsigned uid, gid;
	gid_t *groups;
	int ngroups;
	char *cwd;
	char **argv;
	int argc;
	char **envp;
	int envc;
	int home_idx;
	unsigned char *bpf;
	size_t bpf_len;
	unsigned bpf_flags;
	int passfds;
};

static int fx_parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static unsigned long long fx_num(char **line, unsigned long long max, const char *what)
{
	unsigned long long v;
	if (fx_parse_ull(next_field(line), max, &v) < 0)
		bail("bootstrap", 0, "bad or missing %s in the fast exec orders", what);
	return v;
}

static int fx_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

// fx_unhex decodes a hex field into a new buffer (NUL-terminated; *len is
// the byte count). A string must not contain NUL (nul_ok == 0).
static unsigned char *fx_unhex(char **line, size_t *len, int nul_ok, const char *what)
{
	char *f = next_field(line);
	if (!f)
		bail("bootstrap", 0, "missing %s in the fast exec orders", what);
	if (!strcmp(f, "-"))
		f = ""; // the empty string (an empty argument)
	size_t n = strlen(f);
	if (n % 2)
		bail("bootstrap", 0, "bad %s in the fast exec orders", what);
	unsigned char *out = malloc(n / 2 + 1);
	if (!out)
		bail("bootstrap", ENOMEM, "cannot allocate the fast exec orders");
	for (size_t i = 0; i < n / 2; i++) {
		int hi = fx_hexval(f[2 * i]), lo = fx_hexval(f[2 * i + 1]);
		if (hi < 0 || lo < 0 || (!nul_ok && hi == 0 && lo == 0))
			bail("bootstrap", 0, "bad %s in the fast exec orders", what);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	out[n / 2] = '\0';
	if (len)
		*len = n / 2;
	return out;
}

static char *fx_str(char **line, const char *what)
{
	return (char *)fx_unhex(line, NULL, 0, what);
}

// fx_push appends s to a NULL-terminated array.
static void fx_push(char ***arr, int *n, char *s)
{
	if (*n >= FX_MAX_STRINGS)
		bail("bootstrap", 0, "too many strings in the fast exec orders");
	char **a = realloc(*arr, sizeof(char *) * (*n + 2));
	if (!a)
		bail("bootstrap", ENOMEM, "cannot allocate the fast exec orders");
	a[(*n)++] = s;
	a[*n] = NULL;
	*arr = a;
}

static void fastexec_parse(struct fastexec *fx, const char *key, char **rest)
{
	if (!strcmp(key, "x-keyring")) {
		fx->keyring = fx_str(rest, "keyring name");
	} else if (!strcmp(key, "x-umask")) {
		fx->umask = fx_num(rest, 07777, "umask");
	} else if (!strcmp(key, "x-rlimit")) {
		if (fx->nrl >= FX_MAX_RLIMITS)
			bail("bootstrap", 0, "too many rlimits");
		struct fx_rlimit *r = &fx->rl[fx->nrl++];
		r->res = fx_num(rest, FX_MAX_RLIMITS - 1, "rlimit");
		r->soft = fx_num(rest, ULLONG_MAX, "rlimit soft value");
		r->hard = fx_num(rest, ULLONG_MAX, "rlimit hard value");
	} else if (!strcmp(key, "x-nnp")) {
		fx->nnp = 1;
	} else if (!strcmp(key, "x-caps")) {
		fx->bnd = fx_num(rest, ULLONG_MAX, "bounding capabilities");
		fx->eff = fx_num(rest, ULLONG_MAX, "effective capabilities");
		fx->inh = fx_num(rest, ULLONG_MAX, "inheritable capabilities");
		fx->prm = fx_num(rest, ULLONG_MAX, "permitted capabilities");
		fx->amb = fx_num(rest, ULLONG_MAX, "ambient capabilities");
		fx->last_cap = fx_num(rest, 63, "last capability");
		fx->caps_set = 1;
	} else if (!strcmp(key, "x-user")) {
		fx->uid = fx_num(rest, UINT_MAX, "uid");
		fx->gid = fx_num(rest, UINT_MAX, "gid");
		fx->user_set = 1;
	} else if (!strcmp(key, "x-groups")) {
		while (**rest) {
			if (fx->ngroups >= FX_MAX_GROUPS)
				bail("bootstrap", 0, "too many additional gids");
			gid_t *g = realloc(fx->groups, sizeof(gid_t) * (fx->ngroups + 1));
			if (!g)
				bail("bootstrap", ENOMEM, "cannot allocate the fast exec orders");
			fx->groups = g;
			fx->groups[fx->ngroups++] = fx_num(rest, UINT_MAX, "additional gid");
		}
	} else if (!strcmp(key, "x-cwd")) {
		fx->cwd = fx_str(rest, "cwd");
	} else if (!strcmp(key, "x-arg")) {
		fx_push(&fx->argv, &fx->argc, fx_str(rest, "argument"));
	} else if (!strcmp(key, "x-env")) {
		fx_push(&fx->envp, &fx->envc, fx_str(rest, "environment variable"));
	} else if (!strcmp(key, "x-home")) {
		fx->home_idx = fx_num(rest, FX_MAX_STRINGS, "HOME position") + 1;
	} else if (!strcmp(key, "x-seccomp")) {
		fx->bpf_flags = fx_num(rest, UINT_MAX, "seccomp flags");
		fx->bpf = fx_unhex(rest, &fx->bpf_len, 1, "seccomp program");
		if (fx->bpf_len == 0 || fx->bpf_len % sizeof(struct sock_filter) ||
		    fx->bpf_len / sizeof(struct sock_filter) > BPF_MAXINSNS)
			bail("bootstrap", 0, "bad seccomp program in the fast exec orders");
	} else if (!strcmp(key, "x-passfds")) {
		fx->passfds = fx_num(rest, 1 << 20, "number of passed fds");
	} else {
		bail("bootstrap", 0, "unknown fast exec order");
	}
}

// fx_fail: a failed fast exec step; the parent retries with the Go init.
#define fx_fail(op, errnum, ...) bail(op, errnum, __VA_ARGS__)

static void fx_seccomp(struct fastexec *fx)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(fx->bpf_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)fx->bpf,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, fx->bpf_flags, &prog) < 0)
		fx_fail("seccomp", errno, "cannot load the seccomp filter");
}

// fx_home looks uid's home directory up in the container's /etc/passwd
// (we are in its mount namespace, at its root), "/" when absent.
static char *fx_home(unsigned uid)
{
	static char line[4096];
	char *home = NULL;
	FILE *f = fopen("/etc/passwd", "re");
	if (f) {
		while (!home && fgets(line, sizeof(line), f)) {
			size_t len = strcspn(line, "\n");
			if (line[len] != '\n' && !feof(f)) {
				// Longer than the buffer: skip the whole line rather than
				// read its tail as an entry of its own.
				int ch;
				while ((ch = fgetc(f)) != EOF && ch != '\n')
					;
				continue;
			}
			line[len] = '\0';
			// name:password:uid:gid:gecos:home:shell
			char *field[7] = {0};
			char *p = line;
			int n = 0;
			for (; n < 7; n++) {
				field[n] = p;
				char *c = strchr(p, ':');
				if (!c) {
					n++;
					break;
				}
				*c = '\0';
				p = c + 1;
			}
			unsigned long long v;
			if (n >= 6 && fx_parse_ull(field[2], UINT_MAX, &v) == 0 && v == uid && field[5][0])
				home = field[5];
		}
		fclose(f);
	}
	size_t len = strlen(home ? home : "/") + 6;
	char *kv = malloc(len);
	if (!kv)
		fx_fail("env", ENOMEM, "cannot allocate HOME");
	snprintf(kv, len, "HOME=%s", home ? home : "/");
	return kv;
}

static const char *fx_getenv(struct fastexec *fx, const char *key)
{
	size_t k = strlen(key);
	for (int i = fx->envc - 1; i >= 0; i--)
		if (!strncmp(fx->envp[i], key, k) && fx->envp[i][k] == '=')
			return fx->envp[i] + k + 1;
	return NULL;
}

// fx_lookpath resolves argv[0] as the Go init's LookPath does: a name with
// a slash as is (it must exist), else the first regular file with an x bit
// in PATH (or the default PATH).
static char *fx_lookpath(struct fastexec *fx)
{
	const char *arg0 = fx->argv[0];
	struct stat st;
	if (strchr(arg0, '/')) {
		if (stat(arg0, &st) < 0)
			fx_fail("exec", errno, "exec %s", arg0);
		return (char *)arg0;
	}
	const char *path = fx_getenv(fx, "PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	size_t alen = strlen(arg0);
	char *buf = malloc(strlen(path) + alen + 3);
	if (!buf)
		fx_fail("exec", ENOMEM, "cannot allocate the executable's path");
	for (const char *dir = path;;) {
		const char *end = strchrnul(dir, ':');
		size_t dlen = end - dir;
		if (dlen == 0) {
			strcpy(buf, ".");
			dlen = 1;
		} else {
			memcpy(buf, dir, dlen);
		}
		buf[dlen] = '/';
		memcpy(buf + dlen + 1, arg0, alen + 1);
		if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111))
			return buf;
		if (!*end)
			break;
		dir = end + 1;
	}
	fx_fail("exec", ENOENT, "exec %s: executable file not found in $PATH", arg0);
}

// fx_stdio_owner gives stdio to the container user (fixStdioOwner).
static void fx_stdio_owner(unsigned uid, unsigned gid)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
			continue;
		if (st.st_uid == uid && st.st_gid == gid)
			continue;
		(void)!fchown(fd, uid, gid);
	}
}

static int fx_setgroups_allowed(void)
{
	char buf[16] = {0};
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return !(n == 5 && !memcmp(buf, "deny\n", 5));
}

static void fx_switch_user(struct fastexec *fx)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fx_fail("user", errno, "keep capabilities across setuid");
	if (fx_setgroups_allowed()) {
		if (syscall(SYS_setgroups, fx->ngroups, fx->groups) < 0)
			fx_fail("user", errno, "setgroups");
	} else if (fx->ngroups > 0) {
		fx_fail("user", EPERM, "setgroups is denied in this user namespace");
	}
	if (syscall(SYS_setresgid, fx->gid, fx->gid, fx->gid) < 0)
		fx_fail("user", errno, "setresgid %u", fx->gid);
	if (syscall(SYS_setresuid, fx->uid, fx->uid, fx->uid) < 0)
		fx_fail("user", errno, "setresuid %u", fx->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fx_fail("user", errno, "clear keep-capabilities");
}

static void fx_caps(struct fastexec *fx)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {
		{.effective = (uint32_t)fx->eff, .permitted = (uint32_t)fx->prm, .inheritable = (uint32_t)fx->inh},
		{.effective = (uint32_t)(fx->eff >> 32), .permitted = (uint32_t)(fx->prm >> 32), .inheritable = (uint32_t)(fx->inh >> 32)},
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		fx_fail("capabilities", errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fx_fail("capabilities", errno, "clear ambient capabilities");
	for (int v = 0; v <= fx->last_cap; v++) {
		unsigned long long bit = 1ULL << v;
		if (!(fx->amb & bit) || !(fx->prm & bit) || !(fx->inh & bit))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0)
			fx_fail("capabilities", errno, "raise ambient capability %d", v);
	}
}

// fx_trace prints a phase mark like libct/phase's with SKIFF_TRACE=1.
static void fx_trace(const char *what)
{
	const char *t = getenv("SKIFF_TRACE");
	if (!t || strcmp(t, "1"))
		return;
	struct timespec ts, cpu;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	dprintf(2, "skiff-trace %lld.%06ld pid=%d cpu=%lld.%03ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, getpid(),
		(long long)cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000, cpu.tv_nsec / 1000 % 1000, what);
}

static void fastexec_run(struct fastexec *fx) __attribute__((noreturn));
static void fastexec_run(struct fastexec *fx)
{
	bail_stage = "fastexec";
	// The workload gets the caller's timer slack, not skiff's; before
	// seccomp, which may deny prctl.
	if (skiff_caller_timerslack && prctl(PR_SET_TIMERSLACK, skiff_caller_timerslack, 0, 0, 0) < 0)
		fx_fail("exec", errno, "restore the timer slack");
	if (!fx->caps_set || !fx->user_set || !fx->cwd || fx->argc == 0)
		fx_fail("bootstrap", 0, "incomplete fast exec orders");

	if (fx->keyring) {
		// possessor: all; user: view, read, write, search, link, setattr;
		// others: search (init/setup.go joinSessionKeyring)
		long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, fx->keyring, 0, 0, 0);
		if (id < 0 && errno != ENOSYS)
			fx_fail("keyring", errno, "join a new session keyring %s", fx->keyring);
		if (id >= 0 && syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f3f0008 | 0x00000008, 0, 0) < 0)
			fx_fail("keyring", errno, "set permissions of the session keyring %s", fx->keyring);
	}
	umask(fx->umask);
	// The Go path has the parent prlimit us; raising a hard limit inside a
	// user namespace fails here and the retry does it that way.
	for (int i = 0; i < fx->nrl; i++) {
		struct rlimit rl = {.rlim_cur = fx->rl[i].soft, .rlim_max = fx->rl[i].hard};
		if (setrlimit(fx->rl[i].res, &rl) < 0)
			fx_fail("rlimit", errno, "setrlimit %d", fx->rl[i].res);
	}
	if (fx->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fx_fail("process", errno, "no_new_privs");
	// Without no_new_privs loading a filter needs CAP_SYS_ADMIN: now.
	if (fx->bpf && !fx->nnp)
		fx_seccomp(fx);
	for (int v = 0; v <= fx->last_cap; v++) {
		if (fx->bnd & (1ULL << v))
			continue;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
			fx_fail("capabilities", errno, "drop capability %d from the bounding set", v);
	}
	fx_stdio_owner(fx->uid, fx->gid);
	int cwd_err = chdir(fx->cwd);
	fx_switch_user(fx);
	// The cwd may be reachable only by the container user: retry as it.
	if (cwd_err < 0 && chdir(fx->cwd) < 0)
		fx_fail("cwd", errno, "chdir %s", fx->cwd);
	// CVE-2024-21626: refuse a working directory outside the container.
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		fx_fail("cwd", errno, "the working directory is outside the container");
	fx_caps(fx);
	if (fx->home_idx) {
		int i = fx->home_idx - 1;
		char *home = fx_home(fx->uid);
		if (i < fx->envc)
			fx->envp[i] = home;
		else
			fx_push(&fx->envp, &fx->envc, home);
	}
	char *path = fx_lookpath(fx);
	// As late as possible: the profile then only has to allow execve.
	if (fx->bpf && fx->nnp)
		fx_seccomp(fx);
	// The process must outlive `exec --detach`.
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
		fx_fail("exec", errno, "clear the parent-death signal");
	// Nothing of skiff may reach the workload (CVE-2024-21626): close every
	// fd but the passed ones; the socket closes at execve, telling the
	// parent it succeeded.
	unsigned first = 3 + fx->passfds;
	if (fcntl(sock_fd, F_SETFD, FD_CLOEXEC) < 0)
		fx_fail("exec", errno, "make the init socket close-on-exec");
	if ((unsigned)sock_fd >= first) {
		if ((unsigned)sock_fd > first)
			syscall(SYS_close_range, first, sock_fd - 1, 0);
		syscall(SYS_close_range, sock_fd + 1, ~0U, 0);
	} else {
		syscall(SYS_close_range, first, ~0U, 0);
	}
	fx_trace("init: fast exec");
	execve(path, fx->argv, fx->envp ? fx->envp : (char *[]){NULL});
	fx_fail("exec", errno, "exec %s", path);
}
