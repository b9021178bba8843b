// The fast list: `skiff list` done here, before the Go runtime starts.
// Included by nsenter.c only, after faststart.h (its state reader).
//
// list reads a small state file, /proc/<pid>/stat and maybe a freezer file
// per container; the Go runtime's start was most of its time. Here the
// table (and --quiet's ids) is built in memory and written once, exactly as
// list.go prints it (text/tabwriter: minimum width 12, padding 3, spaces);
// on any doubt nothing has been written yet and the Go list runs instead:
//
//   - options other than -q/--quiet and -f/--format table (json goes to Go),
//     any argument, SKIFF_LIST=go;
//   - a state root that is missing while --root names it (Go says so), or
//     cannot be read;
//   - a container whose state file this reader does not fully understand
//     or which Go would skip with a warning (an invalid id, a corrupt file),
//     whose status needs the Go side (a cgroup driver or freezer file not
//     known here), or a cell that is not plain printable ASCII (tabwriter
//     counts runes) or a creation time not in the form Go prints.

struct fl_buf {
	char *p;
	size_t len, cap;
};

static int fl_put(struct fl_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p, b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

// fl_plain: printable ASCII only (no tab, no newline).
static int fl_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

// fl_plain_line: printable ASCII and whitespace.
static int fl_plain_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

// fl_rfc3339nano: s is what Go's time.Format(time.RFC3339Nano) prints for
// a UTC time, as state.json holds it (the fraction without trailing zeros).
static int fl_rfc3339nano(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;
	for (i = 0; form[i]; i++)
		if (form[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != form[i])
			return 0;
	if (s[i] == '.') {
		size_t k = ++i;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == k || i - k > 9 || s[i - 1] == '0')
			return 0;
	}
	return s[i] == 'Z' && s[i + 1] == '\0';
}

// fl_int is strconv.Atoi's syntax: an optional sign, then digits.
static int fl_int(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!*s || strlen(s) > 18)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

// fl_owner is the user name of uid as os/user (pure Go) finds it in
// /etc/passwd, else "#uid"; NULL when a line is beyond this reader (Go
// decides). One cache entry: a root has one owner.
static const char *fl_owner(unsigned uid)
{
	static char name[256];
	static unsigned cached = ~0U;
	if (cached == uid)
		return name;
	snprintf(name, sizeof(name), "#%u", uid);
	FILE *f = fopen("/etc/passwd", "re");
	if (!f) {
		cached = uid;
		return name;
	}
	char line[4096], want[32], id[16];
	snprintf(id, sizeof(id), "%u", uid);
	snprintf(want, sizeof(want), ":%u:", uid);
	while (fgets(line, sizeof(line), f)) {
		char *l = line, *e = line + strlen(line);
		if (e > line && e[-1] != '\n' && !feof(f)) {
			fclose(f);
			return NULL; // longer than this buffer
		}
		if (strstr(l, want) && !fl_plain_line(l)) {
			fclose(f);
			return NULL; // Go trims Unicode spaces
		}
		while (*l == ' ' || *l == '\t' || *l == '\r' || *l == '\n' || *l == '\v' || *l == '\f')
			l++;
		while (e > l && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '\v' ||
				 e[-1] == '\f'))
			*--e = '\0';
		if (!*l || *l == '#' || !strstr(l, want))
			continue;
		// name:pw:uid:gid:gecos:home[:shell], uid and gid numbers.
		char *f1[7];
		int n = 0;
		char *p = l;
		f1[n++] = p;
		while (n < 7 && (p = strchr(p, ':'))) {
			*p++ = '\0';
			f1[n++] = p;
		}
		if (n < 7 || !f1[0][0] || f1[0][0] == '+' || f1[0][0] == '-')
			continue;
		if (strcmp(f1[2], id) || !fl_int(f1[3]))
			continue;
		snprintf(name, sizeof(name), "%s", f1[0]);
		break;
	}
	fclose(f);
	cached = uid;
	return name;
}

struct fl_row {
	char *cell[6];
	unsigned uid;
};

// A list reads each container on its own: a few workers share them (the
// /proc and cgroup reads are kernel time, ~40 µs a container, which the
// CPUs share; Go's list does the same with goroutines).
struct fl_work {
	int rfd;
	char **names;
	size_t n;
	struct fl_row *rows;   // rows[i + 1] for names[i]; cell[0] NULL: skipped
	size_t next;           // the next name, taken atomically
	int fallback;          // set by any worker: the Go list must run
	cpu_set_t cpus;        // the process's CPUs, which a worker returns to
};

