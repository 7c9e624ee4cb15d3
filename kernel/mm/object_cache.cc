#include <mica/mm/object_cache.h>

namespace mica::mm {

void* ObjectCache::alloc(unsigned size_class, const Source& source) {
    Magazine& m = magazines_[size_class];
    if (m.count == 0) m.count = source.fill(size_class, m.objects, batch, source.context);
    return m.count ? m.objects[--m.count] : nullptr;
}

void ObjectCache::free(void* object, unsigned size_class, const Source& source) {
    Magazine& m = magazines_[size_class];
    if (m.count == capacity) {
        // Give back the older half (the bottom of the stack); the recently freed, cache-warm
        // objects stay.
        source.drain(m.objects, batch, source.context);
        for (unsigned i = batch; i < capacity; ++i) m.objects[i - batch] = m.objects[i];
        m.count -= batch;
    }
    m.objects[m.count++] = object;
}

void ObjectCache::drain_all(const Source& source) {
    for (Magazine& m : magazines_) {
        if (m.count) source.drain(m.objects, m.count, source.context);
        m.count = 0;
    }
}

size_t ObjectCache::cached_objects() const {
    size_t n = 0;
    for (const Magazine& m : magazines_) n += m.count;
    return n;
}

size_t ObjectCache::cached_bytes() const {
    size_t n = 0;
    for (unsigned c = 0; c < Heap::class_count; ++c) n += magazines_[c].count * Heap::class_sizes[c];
    return n;
}

}  // namespace mica::mm
