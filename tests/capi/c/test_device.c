/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vi2c_device through the C API: exact status bytes and used lengths. */
#include <pthread.h>
#include <stdlib.h>
#include "vi2c_ctest.h"

/* ---- an emulated bus in C: one register device at 0x50, a trace ---- */

typedef struct {
    char trace[512];
    uint8_t regs[256];
    uint8_t ptr;
    int selected;   /* address currently selected, -1 when none */
    int want_ptr;
} cbus;

static void tr(cbus *b, const char *s)
{
    strncat(b->trace, s, sizeof(b->trace) - strlen(b->trace) - 1);
}

static int bus_start(void *opaque, uint8_t addr, bool is_recv)
{
    cbus *b = opaque;
    char s[32];
    snprintf(s, sizeof(s), "S%02x%c ", addr, is_recv ? 'r' : 'w');
    tr(b, s);
    if (addr != 0x50) {
        b->selected = -1;
        return 1;
    }
    b->selected = addr;
    b->want_ptr = !is_recv;
    return 0;
}

static int bus_send(void *opaque, uint8_t byte)
{
    cbus *b = opaque;
    char s[16];
    snprintf(s, sizeof(s), "w%02x ", byte);
    tr(b, s);
    if (b->want_ptr) {
        b->ptr = byte;
        b->want_ptr = 0;
    } else {
        b->regs[b->ptr++] = byte;
    }
    return 0;
}

static uint8_t bus_recv(void *opaque)
{
    cbus *b = opaque;
    uint8_t v = b->regs[b->ptr++];
    char s[16];
    snprintf(s, sizeof(s), "r%02x ", v);
    tr(b, s);
    return v;
}

static void bus_nack(void *opaque)
{
    tr(opaque, "N ");
}

static void bus_end(void *opaque)
{
    tr(opaque, "P ");
}

int vi2c_ctest_bus_callbacks(void)
{
    static cbus b;
    vi2c_bus_ops ops = { bus_start, bus_send, bus_recv, bus_nack, bus_end };
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    char err[256];
    static ctest_req w, r0, r1, bad;
    const unsigned char data[] = { 0x10, 0xca, 0xfe };
    const unsigned char ptr[] = { 0x10 };

    memset(&b, 0, sizeof(b));
    CHECK_EQ(vi2c_adapter_new_bus(&ops, &b, "test bus", &a, err, sizeof(err)),
             VI2C_STATUS_OK);
    CHECK_EQ(vi2c_adapter_funcs(a) & 1, 1); /* I2C_FUNC_I2C */
    /* An emulated bus runs inline: no notify needed, none called. */
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);

    /* One write, then a write + repeated START read group. */
    ctest_req_write(&w, 0x50, 0, data, sizeof(data));
    CHECK_EQ(ctest_push(d, &w), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(w.used, 1);
    CHECK_EQ(ctest_status(&w), MSG_OK);

    ctest_req_write(&r0, 0x50, FLAG_FAIL_NEXT, ptr, 1);
    ctest_req_read(&r1, 0x50, 0, 2);
    CHECK_EQ(ctest_push(d, &r0), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 0); /* the group is still open */
    CHECK_EQ(ctest_push(d, &r1), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(ctest_status(&r0), MSG_OK);
    CHECK_EQ(r1.used, 3);
    CHECK_EQ(r1.in[0], 0xca);
    CHECK_EQ(r1.in[1], 0xfe);
    CHECK_EQ(ctest_status(&r1), MSG_OK);
    CHECK(strcmp(b.trace, "S50w w10 wca wfe P S50w w10 S50r rca rfe N P ") == 0);

    /* A NACK at another address: ERR, and the device keeps working. */
    b.trace[0] = 0;
    ctest_req_read(&bad, 0x33, 0, 1);
    CHECK_EQ(ctest_push(d, &bad), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&bad), MSG_ERR);
    CHECK_EQ(bad.in[0], 0);
    CHECK_EQ(bad.used, 2);
    CHECK(strcmp(b.trace, "S33r P ") == 0);
    CHECK_EQ(ctest_push(d, &r0), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &r1), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(ctest_status(&r1), MSG_OK);

    vi2c_device_free(d);
    return 0;
}

