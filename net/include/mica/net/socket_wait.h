// Socket::wait_for (socket.h): the blocking loop every socket operation shares. Kernel only
// (it sleeps).
#pragma once

#include <mica/fs/poll_wait.h>
#include <mica/net/socket.h>

namespace mica::net {

template <typename Attempt>
int64_t Socket::wait_for(fs::PollHead* head, uint32_t events, uint64_t deadline, Attempt attempt) {
    fs::PollSleeper sleeper;
    fs::SleeperWaiter waiter(&sleeper, events | fs::poll_always);
    for (;;) {
        int64_t result = attempt();
        if (result != -errno_again || deadline == 0) return result;
        if (!waiter.head()) {
            // Listening from now on; the next attempt sees any change a notification reports.
            head->add(&waiter);
            continue;
        }
        if (!sleeper.sleep_until(deadline)) return attempt();  // one last try at the deadline
    }
}

}  // namespace mica::net
