/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Versions, status strings, NULL arguments, flags, Linux adapter errors. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vi2c_ctest.h"

int vi2c_ctest_version(void)
{
    char err[128] = "";

    CHECK_EQ(vi2c_abi_version(), VI2C_ABI_VERSION);
    CHECK_EQ(vi2c_abi_version() >> 16, VI2C_ABI_VERSION_MAJOR);
    CHECK_EQ((vi2c_abi_version() >> 8) & 0xff, VI2C_ABI_VERSION_MINOR);
    CHECK_EQ(vi2c_abi_version() & 0xff, VI2C_ABI_VERSION_PATCH);
    CHECK_EQ(vi2c_abi_check(VI2C_ABI_VERSION, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_abi_check(VI2C_ABI_VERSION + (1 << 8), err, sizeof(err)),
             VI2C_STATUS_ABI_MISMATCH);
    CHECK(strstr(err, "but the caller was built for") != NULL);
    CHECK(strcmp(vi2c_status_str(VI2C_STATUS_OK), "success") == 0);
    CHECK(strcmp(vi2c_status_str(VI2C_STATUS_NACK), "no acknowledge") == 0);
    CHECK(strcmp(vi2c_status_str(12345), "unknown status") == 0);
    /* Fixed values. */
    CHECK_EQ(VI2C_STATUS_OK, 0);
    CHECK_EQ(VI2C_STATUS_PANIC, 3);
    CHECK_EQ(VI2C_STATUS_THREAD, 11);
    CHECK_EQ(VI2C_STATUS_ABI_MISMATCH, 12);
    CHECK_EQ(VI2C_EVENT_NACK, 3);
    /* Address policies are checked without an adapter. */
    CHECK_EQ(vi2c_policy_check("0x50,0x52-0x53,0x60=0x61", err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_policy_check("0x50,0x80", err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "'0x80': 0x80 is not a 7-bit address") == 0);
    return 0;
}

/* A failing call must say why: a status other than OK and a message. */
#define CHECK_FAILS(call, status)                                           \
    do {                                                                    \
        err[0] = 0;                                                         \
        CHECK_EQ((call), (status));                                         \
        CHECK(err[0] != 0);                                                 \
    } while (0)

int vi2c_ctest_null_arguments(void)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_host_i2cdev *t = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    vi2c_host_i2cdev_config tcfg = { .host_address = 0x50, .prefetch = 1 };
    vi2c_bus_ops ops = { 0 };
    vi2c_completion c[2];
    char err[64];
    struct iovec iov = { NULL, 4 };

    CHECK_FAILS(vi2c_adapter_open_linux(NULL, NULL, &a, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK(strcmp(err, "argument 'host' is NULL") == 0);
    CHECK_FAILS(vi2c_adapter_open_linux("0", NULL, NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_adapter_new_sim(NULL, &a, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_adapter_new_bus(NULL, NULL, NULL, &a, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_adapter_new_bus(&ops, NULL, NULL, &a, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_funcs(NULL), 0);
    vi2c_adapter_free(NULL);
    CHECK_FAILS(vi2c_device_new(&cfg, NULL, &d, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_FAILS(vi2c_device_new(NULL, a, &d, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_FAILS(vi2c_device_new(&cfg, a, NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_device_set_features(NULL, 1, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_device_push(NULL, 1, NULL, 0, NULL, 0, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    vi2c_device_flush(NULL);
    CHECK_EQ(vi2c_device_complete(NULL, c, 2), 0);
    CHECK_EQ(vi2c_device_reset(NULL, NULL, NULL), 0);
    vi2c_device_free(NULL);
    CHECK_FAILS(vi2c_policy_check(NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);

    /* A device, then bad iovec arrays: refused, not queued. */
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_FAILS(vi2c_device_push(d, 1, NULL, 2, NULL, 0, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK_FAILS(vi2c_device_push(d, 1, &iov, 1, NULL, 0, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK_EQ(vi2c_device_complete(d, NULL, 2), 0);
    CHECK_EQ(vi2c_device_complete(d, c, 2), 0);
    CHECK_EQ(vi2c_device_reset(d, NULL, NULL), 0);
    vi2c_device_free(d);

    CHECK_FAILS(vi2c_host_i2cdev_new(&tcfg, NULL, &t, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_FAILS(vi2c_host_i2cdev_new(NULL, a, &t, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK(vi2c_host_i2cdev_event(NULL, VI2C_EVENT_START_SEND) != 0);
    CHECK(vi2c_host_i2cdev_send(NULL, 0) != 0);
    CHECK_EQ(vi2c_host_i2cdev_recv(NULL), 0xff);
    vi2c_host_i2cdev_reset(NULL);
    vi2c_host_i2cdev_free(NULL);
    return 0;
}

int vi2c_ctest_flags(void)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_host_i2cdev *t = NULL;
    vi2c_device_config cfg = { .queue_size = 1024 };
    vi2c_host_i2cdev_config tcfg = { .host_address = 0x50, .prefetch = 1 };
    char err[128];

    /* A flag is 0 or 1; anything else is refused, naming the field. */
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    cfg.force = 2;
    CHECK_FAILS(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "force=2 must be 0 or 1") == 0);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    cfg.force = 0;
    cfg.require_zero_length = 0xff;
    CHECK_FAILS(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "require_zero_length=255 must be 0 or 1") == 0);
    CHECK(d == NULL);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    cfg.require_zero_length = 0;
    cfg.queue_size = 0;
    CHECK_FAILS(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "queue_size=0 must be 1-1024") == 0);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    tcfg.ten_bit = 3;
    CHECK_FAILS(vi2c_host_i2cdev_new(&tcfg, a, &t, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "ten_bit=3 must be 0 or 1") == 0);
    CHECK(t == NULL);
    return 0;
}

int vi2c_ctest_linux_errors(void)
{
    vi2c_adapter *a = NULL;
    vi2c_linux_options opts = { .timeout_ms = -1, .retries = -1 };
    char err[512];

    CHECK_EQ(vi2c_adapter_open_linux("/dev/i2c-99", &opts, &a, err, sizeof(err)), VI2C_STATUS_NOT_FOUND);
    CHECK(strstr(err, "/dev/i2c-99") != NULL);
    CHECK(a == NULL);
    /* A file that is not an i2c-dev adapter. */
    CHECK(vi2c_adapter_open_linux("/dev/null", &opts, &a, err, sizeof(err)) != VI2C_STATUS_OK);
    CHECK(strstr(err, "/dev/null") != NULL);
    CHECK(a == NULL);
    /* A truncated message is still NUL-terminated. */
    CHECK(vi2c_adapter_open_linux("/dev/i2c-99", NULL, &a, err, 8) != VI2C_STATUS_OK);
    CHECK_EQ(strlen(err), 7);
    return 0;
}

/*
 * A capture wired as QEMU's glue would from a `capture=<path>` property:
 * open, put into the config, create the device, free the handle. The file
 * holds the header at once and grows by every group.
 */
int vi2c_ctest_capture(void)
{
    char path[] = "/tmp/vi2c-ctest-capture-XXXXXX";
    int fd = mkstemp(path);
    vi2c_capture *cap = NULL, *again = NULL;
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_device_config cfg = { .queue_size = 8, .capture_bus = 3 };
    ctest_req r;
    char err[256];
    struct stat st0, st1;

    CHECK(fd >= 0);
    close(fd);
    CHECK_FAILS(vi2c_capture_open(NULL, 0, &cap, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_FAILS(vi2c_capture_open(path, 1, &cap, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK_FAILS(vi2c_capture_open("/nonexistent/x", 0, &cap, err, sizeof(err)), VI2C_STATUS_OS_ERROR);
    CHECK(strstr(err, "/nonexistent/x") != NULL);
    CHECK(cap == NULL);
    CHECK_EQ(vi2c_capture_open(path, 1 << 20, &cap, err, sizeof(err)), VI2C_STATUS_OK);
    /* The same path again: the same capture, shared. */
    CHECK_EQ(vi2c_capture_open(path, 1 << 20, &again, err, sizeof(err)), VI2C_STATUS_OK);
    vi2c_capture_free(again);
    CHECK_EQ(stat(path, &st0), 0);
    CHECK(st0.st_size > 0);
    CHECK_EQ(vi2c_adapter_new_sim("eeprom@0x50", &a, err, sizeof(err)), VI2C_STATUS_OK);
    cfg.capture = cap;
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);
    vi2c_capture_free(cap);
    vi2c_capture_free(NULL);
    ctest_req_read(&r, 0x50, 0, 4);
    CHECK_EQ(ctest_push(d, &r), VI2C_STATUS_OK);
    CHECK_EQ(ctest_complete(d), 1);
    CHECK_EQ(ctest_status(&r), MSG_OK);
    CHECK_EQ(stat(path, &st1), 0);
    CHECK(st1.st_size > st0.st_size);
    vi2c_device_free(d);
    unlink(path);
    return 0;
}