/* ---- malformed requests, on the simulation ---- */

static int push_one(vi2c_device *d, ctest_req *r)
{
    CHECK_EQ(ctest_push(d, r), VI2C_STATUS_OK);
    vi2c_device_flush(d);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(r->done, 1);
    return 0;
}

int vi2c_ctest_malformed(void)
{
    vi2c_device *d = ctest_sim_device("eeprom@0x50,regs@0x48", "0x50");
    static ctest_req r, g[43], probe, probe2;
    const unsigned char wr[] = { 0x20, 0x5a };
    size_t i;

    CHECK(d != NULL);

    /* No device-writable byte: nothing to write, used length 0. */
    ctest_req_write(&r, 0x50, 0, wr, 2);
    r.in_len = 0;
    r.in_num = 0;
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(r.used, 0);

    /* A read that carries device-readable data (wrong direction). */
    ctest_req_raw(&r, 0x50 << 1, FLAG_M_RD, 2, 3);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(r.used, 3);
    CHECK_EQ(r.in[0], 0);
    CHECK_EQ(r.in[1], 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);

    /* A write with a device-writable buffer (wrong direction). */
    ctest_req_raw(&r, 0x50 << 1, 0, 1, 5);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(r.used, 5);
    CHECK_EQ(ctest_status(&r), MSG_ERR);

    /* Oversized read and write. */
    ctest_req_read(&r, 0x50, 0, 8193);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);
    ctest_req_raw(&r, 0x50 << 1, 0, 8193, 1);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);
    CHECK_EQ(r.used, 1);

    /* Reserved flag bits. */
    ctest_req_raw(&r, 0x50 << 1, 0x4, 0, 1);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);

    /* Header shorter than 8 bytes. */
    ctest_req_raw(&r, 0x50 << 1, 0, 0, 1);
    r.out_iov[1].iov_len = 1;
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);

    /* Odd address field (neither encoding). */
    ctest_req_raw(&r, 0xa1, 0, 0, 1);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);

    /* A 43-message group: every request gets ERR, nothing on the bus. */
    for (i = 0; i < 43; i++) {
        ctest_req_read(&g[i], 0x50, i < 42 ? FLAG_FAIL_NEXT : 0, 1);
        CHECK_EQ(ctest_push(d, &g[i]), VI2C_STATUS_OK);
    }
    CHECK_EQ(ctest_complete(d), 43);
    for (i = 0; i < 43; i++) {
        CHECK_EQ(g[i].done, 1);
        CHECK_EQ(ctest_status(&g[i]), MSG_ERR);
    }
    /* 42 is fine. */
    for (i = 0; i < 42; i++) {
        ctest_req_read(&g[i], 0x50, i < 41 ? FLAG_FAIL_NEXT : 0, 1);
        CHECK_EQ(ctest_push(d, &g[i]), VI2C_STATUS_OK);
    }
    CHECK_EQ(ctest_complete(d), 42);
    CHECK_EQ(ctest_status(&g[41]), MSG_OK);

    /*
     * A group whose second message targets an address that is not allowed:
     * both ERR, and the first (a write to the EEPROM) never happened.
     */
    ctest_req_write(&g[0], 0x50, FLAG_FAIL_NEXT, wr, 2);
    ctest_req_read(&g[1], 0x48, 0, 1);
    CHECK_EQ(ctest_push(d, &g[0]), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &g[1]), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(ctest_status(&g[0]), MSG_ERR);
    CHECK_EQ(ctest_status(&g[1]), MSG_ERR);
    ctest_req_write(&probe, 0x50, FLAG_FAIL_NEXT, wr, 1);
    ctest_req_read(&probe2, 0x50, 0, 1);
    CHECK_EQ(ctest_push(d, &probe), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &probe2), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(ctest_status(&probe2), MSG_OK);
    CHECK_EQ(probe2.in[0], 0xff); /* erased EEPROM: the write never ran */

    /* The device still works: write, then read back. */
    ctest_req_write(&r, 0x50, 0, wr, 2);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    CHECK_EQ(ctest_push(d, &probe), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &probe2), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(probe2.in[0], 0x5a);

    /* Zero-length write (SMBus quick) to a present and an absent address. */
    ctest_req_write(&r, 0x50, 0, NULL, 0);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    CHECK_EQ(r.used, 1);

    vi2c_device_free(d);

    /* Absent but allowed address: NACK -> ERR. */
    d = ctest_sim_device("eeprom@0x50", "0x50-0x51");
    CHECK(d != NULL);
    ctest_req_write(&r, 0x51, 0, NULL, 0);
    CHECK(push_one(d, &r) == 0);
    CHECK_EQ(ctest_status(&r), MSG_ERR);
    vi2c_device_free(d);
    return 0;
}

