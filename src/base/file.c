// file.c — whole-file reads with a size cap, atomic writes, folders (file.h).
// Atomic write = write a temp file in the same folder (so rename stays on one filesystem),
// fsync it, rename it over the target, fsync the folder. A crash or error at any point leaves
// either the old file or the complete new one at `path`, plus at worst a stray temp file that
// we remove ourselves whenever we are still running to do it.
#include "file.h"
#include "check.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

// ---- fault injection (tests) ----
// "OP:N" kills the process (_exit 137, as kill -9 would) at the N-th (1-based) OP of the process;
// "OP:N:fail" makes that call fail with EIO (ENOSPC for write) instead. OP is write, fsync,
// rename, unlink, rmdir, mkdir, or read (a tensor read, st_read_f32). Set from LPOI_FAULT on the
// first call, or by file_fault_set.
static struct { char op[16]; long at, seen; bool fail, parsed; } fault;

void file_fault_set(const char *spec) {
    memset(&fault, 0, sizeof fault);
    fault.parsed = true;
    if (!spec || !*spec) return;
    char mode[8] = "";
    if (sscanf(spec, "%15[a-z]:%ld:%7s", fault.op, &fault.at, mode) < 2 || fault.at < 1) {
        fprintf(stderr, "lpoi: LPOI_FAULT=\"%s\" is not OP:N[:fail]; ignored\n", spec);
        memset(&fault, 0, sizeof fault);
        fault.parsed = true;
        return;
    }
    fault.fail = !strcmp(mode, "fail");
}

bool file_fault(const char *op) {
    if (!fault.parsed) file_fault_set(getenv("LPOI_FAULT"));
    if (!fault.at || strcmp(op, fault.op) != 0 || ++fault.seen != fault.at) return false;
    if (!fault.fail) _exit(137);
    errno = !strcmp(op, "write") ? ENOSPC : EIO;
    return true;
}

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(malloc_check(n), s, n);
}

static void atomic_file_release(AtomicFile *a) {
    if (a->fd >= 0) close(a->fd);
    free(a->path);
    free(a->tmp_path);
    *a = (AtomicFile){.fd = -1};
}

bool atomic_file_begin(AtomicFile *a, const char *path, LpoiErr *err) {
    static atomic_uint counter;   // distinct temp names for concurrent writers in one process
    *a = (AtomicFile){.fd = -1};
    size_t cap = strlen(path) + 64;
    char *tmp = malloc_check(cap);
    snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return err_set(err, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    a->fd = fd;
    a->path = str_dup(path);
    a->tmp_path = tmp;
    return true;
}

void atomic_file_abort(AtomicFile *a) {
    if (a->tmp_path) {
        if (a->fd >= 0) { close(a->fd); a->fd = -1; }
        unlink(a->tmp_path);
    }
    atomic_file_release(a);
}

bool atomic_file_write(AtomicFile *a, const void *data, size_t size, LpoiErr *err) {
    const char *p = data;
    while (size > 0) {
        size_t chunk = LPOI_MIN(size, (size_t)1 << 30);   // Linux writes at most ~2 GB per call
        ssize_t n = file_fault("write") ? -1 : write(a->fd, p, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            err_set(err, "%s: write failed: %s", a->path, strerror(e));
            atomic_file_abort(a);
            return false;
        }
        p += n;
        size -= (size_t)n;
    }
    return true;
}

// fsync of `dir`; errors are reported as "<who>: fsync of folder <dir> failed: ...".
static bool fsync_dir_for(const char *who, const char *dir, LpoiErr *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = true;
    if (fd >= 0) {
        // some filesystems cannot fsync a folder (EINVAL); the data itself is already synced
        if ((file_fault("fsync") || fsync(fd) != 0) && errno != EINVAL && errno != EROFS)
            ok = err_set(err, "%s: fsync of folder %s failed: %s", who, dir, strerror(errno));
        close(fd);
    }
    return ok;
}

bool file_fsync_dir(const char *dir, LpoiErr *err) { return fsync_dir_for(dir, dir, err); }

// fsync on the folder makes the rename itself durable.
static bool fsync_folder_of(const char *path, LpoiErr *err) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) dir = str_dup(".");
    else if (slash == path) dir = str_dup("/");
    else { dir = malloc_check((size_t)(slash - path) + 1); memcpy(dir, path, (size_t)(slash - path)); dir[slash - path] = '\0'; }
    bool ok = fsync_dir_for(path, dir, err);
    free(dir);
    return ok;
}

