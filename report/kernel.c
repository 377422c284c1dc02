/* Kernel figures from the eBPF probes (kernel.ipckrn in a session folder), merged per process. */
#include "report.h"

int ipcprof_kernel_merge(struct ipcprof_model *m, int session)
{
        /* The probes' file format is not settled yet: without it, the preload's figures stand. */
        (void)m;
        (void)session;
        return 0;
}
