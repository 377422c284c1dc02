/* The HTML report: the page template with the JSON report embedded where it says @IPCPROF_JSON@. */
#include <stdio.h>
#include <string.h>

#include "report.h"

extern const char ipcprof_html_template[];
extern const size_t ipcprof_html_template_len;

int ipcprof_write_html(const char *json, size_t len, FILE *f)
{
	static const char marker[] = "@IPCPROF_JSON@";
	const char *t = ipcprof_html_template;
	const char *at = strstr(t, marker);
	if (!at)
		return -1;
	size_t head = (size_t)(at - t);
	const char *tail = at + strlen(marker);
	int rc = 0;
	if (fwrite(t, 1, head, f) != head || fwrite(json, 1, len, f) != len || fputs(tail, f) < 0)
		rc = -1;
	return rc;
}
