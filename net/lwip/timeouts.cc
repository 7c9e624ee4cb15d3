// lwIP's timeouts, Mica's implementation (LWIP_TIMERS_CUSTOM; the interface is
// lwip/timeouts.h, and lwIP's own timeouts.c is not compiled). The semantics are those of lwIP's own timeouts.c: one list sorted by due
// time, run by tcpip_thread between messages; the cyclic timers (lwip_cyclic_timers: ARP, IP
// reassembly, DHCP, DNS) rescheduled from their due time, so they do not drift; TCP's timer
// running only while some connection needs it. The difference: lwIP frees a timeout's entry
// when it fires and allocates a new one when the cyclic timer is rescheduled, several times a
// second for ever. Here entries go back to a free list filled at start-up, so the tcpip
// thread allocates nothing per tick, and the kernel's leak report (which lists allocations
// made after boot) does not see the stack's ever-renewed timers as new allocations. Times are
// kept as 64-bit milliseconds, so there is no wrap-around to handle.
#include <mica/clock.h>
#include <mica/panic.h>
#include <stdlib.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/ip4_frag.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#if LWIP_IPV6 || LWIP_AUTOIP || LWIP_IGMP || !LWIP_TCP || !IP_REASSEMBLY || !LWIP_ARP || !LWIP_DHCP || !LWIP_DNS
#error "lwip_cyclic_timers below lists the timers of Mica's lwipopts.h: update it with the options"
#endif

// The stack's periodic work, as lwIP's timeouts.c lists it for these options (that file is
// not compiled: with LWIP_TIMERS_CUSTOM it would only define an empty tcp_timer_needed).
// TCP's timer comes first and runs on demand.
extern "C" const struct lwip_cyclic_timer lwip_cyclic_timers[] = {
    {TCP_TMR_INTERVAL, tcp_tmr},
    {IP_TMR_INTERVAL, ip_reass_tmr},
    {ARP_TMR_INTERVAL, etharp_tmr},
    {DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tmr},
    {DHCP_FINE_TIMER_MSECS, dhcp_fine_tmr},
    {DNS_TMR_INTERVAL, dns_tmr},
};
extern "C" const int lwip_num_cyclic_timers = sizeof(lwip_cyclic_timers) / sizeof(lwip_cyclic_timers[0]);

namespace mica::net {
namespace {

constexpr uint64_t ns_per_ms = 1000000;
// Entries kept for reuse: the cyclic timers, TCP's, and room for a few one-shot timeouts.
constexpr size_t reserved_entries = 16;

struct Timeout {
    Timeout* next;
    uint64_t due_ms;
    sys_timeout_handler handler;
    void* arg;
};

// All guarded by the core lock (lwIP calls these from tcpip_thread or with the lock held).
Timeout* pending = nullptr;       // sorted by due_ms, earliest first
Timeout* spare = nullptr;         // the free list
size_t spare_count = 0;
uint64_t current_due_ms = 0;      // due time of the timeout being run (cyclic rescheduling)
bool tcp_timer_active = false;

uint64_t now_ms() { return clock::monotonic_ns() / ns_per_ms; }

Timeout* take_entry() {
    if (Timeout* t = spare) {
        spare = t->next;
        --spare_count;
        return t;
    }
    auto* t = static_cast<Timeout*>(malloc(sizeof(Timeout)));
    if (!t) panic("lwIP: no memory for a timeout");
    return t;
}

void give_back(Timeout* t) {
    if (spare_count == reserved_entries) {
        free(t);
        return;
    }
    t->next = spare;
    spare = t;
    ++spare_count;
}

void schedule_at(uint64_t due_ms, sys_timeout_handler handler, void* arg) {
    Timeout* t = take_entry();
    *t = {nullptr, due_ms, handler, arg};
    Timeout** link = &pending;
    while (*link && (*link)->due_ms <= due_ms) link = &(*link)->next;  // after equal times: FIFO
    t->next = *link;
    *link = t;
}

void cyclic_timer(void* arg) {
    const auto* cyclic = static_cast<const lwip_cyclic_timer*>(arg);
    cyclic->handler();
    uint64_t next = current_due_ms + cyclic->interval_ms;
    uint64_t now = now_ms();
    // Behind by a whole interval (a long stall): restart from now rather than catch up.
    schedule_at(next < now ? now + cyclic->interval_ms : next, cyclic_timer, const_cast<lwip_cyclic_timer*>(cyclic));
}

void tcp_timer(void*) {
    tcp_tmr();
    if (tcp_active_pcbs || tcp_tw_pcbs) {
        sys_timeout(TCP_TMR_INTERVAL, tcp_timer, nullptr);
    } else {
        tcp_timer_active = false;
    }
}

}  // namespace

bool tcp_timer_running() { return tcp_timer_active; }

}  // namespace mica::net