// fl_read fills w->rows[i + 1] from names[i]: 0, or -1 when Go must list.
static int fl_read(struct fl_work *w, size_t i, struct fs_state *s, char *buf)
{
	char pidbuf[24];
	const char *name = w->names[i];
	if (!fs_valid_id(name))
		return -1; // Go warns about it
	// No descriptor for the directory: its paths are two syscalls fewer.
	char file[FS_PATH_MAX];
	struct stat st;
	struct fl_row *r = &w->rows[i + 1];
	if (fstatat(w->rfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1; // deleted meanwhile: skipped
	if (!S_ISDIR(st.st_mode) || (size_t)snprintf(file, sizeof(file), "%s/state.json", name) >= sizeof(file))
		return -1;
	r->uid = st.st_uid;
	if (fs_load(w->rfd, file, s, buf) < 0)
		return errno == ENOENT ? 0 : -1; // no state (yet, or any more): Go skips it too
	const char *status = fs_status(w->rfd, name, s);
	if (!status || !fl_plain(s->bundle) || !fl_rfc3339nano(s->created))
		return -1;
	snprintf(pidbuf, sizeof(pidbuf), "%lld", strcmp(status, "stopped") ? s->pid : 0);
	const char *cells[5] = {name, pidbuf, status, s->bundle, s->created};
	for (int c = 0; c < 5; c++)
		if (!(r->cell[c] = strdup(cells[c])))
			return -1;
	return 0;
}

// fl_pinned runs a worker started on a CPU of its own (fl_start): back on
// all of the process's CPUs, it stays where it is unless that one gets busy.
static void *fl_worker(void *arg);
static void *fl_pinned(void *arg)
{
	struct fl_work *w = arg;
	sched_setaffinity(0, sizeof(w->cpus), &w->cpus);
	return fl_worker(arg);
}

// fl_start starts up to extra workers, each on a CPU other than this
// thread's: a new thread is queued on its creator's CPU, and while the
// creator keeps busy it waits there for the scheduler's balancing, 1.5-3 ms
// here, longer than the whole list. The number started.
static size_t fl_start(struct fl_work *w, pthread_t *tids, size_t extra)
{
	int me = sched_getcpu(), cpu = -1;
	size_t started = 0;
	while (started < extra) {
		do
			cpu++;
		while (cpu < CPU_SETSIZE && (cpu == me || !CPU_ISSET(cpu, &w->cpus)));
		if (cpu >= CPU_SETSIZE)
			break;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		// Pinned from here, which moves it while it still waits for
		// this CPU (musl has no pthread_attr_setaffinity_np). Should it
		// have run already, past fl_pinned's return to all CPUs, it
		// just stays on that one for the few ms of a list.
		if (pthread_create(&tids[started], NULL, fl_pinned, w))
			break;
		pthread_setaffinity_np(tids[started], sizeof(one), &one);
		started++;
	}
	return started;
}

static void *fl_worker(void *arg)
{
	struct fl_work *w = arg;
	struct fs_state *s = calloc(1, sizeof(*s));
	char *buf = malloc(FS_STATE_MAX);
	if (!s || !buf) {
		__atomic_store_n(&w->fallback, 1, __ATOMIC_RELAXED);
	} else {
		for (;;) {
			size_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED);
			if (i >= w->n || __atomic_load_n(&w->fallback, __ATOMIC_RELAXED))
				break;
			if (fl_read(w, i, s, buf) < 0)
				__atomic_store_n(&w->fallback, 1, __ATOMIC_RELAXED);
		}
	}
	if (s) {
		for (int i = 0; i < s->npaths; i++)
			free(s->paths[i]), free(s->path_names[i]);
		for (int i = 0; i < s->nparents; i++)
			free(s->parents[i]);
	}
	free(s);
	free(buf);
	return NULL;
}

static int fl_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// fast_list returns when the Go list must run; else it prints and exits.
static void fast_list(int argc, char **argv, int verb, const char *root, int explicit_root, const char *log)
{
	int quiet = 0;
	const char *v = getenv("SKIFF_LIST");
	if (v && !strcmp(v, "go"))
		return;
	for (int i = verb + 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-q") || !strcmp(a, "--q") || !strcmp(a, "-quiet") || !strcmp(a, "--quiet"))
			quiet = 1;
		else if (a[0] == '-' && (fs_option(argc, argv, &i, "format", &v) || fs_option(argc, argv, &i, "f", &v))) {
			if (strcmp(v, "table"))
				return;
		} else
			return;
	}
	if (fs_open_log(log) < 0)
		return;

	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names = NULL;
	size_t nnames = 0, cap = 0;
	if (rfd < 0) {
		if (errno != ENOENT || explicit_root)
			return;
	} else {
		DIR *d = fdopendir(dup(rfd));
		if (!d) {
			close(rfd);
			return;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (e->d_type != DT_DIR) {
				struct stat st;
				if (e->d_type != DT_UNKNOWN || fstatat(rfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    !S_ISDIR(st.st_mode))
					continue;
			}
			if (nnames == cap) {
				cap = cap ? cap * 2 : 128;
				char **p = realloc(names, cap * sizeof(*names));
				if (!p) {
					closedir(d);
					close(rfd);
					return;
				}
				names = p;
			}
			if (!(names[nnames++] = strdup(e->d_name))) {
				closedir(d);
				close(rfd);
				return;
			}
		}
		closedir(d);
		qsort(names, nnames, sizeof(*names), fl_namecmp);
	}

	struct fl_row *rows = calloc(nnames + 1, sizeof(*rows));
	if (!rows)
		goto go;
	rows[0] = (struct fl_row){{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}, 0};
	struct fl_work w = {.rfd = rfd, .names = names, .n = nnames, .rows = rows};
	// One worker for a few containers, up to one per CPU this process may
	// use (at most 4).
	size_t extra = 0;
	if (sched_getaffinity(0, sizeof(w.cpus), &w.cpus) == 0) {
		int cpus = CPU_COUNT(&w.cpus);
		extra = cpus > 1 ? (size_t)(cpus < 4 ? cpus : 4) - 1 : 0;
	}
	if (extra > nnames / 16)
		extra = nnames / 16;
	pthread_t tids[3];
	size_t started = fl_start(&w, tids, extra);
	fl_worker(&w);
	for (size_t k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	if (w.fallback)
		goto go;
	size_t nrows = 1;
	for (size_t i = 0; i < nnames; i++) {
		struct fl_row *r = &rows[i + 1];
		if (!r->cell[0])
			continue;
		const char *owner = fl_owner(r->uid);
		if (!owner || !fl_plain(owner) || !(r->cell[5] = strdup(owner)))
			goto go;
		rows[nrows++] = *r;
	}
	if (rfd >= 0)
		close(rfd);
	rfd = -1;

	struct fl_buf out = {0};
	if (quiet) {
		for (size_t i = 1; i < nrows; i++)
			if (fl_put(&out, rows[i].cell[0], strlen(rows[i].cell[0])) < 0 || fl_put(&out, "\n", 1) < 0)
				goto go;
	} else {
		// tabwriter.NewWriter(out, 12, 1, 3, ' ', 0): each column as wide
		// as its widest cell plus 3, at least 12; the last cell as it is.
		size_t width[5];
		for (int c = 0; c < 5; c++) {
			width[c] = 12;
			for (size_t i = 0; i < nrows; i++)
				if (strlen(rows[i].cell[c]) + 3 > width[c])
					width[c] = strlen(rows[i].cell[c]) + 3;
		}
		static const char spaces[64] = "                                                               ";
		for (size_t i = 0; i < nrows; i++) {
			for (int c = 0; c < 5; c++) {
				size_t n = strlen(rows[i].cell[c]);
				if (fl_put(&out, rows[i].cell[c], n) < 0)
					goto go;
				for (size_t pad = width[c] - n; pad > 0;) {
					size_t k = pad < sizeof(spaces) - 1 ? pad : sizeof(spaces) - 1;
					if (fl_put(&out, spaces, k) < 0)
						goto go;
					pad -= k;
				}
			}
			if (fl_put(&out, rows[i].cell[5], strlen(rows[i].cell[5])) < 0 || fl_put(&out, "\n", 1) < 0)
				goto go;
		}
	}
	fs_print_exit(out.p, out.len);

go:
	// The Go list starts over; what was allocated here is left (a few KB).
	if (rfd >= 0)
		close(rfd);
}
