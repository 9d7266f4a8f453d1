
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "event_harness.h"


/*
 * libFuzzer target (build.sh fuzz).  The first byte picks the mode (bit 0:
 * form or JSON) and max_batch (1 + the rest modulo 64); the other bytes are
 * the body.  Every accepted input must give lines that are valid JSON
 * records in SPEC order, none longer than json_max announced; every
 * rejected one a printable, non-empty reason (event_harness.c aborts
 * otherwise).
 */


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ngx_http_clicktrack_fuzz_out(void *ctx, u_char *p, size_t len);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_clicktrack_harness_init();

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *body;
    ngx_uint_t   mode, batch;

    if (size == 0) {
        return 0;
    }

    mode = (data[0] & 1) ? NGX_HTTP_CLICKTRACK_HARNESS_JSON
                         : NGX_HTTP_CLICKTRACK_HARNESS_FORM;
    batch = 1 + (data[0] >> 1) % 64;

    /*
     * A copy of the exact size: the body ends where the input ends.  An
     * empty body is NULL, as r->args.data is without a query string.
     */

    body = NULL;

    if (size > 1) {
        body = malloc(size - 1);
        if (body == NULL) {
            return 0;
        }

        ngx_memcpy(body, data + 1, size - 1);
    }

    (void) ngx_http_clicktrack_harness_run(body, size - 1, mode, batch,
                                           ngx_http_clicktrack_fuzz_out,
                                           ngx_http_clicktrack_fuzz_out,
                                           NULL);
    free(body);

    return 0;
}


static void
ngx_http_clicktrack_fuzz_out(void *ctx, u_char *p, size_t len)
{
    /* the harness has checked it */
}