bool atomic_file_commit(AtomicFile *a, LpoiErr *err) {
    if (file_fault("fsync") || fsync(a->fd) != 0) {
        err_set(err, "%s: fsync failed: %s", a->path, strerror(errno));
        atomic_file_abort(a);
        return false;
    }
    int rc = close(a->fd);
    a->fd = -1;
    if (rc != 0) {
        err_set(err, "%s: close failed: %s", a->path, strerror(errno));
        atomic_file_abort(a);
        return false;
    }
    if (file_fault("rename") || rename(a->tmp_path, a->path) != 0) {
        err_set(err, "%s: cannot rename the temporary file over it: %s", a->path, strerror(errno));
        atomic_file_abort(a);
        return false;
    }
    bool ok = fsync_folder_of(a->path, err);
    atomic_file_release(a);
    return ok;
}

bool file_write_renamed(const char *path, const void *data, size_t size, LpoiErr *err) {
    AtomicFile a;
    if (!atomic_file_begin(&a, path, err) || !atomic_file_write(&a, data, size, err)) return false;
    int rc = close(a.fd);
    a.fd = -1;
    if (rc != 0) {
        err_set(err, "%s: close failed: %s", a.path, strerror(errno));
        atomic_file_abort(&a);
        return false;
    }
    if (file_fault("rename") || rename(a.tmp_path, a.path) != 0) {
        err_set(err, "%s: cannot rename the temporary file over it: %s", a.path, strerror(errno));
        atomic_file_abort(&a);
        return false;
    }
    atomic_file_release(&a);
    return true;
}

bool file_write_atomic(const char *path, const void *data, size_t size, LpoiErr *err) {
    AtomicFile a;
    if (!atomic_file_begin(&a, path, err)) return false;
    if (!atomic_file_write(&a, data, size, err)) return false;
    return atomic_file_commit(&a, err);
}

char *file_read_all(const char *path, size_t max_size, size_t *size_out, LpoiErr *err) {
    if (size_out) *size_out = 0;
    if (max_size > SIZE_MAX / 4) max_size = SIZE_MAX / 4;   // keeps max_size + 1 and doubling safe
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { err_set(err, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0) { err_set(err, "%s: cannot stat: %s", path, strerror(errno)); close(fd); return NULL; }
    if (S_ISDIR(st.st_mode)) { err_set(err, "%s: is a folder, not a file", path); close(fd); return NULL; }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size) {
        err_set(err, "%s: file is %lld bytes, more than the %zu-byte limit", path, (long long)st.st_size, max_size);
        close(fd);
        return NULL;
    }
    // Regular files: read st_size bytes (+1 to notice growth). Pipes etc.: grow until EOF or the cap.
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, len = 0;
    if (cap > max_size + 1) cap = max_size + 1;
    char *buf = malloc_check(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap > max_size) {
                err_set(err, "%s: file is more than the %zu-byte limit", path, max_size);
                free(buf); close(fd); return NULL;
            }
            cap = LPOI_MIN(cap * 2, max_size + 1);
            buf = realloc_check(buf, cap + 1);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { err_set(err, "%s: read failed: %s", path, strerror(errno)); free(buf); close(fd); return NULL; }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    if (len > max_size) {
        err_set(err, "%s: file is more than the %zu-byte limit", path, max_size);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (size_out) *size_out = len;
    return buf;
}

// ---- folders and paths ----

bool file_mkdir(const char *path, LpoiErr *err) {
    if ((!file_fault("mkdir") && mkdir(path, 0755) == 0) || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return true;
        return err_set(err, "%s: exists and is not a folder", path);
    }
    return err_set(err, "%s: cannot create folder: %s", path, strerror(errno));
}

bool file_mkdir_p(const char *path, LpoiErr *err) {
    char *p = str_dup(path);
    for (char *s = p + (*p == '/'); *s; s++)   // every parent "a", "a/b", ... (never the root "")
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                err_set(err, "%s: cannot create folder: %s", p, strerror(errno));
                free(p);
                return false;
            }
            *s = '/';
        }
    bool ok = file_mkdir(p, err);
    free(p);
    return ok;
}

