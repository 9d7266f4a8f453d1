
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/file.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_spool.h"


/*
 * Files under PATH, all named for the run (the master's pid) whose events
 * they hold, the worker that wrote or claimed them, and a sequence number:
 *
 *   w.RUN.PID.SEQ    being written by worker PID (flock held), or left
 *   r.RUN.PID.SEQ    claimed by worker PID for replay (flock held), or left
 *
 * A worker holds an exclusive flock on every file it has open; the kernel
 * drops it when the worker exits or dies.  A file whose lock is free is a
 * leftover: any worker may claim it by renaming it to its own r. name.  Two
 * workers may race for one file; only one rename succeeds.
 *
 * A line: "LEN:LIST LEN:RECENT MAX JSON\n", LIST and RECENT (the list key and
 * the recent stream, "0:" when off) taken by length, JSON up to the newline
 * (an event's JSON never holds a raw newline).
 */


#define NGX_HTTP_CLICKTRACK_SPOOL_READ    (64 * 1024)
#define NGX_HTTP_CLICKTRACK_SPOOL_SCAN    64
#define NGX_HTTP_CLICKTRACK_SPOOL_NAME    64
#define NGX_HTTP_CLICKTRACK_SPOOL_STALE   60


typedef struct {
    u_char                           name[NGX_HTTP_CLICKTRACK_SPOOL_NAME];
    time_t                           mtime;
} ngx_http_clicktrack_spool_file_t;


struct ngx_http_clicktrack_spool_s {
    ngx_http_clicktrack_spool_conf_t *conf;
    ngx_http_clicktrack_counters_t   *counters;
    ngx_log_t                        *log;
    ngx_pool_t                       *pool;

    ngx_pid_t                         run;
    ngx_uint_t                        seq;

    /* the file this worker appends to */
    ngx_fd_t                          wfd;
    u_char                           *wname;      /* full path */
    off_t                             wsize;
    u_char                           *line;       /* scratch for one line */
    size_t                            line_size;

    /* the file this worker replays */
    ngx_fd_t                          rfd;
    u_char                           *rname;
    ngx_pid_t                         rrun;
    off_t                             rsize;      /* at claim */
    off_t                             rread;      /* read into buf */
    u_char                           *buf;
    u_char                           *pos;
    u_char                           *last;
    size_t                            buf_size;
    off_t                            *offsets;    /* of fed lines' ends */
    ngx_uint_t                        noffsets;
    ngx_uint_t                        first;
    ngx_uint_t                        fed;        /* not yet confirmed */
    off_t                             confirmed;  /* file offset */
    unsigned                          eof:1;

    time_t                            open_failed;
    time_t                            logged;
    ngx_uint_t                        lost;       /* not logged yet */
    time_t                            full_logged;
    ngx_uint_t                        full;
};


static ngx_int_t ngx_http_clicktrack_spool_open(
    ngx_http_clicktrack_spool_t *sp, ngx_pid_t run);
static ngx_int_t ngx_http_clicktrack_spool_append(
    ngx_http_clicktrack_spool_t *sp, ngx_str_t *list,
    ngx_http_clicktrack_recent_t *recent, u_char *json, size_t len,
    ngx_uint_t limit);
static void ngx_http_clicktrack_spool_close_write(
    ngx_http_clicktrack_spool_t *sp, ngx_uint_t sync);
static ngx_int_t ngx_http_clicktrack_spool_find(
    ngx_http_clicktrack_spool_t *sp);
static void ngx_http_clicktrack_spool_stale(ngx_http_clicktrack_spool_t *sp,
    u_char *path, ngx_file_info_t *fi);
static ngx_int_t ngx_http_clicktrack_spool_claim_one(
    ngx_http_clicktrack_spool_t *sp, u_char *name);
static ngx_int_t ngx_http_clicktrack_spool_next(
    ngx_http_clicktrack_spool_t *sp, ngx_http_clicktrack_spool_event_t *ln);