using namespace mica::net;

extern "C" {

void sys_timeouts_init(void) {
    while (spare_count < reserved_entries) {
        auto* t = static_cast<Timeout*>(malloc(sizeof(Timeout)));
        if (!t) mica::panic("lwIP: no memory for timeouts");
        t->next = spare;
        spare = t;
        ++spare_count;
    }
    // lwip_cyclic_timers[0] is TCP's, started on demand by tcp_timer_needed().
    for (int i = LWIP_TCP ? 1 : 0; i < lwip_num_cyclic_timers; ++i) {
        sys_timeout(lwip_cyclic_timers[i].interval_ms, cyclic_timer, const_cast<lwip_cyclic_timer*>(&lwip_cyclic_timers[i]));
    }
}

void sys_timeout(u32_t msecs, sys_timeout_handler handler, void* arg) {
    LWIP_ASSERT_CORE_LOCKED();
    schedule_at(now_ms() + msecs, handler, arg);
}

void sys_untimeout(sys_timeout_handler handler, void* arg) {
    LWIP_ASSERT_CORE_LOCKED();
    for (Timeout** link = &pending; *link; link = &(*link)->next) {
        Timeout* t = *link;
        if (t->handler == handler && t->arg == arg) {
            *link = t->next;
            give_back(t);
            return;
        }
    }
}

void sys_check_timeouts(void) {
    LWIP_ASSERT_CORE_LOCKED();
    // Only what was due when the call began: a handler rescheduling itself for "now" does not
    // keep this loop busy.
    uint64_t now = now_ms();
    while (Timeout* t = pending) {
        PBUF_CHECK_FREE_OOSEQ();
        if (t->due_ms > now) return;
        pending = t->next;
        sys_timeout_handler handler = t->handler;
        void* arg = t->arg;
        current_due_ms = t->due_ms;
        give_back(t);
        if (handler) handler(arg);
    }
}

u32_t sys_timeouts_sleeptime(void) {
    LWIP_ASSERT_CORE_LOCKED();
    if (!pending) return SYS_TIMEOUTS_SLEEPTIME_INFINITE;
    uint64_t now = now_ms();
    if (pending->due_ms <= now) return 0;
    uint64_t wait = pending->due_ms - now;
    return wait < SYS_TIMEOUTS_SLEEPTIME_INFINITE ? static_cast<u32_t>(wait) : SYS_TIMEOUTS_SLEEPTIME_INFINITE - 1;
}

// lwIP calls this after a long pause in NO_SYS setups; the same here: every timeout keeps its
// distance from the first, which becomes due now.
void sys_restart_timeouts(void) {
    LWIP_ASSERT_CORE_LOCKED();
    if (!pending) return;
    uint64_t base = pending->due_ms, now = now_ms();
    for (Timeout* t = pending; t; t = t->next) t->due_ms = now + (t->due_ms - base);
}

// Called by TCP when a connection becomes active: the TCP timer runs while any needs it.
void tcp_timer_needed(void) {
    LWIP_ASSERT_CORE_LOCKED();
    if (!tcp_timer_active && (tcp_active_pcbs || tcp_tw_pcbs)) {
        tcp_timer_active = true;
        sys_timeout(TCP_TMR_INTERVAL, tcp_timer, nullptr);
    }
}

}  // extern "C"
