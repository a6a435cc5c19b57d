/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vi2c_host_i2cdev through the C API, on the simulation. */
#include "vi2c_ctest.h"

static uint32_t last_kind;
static char last_msg[256];
static int nlogs;

static void record_log(void *opaque, uint32_t kind, const char *msg)
{
    (void)opaque;
    last_kind = kind;
    snprintf(last_msg, sizeof(last_msg), "%s", msg);
    nlogs++;
}

static vi2c_host_i2cdev *make(const char *spec, uint16_t addr, uint32_t prefetch)
{
    vi2c_adapter *a = NULL;
    vi2c_host_i2cdev *t = NULL;
    vi2c_host_i2cdev_config cfg = {
        .host_address = addr, .prefetch = prefetch, .log = record_log,
    };
    char err[256];

    if (vi2c_adapter_new_sim(spec, &a, err, sizeof(err)) != VI2C_STATUS_OK) {
        return NULL;
    }
    if (vi2c_host_i2cdev_new(&cfg, a, &t, err, sizeof(err)) != VI2C_STATUS_OK) {
        fprintf(stderr, "host-i2cdev: %s\n", err);
        return NULL;
    }
    return t;
}

int vi2c_ctest_host_i2cdev(void)
{
    vi2c_host_i2cdev *t = make("regs@0x48", 0x48, 2);
    vi2c_adapter *a = NULL;
    vi2c_host_i2cdev_config bad = { .host_address = 0x48, .prefetch = 0 };
    char err[256];

    CHECK(t != NULL);
    nlogs = 0;
    /* Register read with a repeated START: write pointer, read two. */
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x02), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_RECV), 0);
    CHECK_EQ(vi2c_host_i2cdev_recv(t), 0xfd);
    CHECK_EQ(vi2c_host_i2cdev_recv(t), 0xfc);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_NACK), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(nlogs, 0);
    /* Write, then read it back. */
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x99), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_RECV), 0);
    CHECK_EQ(vi2c_host_i2cdev_recv(t), 0x99);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
    /* Unknown events NACK. */
    CHECK(vi2c_host_i2cdev_event(t, 77) != 0);
    /* A write buffered before a reset never reaches the host. */
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x11), 0);
    vi2c_host_i2cdev_reset(t);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_RECV), 0);
    CHECK_EQ(vi2c_host_i2cdev_recv(t), 0x99);
    CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(nlogs, 0);
    vi2c_host_i2cdev_free(t);

    /* A host NACK at a read START is a NACK, logged as one. */
    t = make("regs@0x48", 0x49, 1);
    CHECK(t != NULL);
    CHECK(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_RECV) != 0);
    CHECK_EQ(nlogs, 1);
    CHECK_EQ(last_kind, VI2C_LOG_KIND_NACK);
    CHECK(strcmp(last_msg, "no acknowledge from 0x49") == 0);
    CHECK_EQ(vi2c_host_i2cdev_recv(t), 0xff);
    vi2c_host_i2cdev_free(t);

    /* A read-only target of 2-byte pointers: the pointer of a read is
     * forwarded, a write is not, and the guest mistake is logged as such. */
    {
        vi2c_host_i2cdev_config ro = {
            .host_address = 0x48, .prefetch = 1, .read_only = 2,
            .log = record_log,
        };
        CHECK_EQ(vi2c_adapter_new_sim("regs@0x48", &a, err, sizeof(err)), VI2C_STATUS_OK);
        CHECK_EQ(vi2c_host_i2cdev_new(&ro, a, &t, err, sizeof(err)), VI2C_STATUS_OK);
        nlogs = 0;
        CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
        CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
        CHECK_EQ(vi2c_host_i2cdev_send(t, 0x00), 0);
        CHECK(vi2c_host_i2cdev_send(t, 0x99) != 0);
        CHECK_EQ(nlogs, 1);
        CHECK_EQ(last_kind, VI2C_LOG_KIND_GUEST_ERROR);
        CHECK(strstr(last_msg, "read-only") != NULL);
        CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
        /* Register 0x07 still holds its pattern (~0x07 = 0xf8). */
        CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_SEND), 0);
        CHECK_EQ(vi2c_host_i2cdev_send(t, 0x07), 0);
        CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_START_RECV), 0);
        CHECK_EQ(vi2c_host_i2cdev_recv(t), 0xf8);
        CHECK_EQ(vi2c_host_i2cdev_event(t, VI2C_EVENT_FINISH), 0);
        vi2c_host_i2cdev_free(t);
    }

    /* Configuration errors consume the adapter and say why. */
    CHECK_EQ(vi2c_adapter_new_sim("", &a, err, sizeof(err)), VI2C_STATUS_OK);
    t = NULL;
    CHECK_EQ(vi2c_host_i2cdev_new(&bad, a, &t, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "prefetch=0 is out of range (1-8192)") == 0);
    CHECK(t == NULL);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, err, sizeof(err)), VI2C_STATUS_OK);
    bad.prefetch = 1;
    bad.host_address = 0x80;
    CHECK_EQ(vi2c_host_i2cdev_new(&bad, a, &t, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "host address 0x80 is not a 7-bit address") == 0);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, err, sizeof(err)), VI2C_STATUS_OK);
    bad.host_address = 0x50;
    bad.read_only = 3;
    CHECK_EQ(vi2c_host_i2cdev_new(&bad, a, &t, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "read_only is 3: 0 (writable), 1 or 2 (the pointer width) expected") == 0);
    return 0;
}
