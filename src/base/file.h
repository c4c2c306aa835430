// file.h — the file-system helpers every layer uses: whole-file reads with a size cap, atomic
// writes (temp file in the same folder, fsync, rename over the target, fsync the folder), folders
// (create one, create a path, remove a tree we wrote) and path joining.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "error.h"

// Reads a whole file (NUL-terminated for convenience). NULL + err on failure or if > max_size.
char *file_read_all(const char *path, size_t max_size, size_t *size_out, LpoiErr *err);

// Atomic whole-file write (temp in the same folder, fsync, rename, fsync the folder).
bool file_write_atomic(const char *path, const void *data, size_t size, LpoiErr *err);
// The same without the fsyncs: whole or absent at path, durable only after the caller syncs the
// filesystem (lpoi negatives writes thousands of PNGs, then one syncfs before its manifest).
bool file_write_renamed(const char *path, const void *data, size_t size, LpoiErr *err);
// Streaming form of file_write_atomic for files too big to build in memory. Any failure in
// write/commit removes the temp file and closes the handle; call abort to give up yourself.
typedef struct { int fd; char *path, *tmp_path; } AtomicFile;
bool atomic_file_begin(AtomicFile *a, const char *path, LpoiErr *err);
bool atomic_file_write(AtomicFile *a, const void *data, size_t size, LpoiErr *err);
bool atomic_file_commit(AtomicFile *a, LpoiErr *err);   // fsync, rename over path, fsync the folder
void atomic_file_abort(AtomicFile *a);                  // removes the temp file; path is untouched

// fsync on a folder makes the renames inside it durable. A filesystem that cannot fsync a folder
// (EINVAL, EROFS) is no error; a folder that cannot be opened is skipped. err may be NULL.
bool file_fsync_dir(const char *dir, LpoiErr *err);

// Creates the folder `path` (its parent must exist); an existing folder is fine. false + err
// ("PATH: cannot create folder: ..." or "PATH: exists and is not a folder").
bool file_mkdir(const char *path, LpoiErr *err);
// mkdir -p: every missing folder of path, then file_mkdir(path).
bool file_mkdir_p(const char *path, LpoiErr *err);
// Removes a folder we wrote: its files and sub-folders, then itself (symlinks are unlinked, not
// followed). true when path is gone (or never existed).
bool file_rmtree(const char *path);

// true when path does not exist or is a folder with nothing in it (a place a new output folder may go).
bool file_dir_vacant(const char *path);
// rename(2) / unlink(2) with "PATH: cannot ...: reason" (unlink: a missing file is no error).
bool file_rename(const char *from, const char *to, LpoiErr *err);
bool file_unlink(const char *path, LpoiErr *err);
// CRC-32 (zlib's) and size of a file's contents.
bool file_crc32(const char *path, uint32_t *crc, uint64_t *size, LpoiErr *err);

// A checked output stream for files written line by line (the training log, answers, manifests):
// the first failed write is remembered, later writes are skipped, and flush / close report it as
// "PATH: write failed: reason" — a full disk is an error, never a silently cut file.
typedef struct { FILE *f; char *path; int err; } FileOut;
bool file_out_open(FileOut *o, const char *path, bool append, LpoiErr *err);
void file_out_write(FileOut *o, const void *data, size_t n);
void file_out_printf(FileOut *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool file_out_flush(FileOut *o, LpoiErr *err);   // fflush; false + err after any failed write
bool file_out_close(FileOut *o, LpoiErr *err);   // flush + fclose; frees o (safe on a zeroed o)

// Test hook: inject a crash or a failure into this process's file operations (see file.c).
void file_fault_set(const char *spec);
bool file_fault(const char *op);   // true (errno set) when this call of OP is to fail; may _exit

// "a/b", malloc'ed.
char *file_path_join(const char *a, const char *b);
