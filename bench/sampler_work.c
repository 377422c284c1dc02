/* A fixed amount of CPU work with call stacks of some depth, for the sampler's benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char a[1 << 20], b[1 << 20];

/* Recursion gives every sample a stack DEPTH frames deep to unwind. */
static __attribute__((noipa)) double work(int depth, long n)
{
	if (depth > 0)
		return work(depth - 1, n) + 1;
	double x = 0;
	for (long i = 0; i < n; i++) {
		x += (double)i * 0.5;
		if ((i & 0xffff) == 0) {
			memcpy(a, b, sizeof(a));
			x += a[i & 1023];
		}
	}
	return x;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 40;
	long rounds = argc > 2 ? atol(argv[2]) : 40;
	double s = 0;
	for (long r = 0; r < rounds; r++)
		s += work(depth, 10000000);
	printf("%.0f\n", s);
	return 0;
}
