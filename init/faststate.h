// The fast state: `skiff state ID` done here, before the Go runtime starts.
// Included by nsenter.c only, after fastlist.h (its checks of the creation
// time).
//
// state reads the container's state file, works out its status as list
// does (fs_status) and prints the OCI state exactly as state.go does: the
// generated encoder's compact JSON indented by encoding/json's Indent (two
// spaces, ": " after a name, no newline at the end), the annotations in
// the order of their names. Anything this cannot print the same goes to
// the Go state, which starts over (nothing has been written yet):
//
//   - an option or argument other than one container id, SKIFF_STATE=go;
//   - a missing, invalid or unreadable container (Go says what is wrong);
//   - a state file the reader does not fully understand, a status that
//     needs the Go side, a creation time not in the form Go prints;
//   - a string with a byte outside printable ASCII (Go checks and
//     replaces UTF-8), or an annotation the reader cannot take.

struct st_buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void st_put(struct st_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p, b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void st_raw(struct st_buf *b, const char *s)
{
	st_put(b, s, strlen(s));
}

// st_string writes s quoted as genjson's Encoder.String does for ASCII
// (HTML's <, > and & escaped, as encoding/json does); -1 for anything else.
static int st_string(struct st_buf *b, const char *s)
{
	st_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			st_put(b, esc, 2);
		} else if (c == '<' || c == '>' || c == '&') {
			snprintf(esc, sizeof(esc), "\\u00%02x", c);
			st_put(b, esc, 6);
		} else {
			st_put(b, (const char *)s, 1);
		}
	}
	st_put(b, "\"", 1);
	return 0;
}

// st_member writes `  "name": ` at the given depth of indentation.
static void st_member(struct st_buf *b, int depth, const char *name, int first)
{
	if (!first)
		st_put(b, ",", 1);
	st_put(b, "\n", 1);
	for (int i = 0; i < depth; i++)
		st_put(b, "  ", 2);
	st_put(b, "\"", 1);
	st_raw(b, name);
	st_put(b, "\": ", 3);
}

static int st_keycmp(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

// fast_state returns when the Go state must run; else it prints and exits.
static void fast_state(int argc, char **argv, int verb, const char *root, const char *log)
{
	const char *env = getenv("SKIFF_STATE");
	if (verb + 2 != argc || !fs_valid_id(argv[verb + 1]) || (env && !strcmp(env, "go")))
		return;
	const char *id = argv[verb + 1];
	if (fs_open_log(log) < 0)
		return;
	static struct fs_state s;
	static char buf[FS_STATE_MAX];
	fs_want_state = 1;
	const char *status = fs_load_status(root, id, &s, buf);
	fs_want_state = 0;
	if (!status || !fl_rfc3339nano(s.created))
		return;

	// The annotations in the order of their names (Go sorts a map's keys).
	char **order[FS_MAX_ANNOTATIONS];
	for (int i = 0; i < s.nann; i++)
		order[i] = &s.ann_keys[i];
	qsort(order, (size_t)s.nann, sizeof(order[0]), st_keycmp);

	struct st_buf out = {0};
	char pid[24];
	snprintf(pid, sizeof(pid), "%lld", strcmp(status, "stopped") ? s.pid : 0);
	st_put(&out, "{", 1);
	st_member(&out, 1, "ociVersion", 1);
	int bad = st_string(&out, s.oci_version);
	st_member(&out, 1, "id", 0);
	bad |= st_string(&out, id);
	st_member(&out, 1, "pid", 0);
	st_raw(&out, pid);
	st_member(&out, 1, "status", 0);
	bad |= st_string(&out, status);
	st_member(&out, 1, "bundle", 0);
	bad |= st_string(&out, s.bundle);
	st_member(&out, 1, "rootfs", 0);
	bad |= st_string(&out, s.rootfs);
	st_member(&out, 1, "created", 0);
	bad |= st_string(&out, s.created);
	if (s.nann) {
		st_member(&out, 1, "annotations", 0);
		st_put(&out, "{", 1);
		for (int i = 0; i < s.nann; i++) {
			size_t k = (size_t)(order[i] - s.ann_keys);
			st_put(&out, i ? ",\n    " : "\n    ", i ? 6 : 5);
			bad |= st_string(&out, s.ann_keys[k]);
			st_put(&out, ": ", 2);
			bad |= st_string(&out, s.ann_values[k]);
		}
		st_put(&out, "\n  }", 4);
	}
	st_member(&out, 1, "owner", 0);
	st_raw(&out, "\"\"\n}");
	if (bad || out.failed) {
		free(out.p);
		return;
	}
	fs_print_exit(out.p, out.len);
}
