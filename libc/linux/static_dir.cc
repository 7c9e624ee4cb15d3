// Fixed directories for devfs and procfs (files_internal.h).
#include <string.h>
#include "files_internal.h"

namespace mica::abi::files {

StaticDir::StaticDir(fs::FileSystem* owner, StaticDir* parent)
    : Vnode(owner, fs::s_ifdir | 0555), parent_(parent ? parent : this) {
    nlink = 2;
}

StaticDir::~StaticDir() {
    for (int i = 0; i < count_; ++i) entries_[i].node->unref();
    delete dynamic_;
}

bool StaticDir::add(const char* name, fs::Vnode* node) {
    if (!node) return false;
    if (count_ == max_entries) {
        node->unref();
        return false;
    }
    entries_[count_++] = Entry{name, node};
    if (node->is_directory()) ++nlink;
    return true;
}

int StaticDir::lookup(fs::Name name, fs::Vnode** out) {
    fs::Vnode* found = nullptr;
    if (name.is_dot()) {
        found = this;
    } else if (name.is_dotdot()) {
        found = parent_;
    } else {
        for (int i = 0; i < count_ && !found; ++i) {
            if (name.equals(entries_[i].name)) found = entries_[i].node;
        }
    }
    if (!found) return dynamic_ ? dynamic_->lookup(name, out) : -fs::errno_noent;
    found->ref();
    *out = found;
    return 0;
}

int StaticDir::readdir(uint64_t cookie, fs::DirEntry* out) {
    // Cookies: 0 ".", 1 "..", 2 + i the i-th entry.
    const char* name;
    fs::Vnode* node;
    if (cookie == 0) {
        name = ".";
        node = this;
    } else if (cookie == 1) {
        name = "..";
        node = parent_;
    } else if (cookie - 2 < static_cast<uint64_t>(count_)) {
        name = entries_[cookie - 2].name;
        node = entries_[cookie - 2].node;
    } else {
        if (!dynamic_ || !dynamic_->entry(cookie - 2 - count_, out)) return 0;
        out->next_cookie = cookie + 1;
        return 1;
    }
    out->ino = node->ino;
    out->type = fs::dtype_of(node->mode);
    out->next_cookie = cookie + 1;
    out->name_length = strlen(name);
    memcpy(out->name, name, out->name_length + 1);
    return 1;
}

}  // namespace mica::abi::files
