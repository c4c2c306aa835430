// negatives_journal.h — what lets a killed `lpoi negatives` run resume (--resume) without doing a
// record twice or trusting a half-written file. DIR/journal.jsonl holds a header line with the
// run's fingerprint (the data file's CRC-32 and size and every option that changes the output),
// then one line per finished record, appended (and flushed to the kernel) after the record's PNGs
// were renamed into place: {"index", "skipped", "reason", "verified", "cut", "line"} where "line"
// is the record's manifest (or skipped.jsonl) line. On --resume, an entry is reused when the
// header matches, its line is complete JSON and every PNG it names exists; the journal is then
// rewritten atomically with those entries, and the run appends after them. The manifest is still
// written whole at the end (the commit point), so readers never see a partial run.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "base/error.h"
#include "base/file.h"

typedef struct {
    size_t index;        // the record (0-based among non-blank lines)
    bool skipped;        // a skipped.jsonl line rather than a manifest line
    int reason;          // NegPickStatus when skipped
    bool verified, cut;  // counted in the summary
    char *line;          // with its '\n'
} NegJournalEntry;

typedef struct {
    NegJournalEntry *e;  // sorted by index
    size_t n;
    char *path, *header;
    bool header_written;
    FileOut out;
} NegJournal;

// Starts the journal of DIR; with resume, first loads the usable entries of an earlier run with the
// same fingerprint. false + err when the journal cannot be written, or (resume) was made by a run
// with another fingerprint.
bool neg_journal_open(NegJournal *j, const char *dir, const char *fingerprint, bool resume, LpoiErr *err);
const NegJournalEntry *neg_journal_find(const NegJournal *j, size_t index);
// Appends a finished record (line: its manifest or skipped.jsonl line, with '\n').
bool neg_journal_append(NegJournal *j, const NegJournalEntry *e, LpoiErr *err);
void neg_journal_close(NegJournal *j);