static ngx_int_t ngx_http_clicktrack_spool_parse(u_char *p, u_char *last,
    ngx_http_clicktrack_spool_event_t *ln, u_char **end);
static u_char *ngx_http_clicktrack_spool_field(u_char *p, u_char *last,
    ngx_str_t *s);
static void ngx_http_clicktrack_spool_done(ngx_http_clicktrack_spool_t *sp);
static void ngx_http_clicktrack_spool_close_read(
    ngx_http_clicktrack_spool_t *sp);
static void ngx_http_clicktrack_spool_save_rest(
    ngx_http_clicktrack_spool_t *sp);
static void ngx_http_clicktrack_spool_error(ngx_http_clicktrack_spool_t *sp,
    ngx_err_t err, const char *what, u_char *name);
static int ngx_libc_cdecl ngx_http_clicktrack_spool_older(const void *one,
    const void *two);


ngx_http_clicktrack_spool_t *
ngx_http_clicktrack_spool_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf)
{
    size_t                        len;
    ngx_http_clicktrack_spool_t  *sp;

    sp = ngx_pcalloc(cycle->pool, sizeof(ngx_http_clicktrack_spool_t));
    if (sp == NULL) {
        return NULL;
    }

    sp->conf = mcf->spool;
    sp->counters = mcf->counters;
    sp->log = cycle->log;
    sp->pool = cycle->pool;

    /* a reload keeps the master, and so the run */

    sp->run = (ngx_process == NGX_PROCESS_SINGLE) ? ngx_pid : getppid();

    sp->wfd = NGX_INVALID_FILE;
    sp->rfd = NGX_INVALID_FILE;

    len = sp->conf->path.len + 1 + NGX_HTTP_CLICKTRACK_SPOOL_NAME;

    sp->wname = ngx_pnalloc(cycle->pool, len);
    sp->rname = ngx_pnalloc(cycle->pool, len);

    sp->buf_size = NGX_HTTP_CLICKTRACK_SPOOL_READ;
    sp->buf = ngx_palloc(cycle->pool, sp->buf_size);

    /* replay keeps at most 4 batches unconfirmed */

    sp->noffsets = 4 * mcf->queue_batch;
    sp->offsets = ngx_palloc(cycle->pool, sp->noffsets * sizeof(off_t));

    if (sp->wname == NULL || sp->rname == NULL || sp->buf == NULL
        || sp->offsets == NULL)
    {
        return NULL;
    }

    sp->pos = sp->buf;
    sp->last = sp->buf;

    return sp;
}


ngx_int_t
ngx_http_clicktrack_spool_write(ngx_http_clicktrack_spool_t *sp,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len)
{
    return ngx_http_clicktrack_spool_append(sp, list, recent, json, len, 1);
}


/*
 * One write(2) per event, appended to the page cache, no fsync (see
 * docs/durability.md for the measured cost).  limit: obey max_size.
 */

