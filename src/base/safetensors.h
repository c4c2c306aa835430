// safetensors.h — our own reader (mmap) and writer (atomic) for the safetensors format,
// and sharded checkpoints through model.safetensors.index.json.
// Reader validation (everything the reference implementation checks, and more): header length
// <= 100 MB and inside the file; UTF-8 + strict JSON; __metadata__ string->string only;
// duplicate names rejected; offsets contiguous from 0 with no holes or overlap (in offset order);
// shape x dtype size == byte span with overflow-checked arithmetic; last end == buffer size exactly.
// Tensor data may be unaligned: read it with dtype_to_f32 / memcpy, never by casting.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "dtype.h"
#include "error.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000ull

typedef struct {
    char *name;                 // NUL-terminated tensor name
    Dtype dtype;
    int ndim;
    uint64_t shape[ST_MAX_DIMS];
    uint64_t numel;             // product of shape (1 for a scalar)
    uint64_t begin, end;        // data_offsets, relative to the start of the byte buffer
    const unsigned char *data;  // points into the mapping: file + 8 + N + begin (may be unaligned)
} StTensor;

typedef struct {
    char *path;
    unsigned char *map;         // the whole file, mmapped read-only (NULL for an empty mapping)
    size_t map_size;
    uint64_t header_len;        // N
    StTensor *tensors;          // sorted by begin offset (file order)
    size_t count;
    char **meta_keys, **meta_vals;   // __metadata__ (string -> string)
    size_t meta_count;
    const StTensor **by_name;   // the tensors sorted by name, for st_find
    bool owns_map;              // st_open mmapped `map` (st_close unmaps it); false for memory buffers
} StFile;

// Opens and validates a file. false + err ("<path>: <reason>") on any problem; *f is then empty.
bool st_open(StFile *f, const char *path, LpoiErr *err);
// Same, on a memory buffer (used by the fuzzer and tests). The buffer must outlive f.
bool st_open_memory(StFile *f, const void *buf, size_t size, const char *name, LpoiErr *err);
void st_close(StFile *f);

const StTensor *st_find(const StFile *f, const char *name);      // NULL if absent (binary search)
const char     *st_meta(const StFile *f, const char *key);       // NULL if absent

// Reads a tensor as fp32 into dst (numel floats). false + err if the dtype is not usable.
bool st_read_f32(const StTensor *t, float *dst, LpoiErr *err);

// ---- sharded checkpoints ----
// A model folder: either model.safetensors, or model.safetensors.index.json + shards
// (shard names must be plain file names in the same folder; every mapped tensor must exist in
// its shard; a shard's tensors that the map does not mention are an error too).
typedef struct {
    StFile *shards;
    size_t nshards;
    // name -> (shard, tensor) lookup, sorted by name
    const StTensor **by_name;
    size_t count;
} StModel;

bool st_model_open(StModel *m, const char *dir_or_file, LpoiErr *err);
const StTensor *st_model_find(const StModel *m, const char *name);
void st_model_close(StModel *m);

// ---- writer ----
// Collect tensors (data is copied at write time, not at add time: keep it alive), then
// st_writer_write: the reference writer's layout (sorted by dtype size desc, then name; header
// space-padded to a multiple of 8 so every tensor is naturally aligned),
// "__metadata__" = {"format": "pt"} plus any added metadata; temp file + fsync + rename,
// so an existing file at path is either the old one or the complete new one.
typedef struct StWriter StWriter;
StWriter *st_writer_new(void);
void st_writer_add(StWriter *w, const char *name, Dtype dtype, int ndim, const uint64_t *shape, const void *data);
void st_writer_add_f32(StWriter *w, const char *name, int ndim, const uint64_t *shape, const float *data);
void st_writer_meta(StWriter *w, const char *key, const char *value);   // "format" is set to "pt" by default
bool st_writer_write(StWriter *w, const char *path, LpoiErr *err);
void st_writer_free(StWriter *w);
