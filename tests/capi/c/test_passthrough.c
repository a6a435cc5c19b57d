/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vi2c_passthrough through the C API, on the simulation. */
#include "vi2c_ctest.h"

static vi2c_passthrough *make(const char *spec, uint16_t addr, uint32_t prefetch)
{
    vi2c_adapter *a = NULL;
    vi2c_passthrough *p = NULL;
    vi2c_passthrough_config cfg = { .host_address = addr, .prefetch = prefetch };
    char err[256];

    if (vi2c_adapter_new_sim(spec, &a, err, sizeof(err)) != VI2C_STATUS_OK) {
        return NULL;
    }
    if (vi2c_passthrough_new(&cfg, a, &p, err, sizeof(err)) != VI2C_STATUS_OK) {
        fprintf(stderr, "passthrough: %s\n", err);
        return NULL;
    }
    return p;
}

int vi2c_ctest_passthrough(void)
{
    vi2c_passthrough *p = make("regs@0x48", 0x48, 2);
    vi2c_adapter *a = NULL;
    vi2c_passthrough_config bad = { .host_address = 0x48, .prefetch = 0 };
    char err[256];

    CHECK(p != NULL);
    /* Register read with a repeated START: write pointer, read two. */
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_passthrough_send(p, 0x02), 0);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_START_RECV), 0);
    CHECK_EQ(vi2c_passthrough_recv(p), 0xfd);
    CHECK_EQ(vi2c_passthrough_recv(p), 0xfc);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_NACK), 0);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(vi2c_passthrough_take_error(p, err, sizeof(err)), VI2C_STATUS_OK);
    /* Write, then read it back. */
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_passthrough_send(p, 0x07), 0);
    CHECK_EQ(vi2c_passthrough_send(p, 0x99), 0);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_FINISH), 0);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_START_SEND), 0);
    CHECK_EQ(vi2c_passthrough_send(p, 0x07), 0);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_START_RECV), 0);
    CHECK_EQ(vi2c_passthrough_recv(p), 0x99);
    CHECK_EQ(vi2c_passthrough_event(p, VI2C_EVENT_FINISH), 0);
    /* Unknown events NACK. */
    CHECK(vi2c_passthrough_event(p, 77) != 0);
    vi2c_passthrough_free(p);

    /* A host NACK at a read START is a NACK, with a message. */
    p = make("regs@0x48", 0x49, 1);
    CHECK(p != NULL);
    CHECK(vi2c_passthrough_event(p, VI2C_EVENT_START_RECV) != 0);
    CHECK_EQ(vi2c_passthrough_recv(p), 0xff);
    CHECK_EQ(vi2c_passthrough_take_error(p, err, sizeof(err)), VI2C_STATUS_NACK);
    CHECK(strcmp(err, "no acknowledge from 0x49") == 0);
    CHECK_EQ(vi2c_passthrough_take_error(p, NULL, 0), VI2C_STATUS_OK);
    vi2c_passthrough_free(p);

    /* Configuration errors consume the adapter and say why. */
    CHECK_EQ(vi2c_adapter_new_sim("", &a, err, sizeof(err)), VI2C_STATUS_OK);
    p = NULL;
    CHECK_EQ(vi2c_passthrough_new(&bad, a, &p, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "prefetch=0 is out of range (1-8192)") == 0);
    CHECK(p == NULL);
    CHECK_EQ(vi2c_adapter_new_sim("", &a, err, sizeof(err)), VI2C_STATUS_OK);
    bad.prefetch = 1;
    bad.host_address = 0x80;
    CHECK_EQ(vi2c_passthrough_new(&bad, a, &p, err, sizeof(err)), VI2C_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(err, "host address 0x80 is out of range") == 0);
    return 0;
}
