/* CI gates (--fail-if EXPR): conditions on a report's figures that make the command fail. */
#ifndef IPCPROF_GATES_H
#define IPCPROF_GATES_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;

/* One parsed gate: "FIGURE OP NUMBER" or "finding KIND". */
struct ipcprof_gate {
	char *text;    /* as the user wrote it, for the messages */
	int figure;    /* index into the table of figures in gates.c; -1 for a finding */
	char kind[32]; /* the finding kind ("any": every kind), or the channel kind of bytes.KIND */
	int op;        /* enum in gates.c */
	double limit;  /* in the figure's JSON unit: a fraction, bytes, seconds */
};

struct ipcprof_gates {
	int n;
	struct ipcprof_gate *g;
};

/* Parses expr and adds it to gs. Returns 0, or -1 with err saying what is wrong with it (and what
 * is allowed); gs is unchanged then. */
int ipcprof_gate_add(struct ipcprof_gates *gs, const char *expr, char *err, size_t errlen);
/* Checks every gate against report (ipcprof_report_json's document) and says on stderr, one line
 * each, which were crossed and why (and, unless quiet, which held). A gate whose figure the report
 * lacks (a share that is null) counts as crossed: a gate that cannot be checked must not pass.
 * Returns how many were crossed. */
int ipcprof_gates_check(const struct ipcprof_gates *gs, const struct json_t *report, bool quiet);
void ipcprof_gates_free(struct ipcprof_gates *gs);

/* The finding kinds the model makes, NULL-terminated (the schema's findings[].kind enum). */
extern const char *const ipcprof_finding_kinds[];

#endif
