/* Text from the profiled program made safe to show on a terminal (the preload's messages and the
 * ipcprof command's output share it). */
#ifndef IPCPROF_TERM_TEXT_H
#define IPCPROF_TERM_TEXT_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not valid. */
size_t ipcprof_utf8_len(const unsigned char *s, size_t n);
/*
 * Copies s to out (outlen bytes, always NUL-terminated, never half a character) for a terminal:
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 as \xNN, and the characters that
 * reorder or break the text around them (bidirectional marks, embeddings, overrides, isolates,
 * U+2028 and U+2029) as \uNNNN. Stops where out is full. s and out must not overlap.
 */
void ipcprof_term_str(const char *s, char *out, size_t outlen);

#endif
