/* The batch scheduler's gate: see sched.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "sched.h"

/* How long a waiter sleeps before it looks at its context again. */
#define POLL_MS 100

struct hk_sched {
    pthread_mutex_t lock;
    pthread_cond_t freed; /* a slot was given back, or the gate cancelled */
    unsigned slots;
    unsigned busy; /* slots taken */
    bool cancelled;
    hk_sched_hooks hooks;
};

hk_sched *
hk_sched_new(unsigned slots, const hk_sched_hooks *hooks)
{
    hk_sched *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        free(s);
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->freed, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        free(s);
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->freed);
        free(s);
        return NULL;
    }
    s->slots = slots ? slots : 1;
    if (hooks)
        s->hooks = *hooks;
    return s;
}

void
hk_sched_free(hk_sched *s)
{
    if (!s)
        return;
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void
hk_sched_event(const hk_sched *s, const char *vm, const char *what, int begin)
{
    if (s && s->hooks.event)
        s->hooks.event(s->hooks.ud, vm, what, begin, hk_now());
}

const hk_sched_hooks *
hk_sched_hooks_of(const hk_sched *s)
{
    return &s->hooks;
}

int
hk_sched_enter(hk_sched *s, h2k_ctx *ctx, const char *vm)
{
    hk_sched_event(s, vm, "wait", 1);
    pthread_mutex_lock(&s->lock);
    bool stop;
    while (!(stop = s->cancelled || h2k_ctx_is_cancelled(ctx)) && s->busy >= s->slots) {
        struct timespec until;
        hk_monotonic_after(&until, POLL_MS);
        pthread_cond_timedwait(&s->freed, &s->lock, &until);
    }
    if (!stop)
        s->busy++;
    pthread_mutex_unlock(&s->lock);
    hk_sched_event(s, vm, "wait", 0);
    if (stop)
        return hk_error(ctx, H2K_ERR_CANCELLED, "cancelled while waiting for an appliance slot");
    hk_sched_event(s, vm, "gate", 1);
    return 0;
}

void
hk_sched_leave(hk_sched *s, const char *vm)
{
    hk_sched_event(s, vm, "gate", 0);
    pthread_mutex_lock(&s->lock);
    if (s->busy > 0)
        s->busy--;
    pthread_cond_broadcast(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

void
hk_sched_cancel(hk_sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->cancelled = true;
    pthread_cond_broadcast(&s->freed);
    pthread_mutex_unlock(&s->lock);
}