static ngx_int_t
ngx_http_clicktrack_spool_append(ngx_http_clicktrack_spool_t *sp,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len, ngx_uint_t limit)
{
    u_char     *p;
    size_t      size;
    ssize_t     n;
    ngx_err_t   err;

    size = NGX_SIZE_T_LEN * 3 + 5 + list->len + len
           + (recent ? recent->key.len + recent->max_text.len : 1);

    if (limit
        && (off_t) (sp->counters->spool_bytes + size) > sp->conf->max_size)
    {
        sp->full++;

        if (ngx_time() != sp->full_logged) {
            ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                          "clicktrack: spool \"%V\" over max_size %O, "
                          "%ui event(s) dropped",
                          &sp->conf->path, sp->conf->max_size, sp->full);
            sp->full = 0;
            sp->full_logged = ngx_time();
        }

        return NGX_DECLINED;
    }

    /* lines are read back by the lengths of the keys, checked by newlines */

    if (ngx_strlchr(list->data, list->data + list->len, LF) != NULL
        || (recent != NULL
            && ngx_strlchr(recent->key.data,
                           recent->key.data + recent->key.len, LF)
               != NULL))
    {
        if (ngx_time() != sp->logged) {
            ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                          "clicktrack: a list key with a newline cannot be "
                          "spooled: \"%V\"", list);
            sp->logged = ngx_time();
        }

        return NGX_DECLINED;
    }

    if (sp->wfd == NGX_INVALID_FILE) {

        /* a directory that cannot be written is tried once a second */

        if (sp->open_failed == ngx_time()) {
            ngx_http_clicktrack_spool_error(sp, 0, NULL, NULL);
            return NGX_DECLINED;
        }

        if (ngx_http_clicktrack_spool_open(sp, sp->run) != NGX_OK) {
            sp->open_failed = ngx_time();
            return NGX_DECLINED;
        }
    }

    if (size > sp->line_size) {
        p = ngx_alloc(ngx_max(size, 4096), sp->log);
        if (p == NULL) {
            return NGX_DECLINED;
        }

        if (sp->line) {
            ngx_free(sp->line);
        }

        sp->line = p;
        sp->line_size = ngx_max(size, 4096);
    }

    p = ngx_sprintf(sp->line, "%uz:%V ", list->len, list);

    if (recent) {
        p = ngx_sprintf(p, "%uz:%V %V ", recent->key.len, &recent->key,
                        &recent->max_text);
    } else {
        p = ngx_cpymem(p, "0: 0 ", 5);
    }

    p = ngx_cpymem(p, json, len);
    *p++ = LF;

    size = p - sp->line;

    n = write(sp->wfd, sp->line, size);

    if (n != (ssize_t) size) {
        err = (n == -1) ? ngx_errno : NGX_ENOSPC;

        /* no torn line is left behind: the file ends where it did */

        if (n > 0 && ftruncate(sp->wfd, sp->wsize) == -1) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "clicktrack: ftruncate(\"%s\") failed", sp->wname);
        }

        ngx_http_clicktrack_spool_error(sp, err, "write", sp->wname);
        ngx_http_clicktrack_spool_close_write(sp, 0);
        sp->open_failed = ngx_time();

        return NGX_DECLINED;
    }

    sp->wsize += size;

    (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes, size);
    (void) ngx_atomic_fetch_add(&sp->counters->spooled, 1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: spooled %uz bytes to \"%s\", %O in the file",
                   size, sp->wname, sp->wsize);

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_spool_open(ngx_http_clicktrack_spool_t *sp,
    ngx_pid_t run)
{
    u_char      tmp[NGX_MAX_PATH];
    ngx_fd_t    fd;
    ngx_uint_t  seq;

    /*
     * Created under a name no worker claims, locked, then named: a file
     * named "w." is either locked by its writer or left.
     */

    seq = ++sp->seq;

    (void) ngx_sprintf(tmp, "%V/t.%P.%P.%ui%Z", &sp->conf->path,
                       run, ngx_pid, seq);
    (void) ngx_sprintf(sp->wname, "%V/w.%P.%P.%ui%Z", &sp->conf->path,
                       run, ngx_pid, seq);

    fd = open((char *) tmp, O_WRONLY|O_CREAT|O_TRUNC|O_APPEND, 0644);

    if (fd == NGX_INVALID_FILE) {
        ngx_http_clicktrack_spool_error(sp, ngx_errno, "open", tmp);
        return NGX_ERROR;
    }

    if (flock(fd, LOCK_EX|LOCK_NB) == -1
        || ngx_rename_file(tmp, sp->wname) == NGX_FILE_ERROR)
    {
        ngx_http_clicktrack_spool_error(sp, ngx_errno, "create", sp->wname);
        (void) ngx_close_file(fd);
        (void) ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    sp->wfd = fd;
    sp->wsize = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: spooling to \"%s\"", sp->wname);

    return NGX_OK;
}


