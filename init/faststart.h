// The fast start: `skiff start ID` done here, before the Go runtime starts.
// Included by nsenter.c only (cgo compiles every .c file of the package; this
// is a .h so that it is not compiled alone).
//
// start's whole job is small: check the container is "created", open its
// exec FIFO (which lets the parked init's blocked open return, park.h), read
// the init's byte, remove the FIFO and wait for EOF, which comes when the
// init's execve of the workload succeeded (or after the reason it failed).
// A Go runtime costs ~3 ms of CPU for it, most of a start; here it takes
// about what a C program's start does.
//
// Only the plain case is handled here; anything else returns to the Go
// start (libct/start.go), which does the same steps and says what is wrong:
//
//   - global options other than --root, --log, --log-format (text or json),
//     --systemd-cgroup and --criu, a missing --root when not real root,
//     anything after the id, an id the Go side would refuse;
//   - NOTIFY_SOCKET (start proxies READY=), SKIFF_TRACE (phase marks),
//     SKIFF_START=go (the Go start, for comparisons and tests);
//   - a state.json this reader does not fully understand (an escape in a
//     string it needs, a file over 64 KiB), poststart hooks (or no record of
//     whether there are any), a phase other than "created", an init that is
//     gone or paused (a cgroup driver not known here, or a freezer file that
//     cannot be read), no exec FIFO (running), and any failure before the
//     init's byte was read: nothing is changed until then, so the Go start
//     begins again from the start.
//
// The two outcomes after the byte was read, success and the init's message,
// are final. A failure is handed to Go in skiff_fast_error (the start
// command reports it through its logging, in the --log-format asked for):
// the Go runtime then starts only to say what failed.

#define FS_STATE_MAX (64 << 10)
#define FS_PATH_MAX 4096
#define FS_MAX_PATHS 32
#define FS_MAX_ANNOTATIONS 256

// skiff_fast_error is the message of a fast start (or exec,
// execparent.h) that failed after its point of no return: the container's
// init released (the workload started); NULL otherwise (init/nsenter.go).
char *skiff_fast_error;

struct fs_state {
	char phase[16];
	char bundle[FS_PATH_MAX];
	char created[48];
	long long pid;
	unsigned long long pid_start;
	int have_hooks, poststart;
	int have_cgroup;
	char driver[32];
	int legacy;
	char freezer[FS_PATH_MAX]; // paths["freezer"]
	char unified[FS_PATH_MAX]; // paths[""]
	// For delete (fastdelete.h, fs_want_paths): every path (names[i] its controller),
	// the parents create made, and the flags that send it to Go.
	int npaths, nparents, too_many;
	char *path_names[FS_MAX_PATHS], *paths[FS_MAX_PATHS], *parents[FS_MAX_PATHS];
	int shared_pidns, rootless, poststop;
	// For state (faststate.h), read only when fs_want_state is set.
	char oci_version[64];
	char rootfs[FS_PATH_MAX];
	int nann;
	char *ann_keys[FS_MAX_ANNOTATIONS], *ann_values[FS_MAX_ANNOTATIONS];
};

// fs_want_state: the reader keeps what `state` prints (faststate.h).
static int fs_want_state;
// fs_want_paths: the reader keeps every cgroup path and parent, which only
// delete needs (fastdelete.h); the others read a state without a malloc.
static int fs_want_paths;

// A reader of exactly the JSON that state.json holds: a value it cannot
// read makes the whole file unreadable here (-1), and Go reads it instead.
struct fs_json {
	const char *p, *end;
};

static void fs_ws(struct fs_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int fs_eat(struct fs_json *j, char c)
{
	fs_ws(j);
	if (j->p >= j->end || *j->p != c)
		return -1;
	j->p++;
	return 0;
}

// fs_str reads a string into out (NUL-terminated, at most cap-1 bytes).
// Escapes other than \" \\ \/ make it fail: our paths and phases have none.
static int fs_str(struct fs_json *j, char *out, size_t cap)
{
	size_t n = 0;
	if (fs_eat(j, '"') < 0)
		return -1;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->p >= j->end || (*j->p != '"' && *j->p != '\\' && *j->p != '/'))
				return -1;
			c = *j->p++;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	out[n] = '\0';
	return 0;
}