int vi2c_ctest_read_only(void)
{
    vi2c_device *d = ctest_sim_device("eeprom@0x50", "0x50:ro");
    static ctest_req w, p, r;
    const unsigned char data[] = { 0x20, 0x5a };
    const unsigned char ptr[] = { 0x20 };

    CHECK(d != NULL);
    /* A write: refused before the bus. */
    ctest_req_write(&w, 0x50, 0, data, sizeof(data));
    CHECK_EQ(ctest_push(d, &w), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&w), MSG_ERR);
    /* The pointer and a read, one group: allowed, and the EEPROM still
     * holds what it held (erased: 0xff). */
    ctest_req_write(&p, 0x50, FLAG_FAIL_NEXT, ptr, sizeof(ptr));
    ctest_req_read(&r, 0x50, 0, 1);
    CHECK_EQ(ctest_push(d, &p), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 2);
    CHECK_EQ(ctest_status(&p), MSG_OK);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    CHECK_EQ(r.in[0], 0xff);
    vi2c_device_free(d);
    return 0;
}

int vi2c_ctest_policy_errors(void)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    char err[256];

    CHECK_EQ(vi2c_adapter_new_sim("eeprom@0x50", &a, err, sizeof(err)), VI2C_STATUS_OK);
    cfg.address = "0x50,0x05";
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "'0x05': 0x05 is reserved (0x00-0x07 and 0x78-0x7f are "
                      "reserved by the I2C specification)") == 0);
    CHECK(d == NULL);

    CHECK_EQ(vi2c_adapter_new_sim("bogus@1", &a, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(err, "'bogus@1'") != NULL);
    return 0;
}

static int log_calls;
static void count_log(void *opaque, uint32_t kind, const char *msg)
{
    (void)opaque;
    (void)kind;
    (void)msg;
    log_calls++;
}