/*
 * fsync only when the worker leaves: then a stall costs nothing, and the
 * machine may be going down.  A file handed over for replay while the
 * worker serves is left to the kernel's writeback (docs/durability.md).
 */

static void
ngx_http_clicktrack_spool_close_write(ngx_http_clicktrack_spool_t *sp,
    ngx_uint_t sync)
{
    if (sp->wfd == NGX_INVALID_FILE) {
        return;
    }

    if (sync && sp->wsize && fsync(sp->wfd) == -1) {
        ngx_log_error(NGX_LOG_ERR, sp->log, ngx_errno,
                      "clicktrack: fsync(\"%s\") failed", sp->wname);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: spool \"%s\" closed, %O bytes%s",
                   sp->wname, sp->wsize, sync ? ", synced" : "");

    if (sp->wsize == 0) {
        (void) ngx_delete_file(sp->wname);
    }

    if (ngx_close_file(sp->wfd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "clicktrack: close(\"%s\") failed", sp->wname);
    }

    sp->wfd = NGX_INVALID_FILE;
    sp->wsize = 0;
}


ngx_int_t
ngx_http_clicktrack_spool_claim(ngx_http_clicktrack_spool_t *sp)
{
    if (sp->rfd != NGX_INVALID_FILE) {
        return NGX_OK;
    }

    /* the spool takes over again only when the queue is full again */

    ngx_http_clicktrack_spool_close_write(sp, 0);

    return ngx_http_clicktrack_spool_find(sp);
}


static ngx_int_t
ngx_http_clicktrack_spool_find(ngx_http_clicktrack_spool_t *sp)
{
    DIR                               *dir;
    u_char                            *path;
    size_t                             len;
    ngx_uint_t                         i, n;
    ngx_file_info_t                    fi;
    struct dirent                     *de;
    ngx_http_clicktrack_spool_file_t   files[NGX_HTTP_CLICKTRACK_SPOOL_SCAN];

    dir = opendir((char *) sp->conf->path.data);

    if (dir == NULL) {
        ngx_http_clicktrack_spool_error(sp, ngx_errno, "opendir",
                                        sp->conf->path.data);
        return NGX_DECLINED;
    }

    path = sp->rname;
    n = 0;

    while (n < NGX_HTTP_CLICKTRACK_SPOOL_SCAN && (de = readdir(dir)) != NULL) {

        len = ngx_strlen(de->d_name);

        if (len < 3 || len >= NGX_HTTP_CLICKTRACK_SPOOL_NAME - 1
            || (de->d_name[0] != 'w' && de->d_name[0] != 'r'
                && de->d_name[0] != 't')
            || de->d_name[1] != '.')
        {
            continue;
        }

        (void) ngx_sprintf(path, "%V/%s%Z", &sp->conf->path, de->d_name);

        if (ngx_file_info(path, &fi) == NGX_FILE_ERROR
            || !ngx_is_file(&fi))
        {
            continue;
        }

        if (de->d_name[0] == 't') {
            ngx_http_clicktrack_spool_stale(sp, path, &fi);
            continue;
        }

        ngx_memcpy(files[n].name, de->d_name, len + 1);
        files[n].mtime = ngx_file_mtime(&fi);
        n++;
    }

    (void) closedir(dir);

    if (n == 0) {
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: %ui spool file(s) in \"%V\" to claim",
                   n, &sp->conf->path);

    ngx_qsort(files, n, sizeof(ngx_http_clicktrack_spool_file_t),
              ngx_http_clicktrack_spool_older);

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_spool_claim_one(sp, files[i].name) == NGX_OK) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * A worker names its new file within microseconds of creating it (see
 * ngx_http_clicktrack_spool_open()), and writes to it only under its "w."
 * name: a "t." file that is empty and a minute old was left by a worker
 * that died in between.  Nothing else is removed.
 */

