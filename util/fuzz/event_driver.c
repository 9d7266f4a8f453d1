
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "event_harness.h"


/*
 * event_driver [-b MAX_BATCH] [-t SEC MSEC] form|json [FILE]
 *
 * Parses FILE (or stdin) as a query string / form body or as a JSON body,
 * and prints each event's JSON line, or "error: REASON".  Exit status: 0
 * accepted, 1 rejected, 2 usage or I/O, 3 out of memory; a broken
 * property aborts (see event_harness.c).  The input is held in a buffer of
 * its exact size, so that a read past it shows under ASan or valgrind.
 */


static void ngx_http_clicktrack_driver_out(void *ctx, u_char *p, size_t len);
static void ngx_http_clicktrack_driver_reject(void *ctx, u_char *p,
    size_t len);
static u_char *ngx_http_clicktrack_driver_read(FILE *f, size_t *len);


int ngx_cdecl
main(int argc, char *argv[])
{
    int          i;
    FILE        *f;
    size_t       len;
    time_t       sec;
    u_char      *data;
    ngx_int_t    rc, batch, msec;
    ngx_uint_t   mode;

    ngx_http_clicktrack_harness_init();

    batch = 50;
    i = 1;

    while (i < argc && argv[i][0] == '-') {

        if (ngx_strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
            batch = ngx_atoi((u_char *) argv[i + 1], ngx_strlen(argv[i + 1]));
            if (batch == NGX_ERROR) {
                goto usage;
            }

            i += 2;

        } else if (ngx_strcmp(argv[i], "-t") == 0 && i + 2 < argc) {
            sec = ngx_atotm((u_char *) argv[i + 1], ngx_strlen(argv[i + 1]));
            msec = ngx_atoi((u_char *) argv[i + 2], ngx_strlen(argv[i + 2]));
            if (sec == NGX_ERROR || msec == NGX_ERROR) {
                goto usage;
            }

            ngx_http_clicktrack_harness_time(sec, (ngx_msec_t) msec);
            i += 3;

        } else {
            goto usage;
        }
    }

    if (i >= argc || argc > i + 2) {
        goto usage;
    }

    if (ngx_strcmp(argv[i], "form") == 0) {
        mode = NGX_HTTP_CLICKTRACK_HARNESS_FORM;

    } else if (ngx_strcmp(argv[i], "json") == 0) {
        mode = NGX_HTTP_CLICKTRACK_HARNESS_JSON;

    } else {
        goto usage;
    }

    if (i + 1 < argc) {
        f = fopen(argv[i + 1], "rb");
        if (f == NULL) {
            perror(argv[i + 1]);
            return 2;
        }

    } else {
        f = stdin;
    }

    data = ngx_http_clicktrack_driver_read(f, &len);

    if (f != stdin) {
        fclose(f);
    }

    if (data == NULL) {
        perror("read");
        return 2;
    }

    rc = ngx_http_clicktrack_harness_run(data, len, mode, (ngx_uint_t) batch,
                                         ngx_http_clicktrack_driver_out,
                                         ngx_http_clicktrack_driver_reject,
                                         NULL);
    free(data);

    fflush(stdout);

    switch (rc) {
    case NGX_OK:
        return 0;
    case NGX_DECLINED:
        return 1;
    default:
        fprintf(stderr, "out of memory\n");
        return 3;
    }

usage:

    fprintf(stderr, "usage: %s [-b MAX_BATCH] [-t SEC MSEC] form|json "
            "[FILE]\n", argv[0]);
    return 2;
}


static void
ngx_http_clicktrack_driver_out(void *ctx, u_char *p, size_t len)
{
    fwrite(p, 1, len, stdout);
    fputc('\n', stdout);
}


static void
ngx_http_clicktrack_driver_reject(void *ctx, u_char *p, size_t len)
{
    fputs("error: ", stdout);
    fwrite(p, 1, len, stdout);
    fputc('\n', stdout);
}


/* the whole of f in a malloc()ed buffer of exactly its size */

static u_char *
ngx_http_clicktrack_driver_read(FILE *f, size_t *len)
{
    u_char  *buf, *exact;
    size_t   size, n;

    size = 65536;
    *len = 0;

    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    for ( ;; ) {
        n = fread(buf + *len, 1, size - *len, f);
        *len += n;

        if (*len < size) {
            if (ferror(f)) {
                free(buf);
                return NULL;
            }

            break;
        }

        size *= 2;

        exact = realloc(buf, size);
        if (exact == NULL) {
            free(buf);
            return NULL;
        }

        buf = exact;
    }

    exact = malloc(*len ? *len : 1);
    if (exact == NULL) {
        free(buf);
        return NULL;
    }

    ngx_memcpy(exact, buf, *len);
    free(buf);

    return exact;
}
