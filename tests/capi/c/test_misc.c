/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Versions, status strings, NULL arguments, Linux adapter errors. */
#include <errno.h>
#include <stdlib.h>
#include "vi2c_ctest.h"

int vi2c_ctest_version(void)
{
    CHECK_EQ(vi2c_abi_version(), VI2C_ABI_VERSION);
    CHECK_EQ(vi2c_abi_version() >> 16, VI2C_ABI_VERSION_MAJOR);
    CHECK_EQ((vi2c_abi_version() >> 8) & 0xff, VI2C_ABI_VERSION_MINOR);
    CHECK_EQ(vi2c_abi_version() & 0xff, VI2C_ABI_VERSION_PATCH);
    CHECK(strcmp(vi2c_status_str(VI2C_STATUS_OK), "success") == 0);
    CHECK(strcmp(vi2c_status_str(VI2C_STATUS_NACK), "no acknowledge") == 0);
    CHECK(strcmp(vi2c_status_str(12345), "unknown status") == 0);
    /* Fixed values. */
    CHECK_EQ(VI2C_STATUS_OK, 0);
    CHECK_EQ(VI2C_STATUS_PANIC, 3);
    CHECK_EQ(VI2C_STATUS_THREAD, 11);
    CHECK_EQ(VI2C_EVENT_NACK, 3);
    return 0;
}

int vi2c_ctest_null_arguments(void)
{
    vi2c_adapter *a = NULL;
    vi2c_device *d = NULL;
    vi2c_passthrough *p = NULL;
    vi2c_device_config cfg = { 0 };
    vi2c_passthrough_config pcfg = { .host_address = 0x50, .prefetch = 1 };
    vi2c_bus_ops ops = { 0 };
    char err[64];
    struct iovec iov = { NULL, 4 };

    CHECK_EQ(vi2c_adapter_open_linux(NULL, NULL, &a, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_open_linux("0", NULL, NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim(NULL, &a, NULL, 0), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_bus(NULL, NULL, NULL, &a), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_bus(&ops, NULL, NULL, &a), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_funcs(NULL), 0);
    vi2c_adapter_free(NULL);
    CHECK_EQ(vi2c_device_new(&cfg, NULL, &d, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_new(NULL, a, &d, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_new(&cfg, a, NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_device_set_features(NULL, 1, NULL, 0), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_device_push(NULL, 1, NULL, 0, NULL, 0), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_device_flush(NULL), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_device_complete(NULL, ctest_complete_cb, NULL), 0);
    CHECK_EQ(vi2c_device_reset(NULL, NULL, NULL), 0);
    vi2c_device_free(NULL);

    /* A device, then bad iovec arrays: refused, not queued. */
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_new(&cfg, a, &d, err, sizeof(err)), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_device_push(d, 1, NULL, 2, NULL, 0), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK_EQ(vi2c_device_push(d, 1, &iov, 1, NULL, 0), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK_EQ(vi2c_device_complete(d, NULL, NULL), 0);
    CHECK_EQ(vi2c_device_reset(d, NULL, NULL), 0);
    vi2c_device_free(d);

    CHECK_EQ(vi2c_passthrough_new(&pcfg, NULL, &p, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, NULL, 0), VI2C_STATUS_OK);
    CHECK_EQ(vi2c_passthrough_new(NULL, a, &p, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    CHECK(vi2c_passthrough_event(NULL, VI2C_EVENT_START_SEND) != 0);
    CHECK(vi2c_passthrough_send(NULL, 0) != 0);
    CHECK_EQ(vi2c_passthrough_recv(NULL), 0xff);
    CHECK_EQ(vi2c_passthrough_take_error(NULL, err, sizeof(err)), VI2C_STATUS_NULL_ARGUMENT);
    vi2c_passthrough_free(NULL);
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