static void
ngx_http_clicktrack_spool_stale(ngx_http_clicktrack_spool_t *sp,
    u_char *path, ngx_file_info_t *fi)
{
    if (ngx_file_size(fi) != 0
        || ngx_time() - ngx_file_mtime(fi) < NGX_HTTP_CLICKTRACK_SPOOL_STALE)
    {
        return;
    }

    if (ngx_delete_file(path) == NGX_FILE_ERROR) {

        /* the directory is not writable: spooling reports that already */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sp->log, ngx_errno,
                       "clicktrack: unlink(\"%s\") failed", path);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "clicktrack: removed \"%s\", an empty file left by a "
                  "worker that died creating it", path);
}


/* the lock says nobody holds it; the rename makes it ours */

static ngx_int_t
ngx_http_clicktrack_spool_claim_one(ngx_http_clicktrack_spool_t *sp,
    u_char *name)
{
    u_char           *p, from[NGX_MAX_PATH];
    ngx_fd_t          fd;
    ngx_int_t         run;
    ngx_file_info_t   fi;

    if (sp->conf->path.len + 2 + ngx_strlen(name) > NGX_MAX_PATH) {
        return NGX_DECLINED;
    }

    (void) ngx_sprintf(from, "%V/%s%Z", &sp->conf->path, name);

    fd = ngx_open_file(from, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        return NGX_DECLINED;
    }

    if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sp->log, ngx_errno,
                       "clicktrack: \"%s\" is locked, not claimed", from);
        (void) ngx_close_file(fd);
        return NGX_DECLINED;
    }

    /* the run of the events: "w.RUN." or "r.RUN." */

    p = (u_char *) ngx_strchr(name + 2, '.');
    run = (p == NULL) ? NGX_ERROR : ngx_atoi(name + 2, p - (name + 2));

    (void) ngx_sprintf(sp->rname, "%V/r.%i.%P.%ui%Z", &sp->conf->path,
                       run == NGX_ERROR ? 0 : run, ngx_pid, ++sp->seq);

    if (ngx_rename_file(from, sp->rname) == NGX_FILE_ERROR) {

        /* another worker was quicker */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sp->log, ngx_errno,
                       "clicktrack: \"%s\" claimed by another worker", from);
        (void) ngx_close_file(fd);
        return NGX_DECLINED;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_http_clicktrack_spool_error(sp, ngx_errno, "fstat", sp->rname);
        (void) ngx_close_file(fd);
        return NGX_DECLINED;
    }

    sp->rfd = fd;
    sp->rrun = (ngx_pid_t) run;
    sp->rsize = ngx_file_size(&fi);
    sp->rread = 0;
    sp->pos = sp->buf;
    sp->last = sp->buf;
    sp->first = 0;
    sp->fed = 0;
    sp->confirmed = 0;
    sp->eof = 0;

    /* an earlier run's bytes were not counted by this one */

    if (sp->rrun != sp->run) {
        (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes, sp->rsize);
    }

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "clicktrack: replaying \"%s\" (%O bytes%s) from \"%s\"",
                  sp->rname, sp->rsize,
                  sp->rrun != sp->run ? ", an earlier run" : "", from);

    return NGX_OK;
}


/*
 * The lines of the claimed file, in its order, at most noffsets of them
 * unconfirmed at a time.
 */

