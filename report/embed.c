/* Build tool: turns a file into a C array, so that the HTML report needs no file at run time. */
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s INPUT OUTPUT.c SYMBOL\n", argv[0]);
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	FILE *out = fopen(argv[2], "w");
	if (!in || !out) {
		perror("embed");
		return 1;
	}
	fprintf(out, "/* Generated from %s. */\n#include <stddef.h>\n", argv[1]);
	fprintf(out, "extern const char %s[];\nextern const size_t %s_len;\n", argv[3], argv[3]);
	fprintf(out, "const char %s[] = {\n", argv[3]);
	int c;
	size_t n = 0;
	while ((c = getc(in)) != EOF) {
		fprintf(out, "%d,%s", c, ++n % 24 ? "" : "\n");
	}
	fprintf(out, "0};\nconst size_t %s_len = %zu;\n", argv[3], n);
	fclose(in);
	return fclose(out) ? 1 : 0;
}
