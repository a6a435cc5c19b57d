/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the C tests of the virtio-i2c-rust C API. */
#ifndef VI2C_CTEST_H
#define VI2C_CTEST_H

#include <stdio.h>
#include <string.h>
#include "virtio_i2c_rust.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                 \
            return 1;                                                       \
        }                                                                   \
    } while (0)

#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        long long _a = (long long)(a), _b = (long long)(b);                 \
        if (_a != _b) {                                                     \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",     \
                    __FILE__, __LINE__, #a, _a, #b, _b);                    \
            return 1;                                                       \
        }                                                                   \
    } while (0)

/*
 * The simulation adapter: exported by test builds of the library only
 * (feature test-utils), so the shipped header does not declare it.
 */
vi2c_status vi2c_adapter_new_sim(const char *spec, vi2c_adapter **out,
                                 char *err, size_t err_len);

#define FLAG_FAIL_NEXT 1u
#define FLAG_M_RD 2u
#define MSG_OK 0
#define MSG_ERR 1

/*
 * One virtio-i2c request laid out as a driver would: the out header and
 * the write data (device-readable), the read buffer and the status byte
 * (device-writable). Completion results land in `used`/`done`.
 */
typedef struct {
    unsigned char out[8 + 8200];
    size_t out_len;
    unsigned char in[8200 + 1];
    size_t in_len;
    struct iovec out_iov[2];
    struct iovec in_iov[2];
    size_t out_num, in_num;
    int done;
    uint32_t used;
} ctest_req;

/* addr is the 7-bit address; data/len: write data, or len bytes to read */
void ctest_req_write(ctest_req *r, uint8_t addr, uint32_t flags,
                     const unsigned char *data, size_t len);
void ctest_req_read(ctest_req *r, uint8_t addr, uint32_t flags, size_t len);
/* the raw form: any header, any split */
void ctest_req_raw(ctest_req *r, uint16_t raw_addr, uint32_t flags,
                   size_t out_data, size_t in_len);
unsigned char ctest_status(const ctest_req *r);
vi2c_status ctest_push(vi2c_device *dev, ctest_req *r);
/* records a completion: the token is the ctest_req pointer */
void ctest_completed(uint64_t token, uint32_t used_len);
/* completes everything ready (in batches of a few), returns how many */
size_t ctest_complete(vi2c_device *dev);
/* a device on the simulation; "blocking" in spec runs it on a worker */
vi2c_device *ctest_sim_device(const char *spec, const char *address);

int vi2c_ctest_version(void);
int vi2c_ctest_null_arguments(void);
int vi2c_ctest_flags(void);
int vi2c_ctest_linux_errors(void);
int vi2c_ctest_bus_callbacks(void);
int vi2c_ctest_malformed(void);
int vi2c_ctest_policy_errors(void);
int vi2c_ctest_read_only(void);
int vi2c_ctest_features(void);
int vi2c_ctest_threaded_concurrent(void);
int vi2c_ctest_reset(void);
int vi2c_ctest_host_i2cdev(void);
int vi2c_ctest_capture(void);

#endif