ngx_int_t
ngx_http_clicktrack_spool_read(ngx_http_clicktrack_spool_t *sp,
    ngx_http_clicktrack_spool_event_t *ev)
{
    ngx_int_t  rc;

    if (sp->rfd == NGX_INVALID_FILE || sp->fed >= sp->noffsets) {
        return NGX_DONE;
    }

    rc = ngx_http_clicktrack_spool_next(sp, ev);

    if (rc == NGX_DONE) {
        if (sp->fed == 0) {
            ngx_http_clicktrack_spool_done(sp);
        }

        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ev->from = NGX_HTTP_CLICKTRACK_FROM_SPOOL;

    if (sp->rrun != sp->run) {
        ev->from |= NGX_HTTP_CLICKTRACK_FROM_EARLIER;
    }

    return NGX_OK;
}


void
ngx_http_clicktrack_spool_taken(ngx_http_clicktrack_spool_t *sp,
    ngx_http_clicktrack_spool_event_t *ev, ngx_uint_t taken)
{
    if (!taken) {
        /*
         * no room now: the line is read again next time, from where it is
         * now: reading it may have moved the buffer's content
         */

        sp->pos = ev->start;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                       "clicktrack: spool line at %O waits for room",
                       sp->rread - (sp->last - sp->pos));
        return;
    }

    if (ev->from & NGX_HTTP_CLICKTRACK_FROM_EARLIER) {
        (void) ngx_atomic_fetch_add(&sp->counters->accepted, 1);

    } else {
        (void) ngx_atomic_fetch_add(&sp->counters->spooled, -1);
    }

    (void) ngx_atomic_fetch_add(&sp->counters->replayed, 1);

    sp->offsets[(sp->first + sp->fed) % sp->noffsets] =
                                       sp->rread - (sp->last - sp->pos);
    sp->fed++;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: replayed a line of \"%s\", up to %O, "
                   "%ui unconfirmed",
                   sp->rname, sp->rread - (sp->last - sp->pos), sp->fed);
}


/*
 * The next line of the replayed file.  NGX_DONE: the end of the file;
 * NGX_AGAIN: a read failed (logged), tried again later.
 */

static ngx_int_t
ngx_http_clicktrack_spool_next(ngx_http_clicktrack_spool_t *sp,
    ngx_http_clicktrack_spool_event_t *ln)
{
    u_char     *end, *nl, *p;
    size_t      size;
    ssize_t     n;
    ngx_int_t   rc;

    for ( ;; ) {

        rc = ngx_http_clicktrack_spool_parse(sp->pos, sp->last, ln, &end);

        if (rc == NGX_OK) {
            ln->start = sp->pos;
            sp->pos = end;
            return NGX_OK;
        }

        if (rc == NGX_ERROR) {
            nl = ngx_strlchr(sp->pos, sp->last, LF);

            if (nl != NULL) {
                ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                              "clicktrack: a malformed line in \"%s\" "
                              "skipped: \"%*s\"", sp->rname,
                              ngx_min((size_t) (nl - sp->pos), 64),
                              sp->pos);
                sp->pos = nl + 1;
                continue;
            }
        }

        /* more is needed */

        if (sp->eof) {
            if (sp->pos != sp->last) {
                ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                              "clicktrack: \"%s\" ends in a torn line of "
                              "%uz bytes, skipped", sp->rname,
                              (size_t) (sp->last - sp->pos));
                sp->pos = sp->last;
            }

            return NGX_DONE;
        }

        if (sp->pos != sp->buf) {
            size = sp->last - sp->pos;
            ngx_memmove(sp->buf, sp->pos, size);
            sp->pos = sp->buf;
            sp->last = sp->buf + size;
        }

        if (sp->last == sp->buf + sp->buf_size) {

            /* a line longer than the buffer */

            p = ngx_palloc(sp->pool, sp->buf_size * 2);
            if (p == NULL) {
                return NGX_AGAIN;
            }

            /* sp->buf is allocated with the spool, never NULL */
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
            ngx_memcpy(p, sp->buf, sp->buf_size);
            sp->pos = p;
            sp->last = p + sp->buf_size;
            sp->buf = p;
            sp->buf_size *= 2;
        }

        n = pread(sp->rfd, sp->last, sp->buf + sp->buf_size - sp->last,
                  sp->rread);

        if (n == -1) {
            ngx_http_clicktrack_spool_error(sp, ngx_errno, "read", sp->rname);
            return NGX_AGAIN;
        }

        if (n == 0) {
            sp->eof = 1;
            continue;
        }

        sp->last += n;
        sp->rread += n;
    }
}


/* NGX_OK, NGX_AGAIN (incomplete), NGX_ERROR (malformed) */

