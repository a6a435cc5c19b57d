/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include "vi2c_ctest.h"

static void put_hdr(ctest_req *r, uint16_t raw, uint32_t flags)
{
    r->out[0] = raw & 0xff;
    r->out[1] = raw >> 8;
    r->out[2] = r->out[3] = 0;
    r->out[4] = flags & 0xff;
    r->out[5] = (flags >> 8) & 0xff;
    r->out[6] = (flags >> 16) & 0xff;
    r->out[7] = flags >> 24;
}

static void layout(ctest_req *r)
{
    /* Split the header over two buffers, as a driver may. */
    r->out_iov[0].iov_base = r->out;
    r->out_iov[0].iov_len = 3;
    r->out_iov[1].iov_base = r->out + 3;
    r->out_iov[1].iov_len = r->out_len - 3;
    r->out_num = 2;
    r->in_iov[0].iov_base = r->in;
    r->in_iov[0].iov_len = r->in_len;
    r->in_num = r->in_len ? 1 : 0;
    r->done = 0;
    r->used = 0xdeadbeef;
}

void ctest_req_raw(ctest_req *r, uint16_t raw_addr, uint32_t flags,
                   size_t out_data, size_t in_len)
{
    memset(r->out, 0, sizeof(r->out));
    memset(r->in, 0xaa, sizeof(r->in));
    put_hdr(r, raw_addr, flags);
    r->out_len = 8 + out_data;
    r->in_len = in_len;
    layout(r);
}

void ctest_req_write(ctest_req *r, uint8_t addr, uint32_t flags,
                     const unsigned char *data, size_t len)
{
    ctest_req_raw(r, (uint16_t)(addr << 1), flags, len, 1);
    if (len) {
        memcpy(r->out + 8, data, len);
    }
}

void ctest_req_read(ctest_req *r, uint8_t addr, uint32_t flags, size_t len)
{
    ctest_req_raw(r, (uint16_t)(addr << 1), flags | FLAG_M_RD, 0, len + 1);
}

unsigned char ctest_status(const ctest_req *r)
{
    return r->in_len ? r->in[r->in_len - 1] : 0xff;
}

vi2c_status ctest_push(vi2c_device *dev, ctest_req *r)
{
    char err[256] = "";
    vi2c_status st = vi2c_device_push(dev, (uint64_t)(uintptr_t)r, r->out_iov,
                                      r->out_num, r->in_num ? r->in_iov : NULL,
                                      r->in_num, err, sizeof(err));

    /* Every failure comes with a message. */
    if (st != VI2C_STATUS_OK && err[0] == 0) {
        fprintf(stderr, "vi2c_device_push failed (%u) without a message\n", st);
        return VI2C_STATUS_PANIC;
    }
    return st;
}

void ctest_completed(uint64_t token, uint32_t used_len)
{
    ctest_req *r = (ctest_req *)(uintptr_t)token;
    r->done++;
    r->used = used_len;
}

size_t ctest_complete(vi2c_device *dev)
{
    /* A small array, so that completions spanning calls are exercised. */
    vi2c_completion c[3];
    size_t n, total = 0;

    do {
        n = vi2c_device_complete(dev, c, 3);
        for (size_t i = 0; i < n; i++) {
            ctest_completed(c[i].token, c[i].used_len);
        }
        total += n;
    } while (n == 3);
    return total;
}

vi2c_device *ctest_sim_device(const char *spec, const char *address)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    char err[256];
    vi2c_device_config cfg = { .queue_size = 1024 };

    if (vi2c_adapter_new_sim(spec, &a, err, sizeof(err)) != VI2C_STATUS_OK) {
        fprintf(stderr, "sim: %s\n", err);
        return NULL;
    }
    cfg.address = address;
    if (vi2c_device_new(&cfg, a, &d, err, sizeof(err)) != VI2C_STATUS_OK) {
        fprintf(stderr, "device: %s\n", err);
        return NULL;
    }
    return d;
}