int vi2c_ctest_features(void)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    char err[256];
    const uint64_t zl = 1, v1 = 1ull << 32;
    static ctest_req r;

    CHECK_EQ(vi2c_device_features(), zl | v1);
    /* require_zero_length: a driver without the feature is refused. */
    CHECK_EQ(vi2c_adapter_new_sim("eeprom@0x50", &a, err, sizeof(err)), VI2C_STATUS_OK);
    cfg.log = count_log;
    cfg.require_zero_length = 1;
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_set_features(d, zl | v1, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_set_features(d, v1, err, sizeof(err)), VI2C_STATUS_FEATURES_REFUSED);
    CHECK(strstr(err, "VIRTIO_I2C_F_ZERO_LENGTH_REQUEST") != NULL);
    CHECK(strstr(err, "require-zero-length=on") != NULL);
    CHECK_EQ(vi2c_device_set_features(d, zl | v1 | 8, err, sizeof(err)), VI2C_STATUS_FEATURES_REFUSED);

    /*
     * A refused driver that sends requests anyway (a legacy transport has
     * no FEATURES_OK) gets an error for each, logged once per group.
     */
    log_calls = 0;
    ctest_req_read(&r, 0x50, 0, 1);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_ERR);
    CHECK_EQ(log_calls, 1);
    /* Features accepted again: served. */
    CHECK_EQ(vi2c_device_set_features(d, zl | v1, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_OK);

    /* Each failed group is logged once. */
    log_calls = 0;
    ctest_req_read(&r, 0x33, 0, 1);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(log_calls, 1);
    vi2c_device_free(d);

    /*
     * By default a driver without the feature is accepted and spoken to in
     * the protocol as first merged (Linux 5.15): no M_RD, the direction is
     * the buffer's, and zero-length requests are refused.
     */
    CHECK_EQ(vi2c_adapter_new_sim("eeprom@0x50", &a, err, sizeof(err)), VI2C_STATUS_OK);
    cfg.require_zero_length = 0;
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_set_features(d, v1, err, sizeof(err)), VI2C_STATUS_OK);
    ctest_req_raw(&r, 0x50 << 1, 0, 0, 3); /* a read of 2, without M_RD */
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    CHECK_EQ(r.used, 3);
    ctest_req_write(&r, 0x50, 0, NULL, 0); /* zero-length */
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_ERR);
    /* After a driver that negotiates it, zero-length works again. */
    CHECK_EQ(vi2c_device_set_features(d, zl | v1, err, sizeof(err)), VI2C_STATUS_OK);
    ctest_req_write(&r, 0x50, 0, NULL, 0);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    vi2c_device_free(d);
    return 0;
}

/* ---- threaded device: concurrent submission, ordering, reset ---- */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned notified;
} waiter;

static void notify_cb(void *opaque)
{
    waiter *w = opaque;
    pthread_mutex_lock(&w->lock);
    w->notified++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static vi2c_device *threaded_device(waiter *w)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    char err[256];

    if (vi2c_adapter_new_sim("eeprom@0x50,regs@0x48,blocking", &a, err, sizeof(err))) {
        return NULL;
    }
    cfg.address = "0x48,0x50";
    cfg.opaque = w;
    /* Without notify, a device on an adapter that may block is refused. */
    if (vi2c_device_new(&cfg, a, &d, err, sizeof(err)) != VI2C_STATUS_NULL_ARGUMENT ||
        strstr(err, "notify") == NULL) {
        return NULL;
    }
    if (vi2c_adapter_new_sim("eeprom@0x50,regs@0x48,blocking", &a, err, sizeof(err))) {
        return NULL;
    }
    cfg.notify = notify_cb;
    if (vi2c_device_new(&cfg, a, &d, err, sizeof(err))) {
        return NULL;
    }
    return d;
}

#define PER_THREAD 400
typedef struct {
    vi2c_device *d;
    ctest_req *reqs;
} submitter;

static uint64_t order[2 * PER_THREAD];
static size_t norder;

static size_t complete_in_order(vi2c_device *d)
{
    vi2c_completion c[16];
    size_t n = vi2c_device_complete(d, c, 16);

    for (size_t i = 0; i < n; i++) {
        ctest_completed(c[i].token, c[i].used_len);
        order[norder++] = c[i].token;
    }
    return n;
}

static void *submit_thread(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        if (ctest_push(s->d, &s->reqs[i]) != VI2C_STATUS_OK) {
            return (void *)1;
        }
    }
    return NULL;
}