static ngx_int_t
ngx_http_clicktrack_spool_parse(u_char *p, u_char *last,
    ngx_http_clicktrack_spool_event_t *ln, u_char **end)
{
    u_char  *nl;

    p = ngx_http_clicktrack_spool_field(p, last, &ln->list);
    if (p == NULL || p == last) {
        return p ? NGX_AGAIN : NGX_ERROR;
    }

    p = ngx_http_clicktrack_spool_field(p, last, &ln->recent);
    if (p == NULL || p == last) {
        return p ? NGX_AGAIN : NGX_ERROR;
    }

    nl = ngx_strlchr(p, last, LF);
    if (nl == NULL) {
        return (last - p > 24 && ngx_strlchr(p, p + 24, ' ') == NULL)
               ? NGX_ERROR : NGX_AGAIN;
    }

    ln->max.data = p;

    while (p < nl && *p >= '0' && *p <= '9') {
        p++;
    }

    ln->max.len = p - ln->max.data;

    if (ln->max.len == 0 || p == nl || *p != ' ' || ln->list.len == 0
        || p + 1 == nl || p[1] != '{')
    {
        return NGX_ERROR;
    }

    ln->json.data = p + 1;
    ln->json.len = nl - (p + 1);

    *end = nl + 1;

    return NGX_OK;
}


/* "LEN:BYTES " */

static u_char *
ngx_http_clicktrack_spool_field(u_char *p, u_char *last, ngx_str_t *s)
{
    size_t  len;

    len = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        len = len * 10 + (*p++ - '0');

        if (len > 1024 * 1024) {
            return NULL;
        }
    }

    if (p == last) {
        return last;
    }

    if (*p != ':') {
        return NULL;
    }

    p++;

    if ((size_t) (last - p) <= len) {

        /*
         * Not all here yet; but a key never holds a newline, so one in
         * what is here means a wrong length: no later line is swallowed.
         */

        return ngx_strlchr(p, last, LF) ? NULL : last;
    }

    if (p[len] != ' ') {
        return NULL;
    }

    s->data = p;
    s->len = len;

    return p + len + 1;
}


void
ngx_http_clicktrack_spool_confirmed(ngx_http_clicktrack_spool_t *sp,
    ngx_uint_t n)
{
    if (n == 0 || sp->fed < n) {
        return;
    }

    sp->first = (sp->first + n - 1) % sp->noffsets;
    sp->confirmed = sp->offsets[sp->first];
    sp->first = (sp->first + 1) % sp->noffsets;
    sp->fed -= n;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, sp->log, 0,
                   "clicktrack: %ui line(s) of \"%s\" confirmed, up to %O, "
                   "%ui unconfirmed", n, sp->rname, sp->confirmed, sp->fed);

    if (sp->fed == 0 && sp->eof && sp->pos == sp->last) {
        ngx_http_clicktrack_spool_done(sp);
    }
}


/* every line of the file is in Redis */

static void
ngx_http_clicktrack_spool_done(ngx_http_clicktrack_spool_t *sp)
{
    if (ngx_delete_file(sp->rname) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "clicktrack: unlink(\"%s\") failed", sp->rname);
    }

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "clicktrack: \"%s\" replayed and removed", sp->rname);

    (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes,
                                -(ngx_atomic_int_t) sp->rsize);

    ngx_http_clicktrack_spool_close_read(sp);
}


static void
ngx_http_clicktrack_spool_close_read(ngx_http_clicktrack_spool_t *sp)
{
    if (sp->rfd != NGX_INVALID_FILE) {
        (void) ngx_close_file(sp->rfd);
        sp->rfd = NGX_INVALID_FILE;
    }

    sp->pos = sp->buf;
    sp->last = sp->buf;
    sp->fed = 0;
}


