// negatives_preview.h — the contact sheet `lpoi negatives --preview SHEET.png` writes: the first
// lists one row each, their L images side by side as thumbnails (aspect kept, centred in a square
// cell, bilinear as Pillow resizes), each row captioned with its record, so that a user can see at a
// glance whether the boxes hit the objects before training on thousands of lists.
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "image/image.h"

typedef struct {
    Image sheet;             // white, drawn into as rows are added
    int rows, max_rows, L, cell;
} NegPreview;

// A sheet for up to max_rows lists of L images, cells `cell` pixels square.
void neg_preview_init(NegPreview *p, int max_rows, int L, int cell);
// Adds list[0..L) as the next row with its caption (e.g. "LINE 3: images/a.png"); a no-op once the
// sheet is full. false + err when an image cannot be resized.
bool neg_preview_add(NegPreview *p, const Image *list, const char *caption, LpoiErr *err);
// Writes the rows added so far (the sheet cropped to them) as PNG; false + err.
bool neg_preview_write(const NegPreview *p, const char *path, LpoiErr *err);
void neg_preview_free(NegPreview *p);