bool file_dir_vacant(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT;
    if (!S_ISDIR(st.st_mode)) return false;
    DIR *d = opendir(path);
    if (!d) return false;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d));) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

bool file_rmtree(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT;
    char *sub = NULL;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        free(sub);
        sub = file_path_join(path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) file_rmtree(sub);
        else if (!file_fault("unlink")) unlink(sub);
    }
    free(sub);
    closedir(d);
    return !file_fault("rmdir") && rmdir(path) == 0;
}

bool file_rename(const char *from, const char *to, LpoiErr *err) {
    if (file_fault("rename") || rename(from, to) != 0)
        return err_set(err, "%s: cannot rename to %s: %s", from, to, strerror(errno));
    return true;
}

bool file_unlink(const char *path, LpoiErr *err) {
    if ((file_fault("unlink") || unlink(path) != 0) && errno != ENOENT)
        return err_set(err, "%s: cannot remove: %s", path, strerror(errno));
    return true;
}

bool file_crc32(const char *path, uint32_t *crc, uint64_t *size, LpoiErr *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    static _Thread_local unsigned char buf[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { int e = errno; close(fd); return err_set(err, "%s: read failed: %s", path, strerror(e)); }
        if (n == 0) break;
        c = crc32(c, buf, (uInt)n);
        total += (uint64_t)n;
    }
    close(fd);
    *crc = (uint32_t)c;
    if (size) *size = total;
    return true;
}

// ---- checked streams ----
bool file_out_open(FileOut *o, const char *path, bool append, LpoiErr *err) {
    *o = (FileOut){0};
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) return err_set(err, "%s: cannot open for writing: %s", path, strerror(errno));
    o->f = f;
    o->path = str_dup(path);
    return true;
}

void file_out_write(FileOut *o, const void *data, size_t n) {
    if (o->err || !o->f || n == 0) return;
    if (file_fault("write")) o->err = errno;
    else if (fwrite(data, 1, n, o->f) != n) o->err = errno ? errno : EIO;
}

void file_out_printf(FileOut *o, const char *fmt, ...) {
    if (o->err || !o->f) return;
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { o->err = EINVAL; return; }
    if ((size_t)n < sizeof small) { file_out_write(o, small, (size_t)n); return; }
    char *big = malloc_check((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    file_out_write(o, big, (size_t)n);
    free(big);
}

bool file_out_flush(FileOut *o, LpoiErr *err) {
    if (!o->err && o->f && fflush(o->f) != 0) o->err = errno ? errno : EIO;
    if (o->err) return err_set(err, "%s: write failed: %s", o->path ? o->path : "?", strerror(o->err));
    return true;
}

bool file_out_close(FileOut *o, LpoiErr *err) {
    bool ok = true;
    if (o->f) {
        ok = file_out_flush(o, err);
        if (fclose(o->f) != 0 && ok) ok = err_set(err, "%s: write failed on close: %s", o->path, strerror(errno));
    }
    free(o->path);
    *o = (FileOut){0};
    return ok;
}

char *file_path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc_check(na + nb + 2);
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}