ngx_int_t
ngx_http_clicktrack_spool_keep(ngx_http_clicktrack_spool_t *sp,
    ngx_uint_t from, ngx_str_t *list, ngx_http_clicktrack_recent_t *recent,
    u_char *json, size_t len)
{
    if (from == 0) {
        return ngx_http_clicktrack_spool_append(sp, list, recent, json, len,
                                                1);
    }

    /* still in the replayed file, which save_rest keeps past "confirmed" */

    if (from & NGX_HTTP_CLICKTRACK_FROM_EARLIER) {
        (void) ngx_atomic_fetch_add(&sp->counters->accepted, -1);

    } else {
        (void) ngx_atomic_fetch_add(&sp->counters->spooled, 1);
    }

    return NGX_OK;
}


void
ngx_http_clicktrack_spool_exit(ngx_http_clicktrack_spool_t *sp)
{
    ngx_http_clicktrack_spool_close_write(sp, 1);

    if (sp->rfd != NGX_INVALID_FILE) {
        ngx_http_clicktrack_spool_save_rest(sp);
        ngx_http_clicktrack_spool_close_read(sp);
    }

    if (sp->line) {
        ngx_free(sp->line);
        sp->line = NULL;
        sp->line_size = 0;
    }
}


/*
 * A partly replayed file: what Redis has not confirmed is copied to a new
 * file of the same run, and the file goes.  If the copy fails, the file
 * stays whole: its confirmed lines will come again (at least once).
 */

static void
ngx_http_clicktrack_spool_save_rest(ngx_http_clicktrack_spool_t *sp)
{
    off_t     off;
    size_t    total;
    ssize_t   n;

    if (sp->confirmed == 0) {
        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "clicktrack: \"%s\" left for the next worker",
                      sp->rname);
        return;
    }

    if (ngx_http_clicktrack_spool_open(sp, sp->rrun) != NGX_OK) {
        return;
    }

    off = sp->confirmed;
    total = 0;

    for ( ;; ) {
        n = pread(sp->rfd, sp->buf, sp->buf_size, off);

        if (n == -1) {
            ngx_http_clicktrack_spool_error(sp, ngx_errno, "read", sp->rname);
            goto failed;
        }

        if (n == 0) {
            break;
        }

        if (write(sp->wfd, sp->buf, n) != n) {
            ngx_http_clicktrack_spool_error(sp, ngx_errno, "write",
                                            sp->wname);
            goto failed;
        }

        off += n;
        total += n;
    }

    sp->wsize = total;

    (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes, total);

    ngx_http_clicktrack_spool_close_write(sp, 1);

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "clicktrack: the %uz bytes of \"%s\" not confirmed are "
                  "left in \"%s\"", total, sp->rname, sp->wname);

    (void) ngx_delete_file(sp->rname);

    (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes,
                                -(ngx_atomic_int_t) sp->rsize);
    return;

failed:

    sp->wsize = 0;
    ngx_http_clicktrack_spool_close_write(sp, 0);
}


/* errors of the spool directory: counted, logged at most once a second */

static void
ngx_http_clicktrack_spool_error(ngx_http_clicktrack_spool_t *sp,
    ngx_err_t err, const char *what, u_char *name)
{
    sp->lost++;

    if (ngx_time() == sp->logged) {
        return;
    }

    if (what == NULL) {
        ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                      "clicktrack: spool \"%V\" not writable, "
                      "%ui failure(s)", &sp->conf->path, sp->lost);
    } else {
        ngx_log_error(NGX_LOG_ERR, sp->log, err,
                      "clicktrack: spool %s(\"%s\") failed, %ui failure(s)",
                      what, name, sp->lost);
    }

    sp->lost = 0;
    sp->logged = ngx_time();
}


static int ngx_libc_cdecl
ngx_http_clicktrack_spool_older(const void *one, const void *two)
{
    const ngx_http_clicktrack_spool_file_t  *a = one, *b = two;

    if (a->mtime != b->mtime) {
        return a->mtime < b->mtime ? -1 : 1;
    }

    return ngx_strcmp(a->name, b->name);
}
