// Intrusive doubly linked list: the element embeds a ListNode, so queueing never allocates
// (the scheduler runs with interrupts off and cannot call the heap). Host-testable.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::sched {

struct ListNode {
    ListNode* prev = nullptr;
    ListNode* next = nullptr;
    bool linked() const { return next != nullptr; }
};

// A circular list with a sentinel; T embeds a ListNode at member `Member`.
template <typename T, ListNode T::*Member>
class List {
public:
    List() { head_.prev = head_.next = &head_; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    bool empty() const { return head_.next == &head_; }
    size_t size() const {
        size_t n = 0;
        for (const ListNode* p = head_.next; p != &head_; p = p->next) ++n;
        return n;
    }
    void push_back(T& item) { insert_before(&head_, node(item)); }
    void push_front(T& item) { insert_before(head_.next, node(item)); }
    // Inserts `item` right after `position`, which is on this list.
    void insert_after(T& position, T& item) { insert_before(node(position)->next, node(item)); }
    T* front() const { return empty() ? nullptr : owner(head_.next); }
    T* back() const { return empty() ? nullptr : owner(head_.prev); }
    T* pop_front() {
        if (empty()) return nullptr;
        T* item = owner(head_.next);
        remove(*item);
        return item;
    }
    static void remove(T& item) {
        ListNode* n = node(item);
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->prev = n->next = nullptr;
    }
    // Calls f(item) for each item; f may not modify the list.
    template <typename F>
    void for_each(F f) const {
        for (ListNode* p = head_.next; p != &head_; p = p->next) f(*owner(p));
    }
    // First item for which pred(item) is true, or nullptr.
    template <typename P>
    T* find(P pred) const {
        for (ListNode* p = head_.next; p != &head_; p = p->next) {
            if (pred(*owner(p))) return owner(p);
        }
        return nullptr;
    }
    // Inserts `item` before the first element `e` with less(item, e): keeps a sorted list.
    template <typename Less>
    void insert_sorted(T& item, Less less) {
        ListNode* p = head_.next;
        while (p != &head_ && !less(item, *owner(p))) p = p->next;
        insert_before(p, node(item));
    }

private:
    static ListNode* node(T& item) { return &(item.*Member); }
    static T* owner(const ListNode* n) {
        // Offset of the member inside T, computed without a T object (from a fake, aligned,
        // non-null address: member pointers have no offsetof).
        constexpr uintptr_t fake = alignof(T) * 64;
        auto offset = reinterpret_cast<uintptr_t>(&(reinterpret_cast<T*>(fake)->*Member)) - fake;
        return reinterpret_cast<T*>(reinterpret_cast<char*>(const_cast<ListNode*>(n)) - offset);
    }
    static void insert_before(ListNode* at, ListNode* n) {
        n->next = at;
        n->prev = at->prev;
        at->prev->next = n;
        at->prev = n;
    }
    ListNode head_;
};

}  // namespace mica::sched
