// The fast delete: `skiff delete [--force] ID` of a created or stopped
// container, done here before the Go runtime starts. Included by nsenter.c
// only, after faststart.h (its state reader).
//
// The steps are libct/destroy.go's, for its plain case: take the
// container's lock, SIGKILL a created container's init through a pidfd and
// wait for it (its PID namespace dies with it), check the cgroup is empty
// (a stat and one read of cgroup.procs), remove its directories and then
// the parents create made, remove the state directory. Everything else is
// the Go delete's, which starts from the beginning:
//
//   - not real root, SKIFF_DELETE=go, options other than -f/--force;
//   - a state file this reader does not fully understand, poststop hooks
//     (or no record of whether there are any), a running or paused
//     container, an init that shares its PID namespace, a rootless or
//     systemd cgroup, one with processes or sub-cgroups, any removal that
//     fails, a state directory holding a directory.
//
// Every step can be done again by the Go delete: killing a dead init,
// removing a removed cgroup, and a state directory without state.json is
// what an aborted create leaves, which delete removes.

#define FD_KILL_TIMEOUT_MS 10000

// fd_unpopulated is cgroups.unpopulated: no sub-cgroup (the link count)
// and an empty cgroup.procs; a directory already gone is empty.
static int fd_unpopulated(const char *dir)
{
	struct stat st;
	char path[FS_PATH_MAX + 32], buf[64];
	if (stat(dir, &st) < 0)
		return errno == ENOENT;
	if (st.st_nlink > 2)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return 0;
	ssize_t n = fs_read_small(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return errno == ENOENT;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\t' && buf[i] != '\r')
			return 0;
	return 1;
}

// fd_list_dir is the v1 manager's listDir: the hierarchy its processes
// are counted in; NULL when it would be another (Go decides).
static const char *fd_list_dir(struct fs_state *s)
{
	static const char *order[] = {"pids", "freezer", "memory", "cpu", "devices"};
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (int i = 0; i < s->npaths; i++)
			if (!strcmp(s->path_names[i], order[o]) && s->paths[i][0])
				return s->paths[i];
	return NULL;
}

static int fd_longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

// fd_remove_cgroup removes the container's cgroup: 0, or -1 (Go then
// does it its way: kill what is left, retry, explain).
static int fd_remove_cgroup(struct fs_state *s)
{
	const char *list;
	if (!strcmp(s->driver, "cgroupfs-v1"))
		list = fd_list_dir(s);
	else if (!strcmp(s->driver, "cgroupfs-v2"))
		list = s->unified[0] ? s->unified : NULL;
	else
		return -1;
	if (!list || !fd_unpopulated(list))
		return -1;
	for (int i = 0; i < s->npaths; i++) {
		if (s->paths[i][0] != '/')
			return -1;
		if (rmdir(s->paths[i]) < 0 && errno != ENOENT)
			return -1;
	}
	qsort(s->parents, (size_t)s->nparents, sizeof(*s->parents), fd_longer_first);
	for (int i = 0; i < s->nparents; i++)
		if (s->parents[i][0] == '/')
			rmdir(s->parents[i]); // still in use by others: stays
	return 0;
}

// fd_remove_dir removes the state directory, which holds only files.
static int fd_remove_dir(int dfd, const char *dir)
{
	int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return -1;
	DIR *d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return -1;
	}
	char *names[64];
	int n = 0;
	struct dirent *e;
	int ok = 1;
	while (ok && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN || n == 64 || !(names[n] = strdup(e->d_name)))
			ok = 0;
		else
			n++;
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		if (ok && unlinkat(dfd, names[i], 0) < 0 && errno != ENOENT)
			ok = 0;
		free(names[i]);
	}
	if (!ok || (rmdir(dir) < 0 && errno != ENOENT))
		return -1;
	return 0;
}

// fast_delete returns when the Go delete must run; else it exits 0.
static void fast_delete(int argc, char **argv, int verb, const char *root, const char *log)
{
	const char *v = getenv("SKIFF_DELETE");
	int i = verb + 1;
	if ((v && !strcmp(v, "go")) || geteuid() != 0)
		return;
	for (; i < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "-f") && strcmp(argv[i], "--f") && strcmp(argv[i], "-force") &&
		    strcmp(argv[i], "--force"))
			return;
	if (i + 1 != argc || !fs_valid_id(argv[i]) || fs_open_log(log) < 0)
		return;
	const char *id = argv[i];
	char dir[FS_PATH_MAX];
	int dfd = fs_open_locked(root, id, dir);
	if (dfd < 0)
		return;
	int r;
	static struct fs_state s;
	static char buf[FS_STATE_MAX];
	const char *status;
	fs_want_paths = 1;
	if (fs_load(dfd, "state.json", &s, buf) < 0 || !s.have_hooks || s.poststop || s.shared_pidns || s.rootless ||
	    s.too_many || !(status = fs_status(dfd, ".", &s)))
		goto go;
	if (!strcmp(status, "created")) {
		int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s.pid, 0);
		if (pidfd >= 0) {
			if (!fs_proc_alive(s.pid, s.pid_start)) {
				close(pidfd); // gone already, its pid perhaps reused
			} else {
				if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
					close(pidfd);
					goto go;
				}
				struct pollfd p = {.fd = pidfd, .events = POLLIN};
				do {
					r = poll(&p, 1, FD_KILL_TIMEOUT_MS);
				} while (r < 0 && errno == EINTR);
				close(pidfd);
				if (r != 1)
					goto go; // the Go delete waits again, then says so
			}
		}
	} else if (strcmp(status, "stopped") && strcmp(status, "creating")) {
		goto go; // running or paused: --force kills, else an error
	}
	// "creating" is only our own lock: the create that wrote that phase is
	// gone and the container is stopped, as the Go delete takes it.
	if (s.have_cgroup && !s.rootless && fd_remove_cgroup(&s) < 0)
		goto go;
	if (fd_remove_dir(dfd, dir) < 0)
		goto go;
	_exit(0);

go:
	close(dfd);
}