int vi2c_ctest_threaded_concurrent(void)
{
    static waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    static ctest_req reqs[2][PER_THREAD];
    submitter s[2];
    pthread_t t[2];
    size_t total = 0, n;
    vi2c_device *d = threaded_device(&w);
    void *rv;

    CHECK(d != NULL);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < PER_THREAD; i++) {
            ctest_req_read(&reqs[k][i], k ? 0x48 : 0x50, 0, 1);
        }
        s[k].d = d;
        s[k].reqs = reqs[k];
    }
    norder = 0;
    for (int k = 0; k < 2; k++) {
        CHECK_EQ(pthread_create(&t[k], NULL, submit_thread, &s[k]), 0);
    }
    /* Collect while the submitters run, as a main loop would. */
    while (total < 2 * PER_THREAD) {
        pthread_mutex_lock(&w.lock);
        while (w.notified == 0) {
            pthread_cond_wait(&w.cond, &w.lock);
        }
        w.notified = 0;
        pthread_mutex_unlock(&w.lock);
        while ((n = complete_in_order(d)) > 0) {
            total += n;
        }
    }
    for (int k = 0; k < 2; k++) {
        CHECK_EQ(pthread_join(t[k], &rv), 0);
        CHECK(rv == NULL);
    }
    CHECK_EQ(total, 2 * PER_THREAD);
    CHECK_EQ(norder, 2 * PER_THREAD);
    /* Every request exactly once, OK, with its data; per thread in order. */
    for (int k = 0; k < 2; k++) {
        size_t last = 0;
        int first = 1;
        for (size_t n = 0; n < norder; n++) {
            ctest_req *r = (ctest_req *)(uintptr_t)order[n];
            if (r < reqs[k] || r >= reqs[k] + PER_THREAD) {
                continue;
            }
            size_t idx = (size_t)(r - reqs[k]);
            CHECK(first || idx > last);
            first = 0;
            last = idx;
        }
        for (int i = 0; i < PER_THREAD; i++) {
            CHECK_EQ(reqs[k][i].done, 1);
            CHECK_EQ(ctest_status(&reqs[k][i]), MSG_OK);
            CHECK_EQ(reqs[k][i].used, 2);
        }
    }
    vi2c_device_free(d);
    return 0;
}

static uint64_t dropped[8];
static size_t ndropped;
static void drop_cb(void *opaque, uint64_t token)
{
    (void)opaque;
    dropped[ndropped++] = token;
}

int vi2c_ctest_reset(void)
{
    static waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    static ctest_req a, b, c;
    vi2c_device *d = threaded_device(&w);

    CHECK(d != NULL);
    ctest_req_read(&a, 0x50, 0, 1);
    ctest_req_read(&b, 0x50, FLAG_FAIL_NEXT, 1);
    CHECK_EQ(ctest_push(d, &a), VI2C_STATUS_OK);
    CHECK_EQ(ctest_push(d, &b), VI2C_STATUS_OK); /* open group */
    ndropped = 0;
    CHECK_EQ(vi2c_device_reset(d, drop_cb, NULL), 2);
    CHECK_EQ(ndropped, 2);
    CHECK(dropped[0] == (uint64_t)(uintptr_t)&a);
    CHECK(dropped[1] == (uint64_t)(uintptr_t)&b);
    /* A stale result of `a` is never delivered; new requests are. */
    ctest_req_read(&c, 0x48, 0, 1);
    CHECK_EQ(ctest_push(d, &c), VI2C_STATUS_OK);
    for (;;) {
        pthread_mutex_lock(&w.lock);
        while (w.notified == 0) {
            pthread_cond_wait(&w.cond, &w.lock);
        }
        w.notified = 0;
        pthread_mutex_unlock(&w.lock);
        ctest_complete(d);
        if (c.done) {
            break;
        }
    }
    CHECK_EQ(a.done, 0);
    CHECK_EQ(b.done, 0);
    CHECK_EQ(c.done, 1);
    CHECK_EQ(ctest_status(&c), MSG_OK);
    CHECK_EQ(vi2c_device_reset(d, NULL, NULL), 0);
    vi2c_device_free(d);
    return 0;
}
