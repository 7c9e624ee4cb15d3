#include <mica/linux/epoll_set.h>

namespace mica::abi {

EpollItem* EpollSet::find(EpollKey key) {
    auto it = items_.find(key, KeyLess());
    return it == items_.end() ? nullptr : &*it;
}

void EpollSet::insert(EpollItem* item) {
    item->queue = EpollItem::Queue::none;
    item->renotified = false;
    items_.insert(*item);
}

void EpollSet::erase(EpollItem* item) {
    if (item->queue == EpollItem::Queue::ready) ready_.remove(*item);
    // An item in a scan's hands is only ever erased by that scan's mutex holder, after the
    // scan: never in transit here.
    item->queue = EpollItem::Queue::none;
    items_.erase(items_.iterator_to(*item));
}

void EpollSet::modify(EpollItem* item, uint32_t events, uint64_t data) {
    item->events = events;
    item->data = data;
}

EpollItem* EpollSet::take_any() {
    if (items_.empty()) return nullptr;
    EpollItem* item = &*items_.begin();
    erase(item);
    return item;
}

void EpollSet::enqueue(EpollItem* item) {
    item->queue = EpollItem::Queue::ready;
    ready_.push_back(*item);
}

bool EpollSet::notify(EpollItem* item, uint32_t events) {
    // A fired EPOLLONESHOT item hears nothing until re-armed; others only what they watch.
    if (item->disabled()) return false;
    if (events != 0 && !(events & item->events & ~fs::epoll_flag_bits)) return false;
    switch (item->queue) {
    case EpollItem::Queue::ready: return false;
    case EpollItem::Queue::transit: item->renotified = true; return false;
    case EpollItem::Queue::none: enqueue(item); return true;
    }
    return false;
}

void EpollSet::begin(ReadyList& transit) {
    while (EpollItem* item = ready_.pop_front()) {
        item->queue = EpollItem::Queue::transit;
        item->renotified = false;
        transit.push_back(*item);
    }
}

void EpollSet::end(ReadyList& transit) {
    // Back to the front, keeping their order (they were ahead of anything queued since).
    EpollItem* last = nullptr;
    while (EpollItem* item = transit.pop_front()) {
        item->queue = EpollItem::Queue::ready;
        if (!last) ready_.push_front(*item);
        else ready_.insert_after(*last, *item);
        last = item;
    }
}

size_t EpollSet::scan(ScanHooks& hooks, EpollReport* out, size_t max) {
    ReadyList transit;
    hooks.lock();
    begin(transit);
    hooks.unlock();
    size_t reported = 0;
    while (reported < max) {
        // Only this scan (the mutex holder) touches the transit list: no lock to pop.
        EpollItem* item = transit.pop_front();
        if (!item) break;
        uint32_t events = item->disabled() ? 0 : hooks.poll(item) & (item->events | fs::poll_always);
        events &= ~fs::epoll_flag_bits;
        hooks.lock();
        item->queue = EpollItem::Queue::none;
        if (events) {
            out[reported++] = EpollReport{events, item->data};
            if (item->events & fs::epoll_oneshot) {
                item->events &= fs::epoll_flag_bits;  // disabled until EPOLL_CTL_MOD
            } else if (!(item->events & fs::epoll_et)) {
                enqueue(item);  // level-triggered: asked again next time
            } else if (item->renotified) {
                enqueue(item);  // a new edge arrived while we had it
            }
        } else if (item->renotified) {
            enqueue(item);
        }
        hooks.unlock();
    }
    hooks.lock();
    end(transit);
    hooks.unlock();
    return reported;
}

bool EpollSet::any_ready(ScanHooks& hooks) {
    ReadyList transit;
    hooks.lock();
    begin(transit);
    hooks.unlock();
    bool found = false;
    while (!found) {
        EpollItem* item = transit.pop_front();
        if (!item) break;
        uint32_t events = item->disabled() ? 0 : hooks.poll(item) & (item->events | fs::poll_always);
        events &= ~fs::epoll_flag_bits;
        hooks.lock();
        if (events) {
            found = true;
            transit.push_front(*item);  // stays queued, where it was
        } else {
            item->queue = EpollItem::Queue::none;
            if (item->renotified) enqueue(item);
        }
        hooks.unlock();
    }
    hooks.lock();
    end(transit);
    hooks.unlock();
    return found;
}

}  // namespace mica::abi