// fs_skip_str passes over a string, any escapes included.
static int fs_skip_str(struct fs_json *j)
{
	if (fs_eat(j, '"') < 0)
		return -1;
	while (j->p < j->end && *j->p != '"') {
		if ((unsigned char)*j->p < 0x20)
			return -1;
		if (*j->p == '\\' && ++j->p >= j->end)
			return -1;
		j->p++;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int fs_word(struct fs_json *j, const char *w)
{
	size_t n = strlen(w);
	fs_ws(j);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return -1;
	j->p += n;
	return 0;
}

static int fs_bool(struct fs_json *j, int *out)
{
	if (fs_word(j, "true") == 0)
		*out = 1;
	else if (fs_word(j, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int fs_ull(struct fs_json *j, unsigned long long *out)
{
	unsigned long long v = 0;
	fs_ws(j);
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return -1;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p++ - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
		return -1;
	*out = v;
	return 0;
}

static int fs_skip(struct fs_json *j, int depth)
{
	if (depth > 32)
		return -1;
	fs_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return fs_skip_str(j);
	case '{':
	case '[': {
		char close = *j->p == '{' ? '}' : ']';
		int obj = *j->p == '{';
		j->p++;
		fs_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (obj && (fs_skip_str(j) < 0 || fs_eat(j, ':') < 0))
				return -1;
			if (fs_skip(j, depth + 1) < 0)
				return -1;
			fs_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			return fs_eat(j, close);
		}
	}
	case 't':
		return fs_word(j, "true");
	case 'f':
		return fs_word(j, "false");
	case 'n':
		return fs_word(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
			j->p++;
			while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
				j->p++;
			return 0;
		}
		return -1;
	}
}

// fs_object calls field for every key of an object; field reads the value.
static int fs_object(struct fs_json *j, int (*field)(struct fs_json *, const char *, void *), void *arg)
{
	char key[FS_PATH_MAX]; // annotations' names are long
	if (fs_eat(j, '{') < 0)
		return -1;
	fs_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		fs_ws(j);
		const char *at = j->p;
		if (fs_str(j, key, sizeof(key)) < 0) {
			// A key we do not need may be long or escaped.
			j->p = at;
			if (fs_skip_str(j) < 0)
				return -1;
			key[0] = '\1';
			key[1] = '\0';
		}
		if (fs_eat(j, ':') < 0 || field(j, key, arg) < 0)
			return -1;
		fs_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return fs_eat(j, '}');
	}
}

// fs_keep records a string of the saved cgroup (a path of it, or a
// parent) for delete.
static int fs_keep(struct fs_state *s, char **list, int *n, const char *v)
{
	if (*n >= FS_MAX_PATHS) {
		s->too_many = 1;
		return 0;
	}
	if (!(list[*n] = strdup(v)))
		return -1;
	(*n)++;
	return 0;
}

static int fs_paths_field(struct fs_json *j, const char *key, void *arg)
{
	struct fs_state *s = arg;
	char v[FS_PATH_MAX];
	if (key[0] == '\1') {
		s->too_many = 1; // a controller name this reader cannot hold
		return fs_skip(j, 2);
	}
	if (fs_str(j, v, sizeof(v)) < 0)
		return -1;
	if (!strcmp(key, "freezer"))
		snprintf(s->freezer, sizeof(s->freezer), "%s", v);
	if (!strcmp(key, ""))
		snprintf(s->unified, sizeof(s->unified), "%s", v);
	if (!fs_want_paths)
		return 0;
	int n = s->npaths;
	if (fs_keep(s, s->paths, &s->npaths, v) < 0)
		return -1;
	if (s->npaths > n && !(s->path_names[n] = strdup(key)))
		return -1;
	return 0;
}

static int fs_parents(struct fs_json *j, struct fs_state *s)
{
	char v[FS_PATH_MAX];
	if (fs_word(j, "null") == 0)
		return 0;
	if (fs_eat(j, '[') < 0)
		return -1;
	fs_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (fs_str(j, v, sizeof(v)) < 0 || (fs_want_paths && fs_keep(s, s->parents, &s->nparents, v) < 0))
			return -1;
		fs_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return fs_eat(j, ']');
	}
}

static int fs_cgroup_field(struct fs_json *j, const char *key, void *arg)
{
	struct fs_state *s = arg;
	if (!strcmp(key, "driver"))
		return fs_str(j, s->driver, sizeof(s->driver));
	if (!strcmp(key, "legacy"))
		return fs_bool(j, &s->legacy);
	if (!strcmp(key, "paths"))
		return fs_object(j, fs_paths_field, s);
	if (!strcmp(key, "parents"))
		return fs_parents(j, s);
	if (!strcmp(key, "rootless"))
		return fs_bool(j, &s->rootless);
	return fs_skip(j, 1);
}

static int fs_hooks_field(struct fs_json *j, const char *key, void *arg)
{
	struct fs_state *s = arg;
	if (!strcmp(key, "poststart"))
		return fs_bool(j, &s->poststart);
	if (!strcmp(key, "poststop"))
		return fs_bool(j, &s->poststop);
	return fs_skip(j, 1);
}

// fs_annotation keeps one annotation (fs_want_state): a name fs_object
// could not read ("\1"), a value fs_str cannot, too many of them, or one
// named twice makes the state Go's to print.
static int fs_annotation(struct fs_json *j, const char *key, void *arg)
{
	static char v[FS_PATH_MAX];
	struct fs_state *s = arg;
	if (key[0] == '\1' || fs_str(j, v, sizeof(v)) < 0 || s->nann == FS_MAX_ANNOTATIONS)
		return -1;
	for (int i = 0; i < s->nann; i++)
		if (!strcmp(s->ann_keys[i], key))
			return -1;
	if (!(s->ann_keys[s->nann] = strdup(key)) || !(s->ann_values[s->nann] = strdup(v))) {
		free(s->ann_keys[s->nann]);
		return -1;
	}
	s->nann++;
	return 0;
}

static int fs_state_field(struct fs_json *j, const char *key, void *arg)
{
	struct fs_state *s = arg;
	unsigned long long v;
	if (fs_want_state) {
		if (!strcmp(key, "ociVersion"))
			return fs_str(j, s->oci_version, sizeof(s->oci_version));
		if (!strcmp(key, "rootfs"))
			return fs_str(j, s->rootfs, sizeof(s->rootfs));
		if (!strcmp(key, "annotations"))
			return fs_word(j, "null") == 0 ? 0 : fs_object(j, fs_annotation, s);
	}
	if (!strcmp(key, "phase"))
		return fs_str(j, s->phase, sizeof(s->phase));
	if (!strcmp(key, "bundle"))
		return fs_str(j, s->bundle, sizeof(s->bundle));
	if (!strcmp(key, "created"))
		return fs_str(j, s->created, sizeof(s->created));
	if (!strcmp(key, "pid")) {
		if (fs_ull(j, &v) < 0 || v > INT_MAX)
			return -1;
		s->pid = (long long)v;
		return 0;
	}
	if (!strcmp(key, "pidStart"))
		return fs_ull(j, &s->pid_start);
	if (!strcmp(key, "sharedPidNS"))
		return fs_bool(j, &s->shared_pidns);
	if (!strcmp(key, "rootless"))
		return fs_bool(j, &s->rootless);
	if (!strcmp(key, "hooks")) {
		s->have_hooks = 1;
		return fs_object(j, fs_hooks_field, s);
	}
	if (!strcmp(key, "cgroup")) {
		if (fs_word(j, "null") == 0)
			return 0;
		s->have_cgroup = 1;
		return fs_object(j, fs_cgroup_field, s);
	}
	return fs_skip(j, 1);
}

// fs_read_small reads a whole file of at most max-1 bytes into buf
// (NUL-terminated); -1 if it cannot or it is larger. One read: a short read
// of a regular file is its end, and so is one of a /proc or cgroup file
// that shows a single record (stat, freezer.state, cgroup.freeze); of
// cgroup.procs, whether it is empty is all that is asked.
static ssize_t fs_read_small(int dirfd, const char *path, char *buf, size_t max)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	ssize_t r;
	do
		r = read(fd, buf, max - 1);
	while (r < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	if (r < 0 || (size_t)r == max - 1) {
		errno = r < 0 ? err : EFBIG;
		return -1;
	}
	buf[r] = '\0';
	return r;
}

// fs_proc_alive: pid is the process that started at start, and not a zombie
// (libct/proc.go's alive).
static int fs_proc_alive(long long pid, unsigned long long start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	if (fs_read_small(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	// Field 3 is the state; the start time is field 22.
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	return !errno && end != p && *end == ' ' && v == start;
}

// fs_frozen: 0 not paused, 1 paused, -1 unknown (the Go start decides).
static int fs_frozen(struct fs_state *s)
{
	char buf[64];
	const char *file, *dir, *frozen;
	if (!s->have_cgroup)
		return 0;
	if (!strcmp(s->driver, "cgroupfs-v1") || (!strcmp(s->driver, "systemd") && s->legacy)) {
		if (!s->freezer[0])
			return 0;
		dir = s->freezer, file = "freezer.state", frozen = "FROZEN";
	} else if (!strcmp(s->driver, "cgroupfs-v2") || !strcmp(s->driver, "systemd")) {
		if (!s->unified[0])
			return -1;
		dir = s->unified, file = "cgroup.freeze", frozen = "1";
	} else {
		return -1;
	}
	char path[FS_PATH_MAX + 32];
	if (dir[0] != '/' || (size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -1;
	if (fs_read_small(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return -1;
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return strcmp(buf, frozen) == 0;
}

// fs_valid_id is state.ValidID.
static int fs_valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '+' || *c == '-' || *c == '.'))
			return 0;
	return 1;
}

// fs_option matches argv[*i] against a global option taking a value, in
// urfave/cli's spellings: -name V, --name V, -name=V, --name=V.
static int fs_option(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	a += a[1] == '-' ? 2 : 1;
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0' || *i + 1 >= argc)
		return 0;
	*val = argv[++*i];
	return 1;
}

static void fs_fail(const char *msg)
{
	skiff_fast_error = strdup(msg);
}

// fs_globals reads the global options before the verb: the state root
// (explicit: --root was given) and the log. It returns the verb's index,
// or -1 when an option is not one of those handled here.
static int fs_globals(int argc, char **argv, const char **root, int *explicit_root, const char **log)
{
	const char *v;
	int i;
	*root = *log = NULL;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (fs_option(argc, argv, &i, "root", &v))
			*root = v;
		else if (fs_option(argc, argv, &i, "log", &v))
			*log = v;
		else if (fs_option(argc, argv, &i, "log-format", &v)) {
			if (strcmp(v, "text") && strcmp(v, "json"))
				return -1;
		} else if (fs_option(argc, argv, &i, "criu", &v))
			;
		else if (strcmp(argv[i], "--systemd-cgroup") && strcmp(argv[i], "-systemd-cgroup"))
			return -1;
	}
	if (i >= argc || getenv("SKIFF_TRACE"))
		return -1;
	*explicit_root = *root != NULL;
	if (!*root) {
		if (geteuid() != 0)
			return -1;
		*root = "/run/skiff";
	}
	if (!**root)
		return -1;
	return i;
}

// fs_open_log creates --log's file as Go's logging would have, first thing:
// -1 if it cannot (Go then says why).
static int fs_open_log(const char *log)
{
	if (!log || !*log)
		return 0;
	int fd = open(log, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

// fs_status is the container's status (libct's Container.Status) from its
// state, or NULL when the Go side must tell (a phase or cgroup not known
// here). dir is the container's state directory, relative to at.
static const char *fs_status(int at, const char *dir, struct fs_state *s)
{
	if (!strcmp(s->phase, "creating")) {
		// create is running (it holds the lock), or was killed.
		int fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int held = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
		if (fd >= 0)
			close(fd);
		return held ? "creating" : "stopped";
	}
	if (strcmp(s->phase, "created"))
		return NULL;
	if (s->pid <= 0 || !fs_proc_alive(s->pid, s->pid_start))
		return "stopped";
	int f = fs_frozen(s);
	if (f < 0)
		return NULL;
	if (f)
		return "paused";
	struct stat st;
	char fifo[FS_PATH_MAX + 16];
	if ((size_t)snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir) >= sizeof(fifo))
		return NULL;
	return fstatat(at, fifo, &st, AT_SYMLINK_NOFOLLOW) == 0 ? "created" : "running";
}

// fs_load reads the state file (state.json of a container's directory,
// relative to at) into s (zeroed, or from an earlier fs_load), with buf
// (FS_STATE_MAX bytes) to hold it: 0, or -1 (ENOENT in errno when there is
// none).
static int fs_load(int at, const char *file, struct fs_state *s, char *buf)
{
	struct fs_json j;
	for (int i = 0; i < s->npaths; i++)
		free(s->paths[i]), free(s->path_names[i]);
	for (int i = 0; i < s->nparents; i++)
		free(s->parents[i]);
	for (int i = 0; i < s->nann; i++)
		free(s->ann_keys[i]), free(s->ann_values[i]);
	memset(s, 0, sizeof(*s));
	errno = 0;
	ssize_t n = fs_read_small(at, file, buf, FS_STATE_MAX);
	if (n < 0)
		return -1;
	j.p = buf, j.end = buf + n;
	errno = 0;
	if (fs_object(&j, fs_state_field, s) < 0 || (fs_ws(&j), j.p != j.end))
		return -1;
	return 0;
}

// fs_print_exit writes out to stdout and exits 0; 1 on a write error, as
// the Go commands fail on one (list, state).
static void fs_print_exit(const char *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(1, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	_exit(0);
}

// fs_load_status reads root/id's state into s (buf: FS_STATE_MAX bytes)
// without its lock, as libct.Load does, and returns its status, or NULL
// when the Go side must tell (no such container included).
static const char *fs_load_status(const char *root, const char *id, struct fs_state *s, char *buf)
{
	char dir[FS_PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, id) >= sizeof(dir))
		return NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	const char *status = NULL;
	if (fs_load(dfd, "state.json", s, buf) == 0)
		status = fs_status(dfd, ".", s);
	close(dfd);
	return status;
}

// fs_load_live reads root/id's state when the container is created or
// running: the state, or NULL (Go decides).
static struct fs_state *fs_load_live(const char *root, const char *id)
{
	static struct fs_state s;
	static char buf[FS_STATE_MAX];
	const char *status = fs_load_status(root, id, &s, buf);
	if (!status || (strcmp(status, "created") && strcmp(status, "running")) || s.pid <= 0)
		return NULL;
	return &s;
}

// fs_init_pidfd opens a pidfd of s's init and then checks its start time,
// as libct's pidfdFor does (the pid cannot be reused while the pidfd is
// held): the pidfd, or -1 when the init is gone.
static int fs_init_pidfd(const struct fs_state *s)
{
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)s->pid, 0);
	if (fd >= 0 && !fs_proc_alive(s->pid, s->pid_start)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

// fs_open_locked opens root/id (its path left in dir, FS_PATH_MAX bytes)
// and takes the container's lock, as state.Open does: the fd, or -1.
static int fs_open_locked(const char *root, const char *id, char *dir)
{
	if ((size_t)snprintf(dir, FS_PATH_MAX, "%s/%s", root, id) >= FS_PATH_MAX)
		return -1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int r;
	do {
		r = flock(dfd, LOCK_EX);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		close(dfd);
		return -1;
	}
	return dfd;
}

// fast_start returns when the Go start must run: with skiff_fast_error
// set it only reports that error; else it does the whole start.
static void fast_start(int argc, char **argv, int verb, const char *root, const char *log)
{
	int i = verb, r;
	ssize_t n;
	if (i + 2 != argc || !fs_valid_id(argv[i + 1]))
		return;
	const char *id = argv[i + 1];
	const char *env = getenv("NOTIFY_SOCKET");
	if ((env && *env) || ((env = getenv("SKIFF_START")) && !strcmp(env, "go")) || fs_open_log(log) < 0)
		return;

	char dir[FS_PATH_MAX];
	int dfd = fs_open_locked(root, id, dir);
	if (dfd < 0)
		return;
	static struct fs_state s;
	static char buf[FS_STATE_MAX];
	const char *status;
	if (fs_load(dfd, "state.json", &s, buf) < 0 || !s.have_hooks || s.poststart || !(status = fs_status(dfd, ".", &s)) ||
	    strcmp(status, "created"))
		goto go;
	// The pidfd first: opening the FIFO releases the init, and a short
	// workload may have run and exited before we look for it.
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s.pid, 0);
	if (pidfd < 0)
		goto go;
	if (!fs_proc_alive(s.pid, s.pid_start))
		goto go_pidfd;
	int fifo = openat(dfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		goto go_pidfd;
	struct pollfd fds[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	do {
		r = poll(fds, 2, -1);
	} while (r < 0 && errno == EINTR);
	if (r < 0 || !(fds[0].revents & POLLIN)) {
		close(fifo);
		goto go_pidfd;
	}
	char b;
	do {
		n = read(fifo, &b, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1) {
		fs_fail("cannot start an already running container");
		close(fifo);
		goto go_pidfd;
	}
	// From here on the container is running, whatever happens next. (The
	// Go start warns when the FIFO cannot be removed; in a root-owned
	// directory we hold the lock of, that cannot happen but by a bug.)
	unlinkat(dfd, "exec.fifo", 0);
	// Never hold the lock while the workload starts: kill and delete must
	// be able to act on a container that hangs.
	close(dfd);
	close(pidfd);
	int fl = fcntl(fifo, F_GETFL);
	if (fl < 0 || fcntl(fifo, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		fs_fail("exec fifo: cannot make it blocking");
		close(fifo);
		return;
	}
	// EOF when the init's execve succeeded; before that, the reason it
	// failed (park.h).
	static char msg[4096];
	size_t m = 0;
	for (;;) {
		n = read(fifo, msg + m, sizeof(msg) - 1 - m);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		m += (size_t)n;
		if (m == sizeof(msg) - 1) {
			// Keep reading to EOF; the first 4 KiB say it.
			char sink[512];
			while ((n = read(fifo, sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR))
				;
			break;
		}
	}
	close(fifo);
	msg[m] = '\0';
	char *start = msg;
	while (*start == ' ' || *start == '\n' || *start == '\t' || *start == '\r')
		start++;
	while (m && (msg[m - 1] == ' ' || msg[m - 1] == '\n' || msg[m - 1] == '\t' || msg[m - 1] == '\r'))
		msg[--m] = '\0';
	if (*start) {
		fs_fail(start);
		return;
	}
	_exit(0);

go_pidfd:
	close(pidfd);
go:
	close(dfd);
}
