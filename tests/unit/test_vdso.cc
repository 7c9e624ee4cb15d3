// The vDSO images as built for both architectures (cmake/vdso.cmake, the same recipe as the
// kernel's): what the kernel's ELF reader makes of them, and what a C library's vDSO lookup
// needs - glibc's (DT_GNU_HASH) and musl's (DT_HASH), each with the symbol's version, as
// dl-vdso and src/internal/vdso.c look them up - plus readelf's view of the same.
#include <gtest/gtest.h>
#include <mica/loader/elf.h>

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Expected {
    const char* path;
    uint16_t machine;
    const char* version;
    std::set<std::string> exports;
};

// Exactly what Linux's vDSOs export (arch/x86/entry/vdso/vdso.lds.S without SGX,
// arch/arm64/kernel/vdso/vdso.lds.S without getrandom).
const Expected x86_64 = {MICA_VDSO_X86_64, EM_X86_64, "LINUX_2.6",
                         {"clock_gettime", "__vdso_clock_gettime", "gettimeofday", "__vdso_gettimeofday", "time",
                          "__vdso_time", "clock_getres", "__vdso_clock_getres", "getcpu", "__vdso_getcpu"}};
const Expected aarch64 = {MICA_VDSO_AARCH64, EM_AARCH64, "LINUX_2.6.39",
                          {"__kernel_clock_gettime", "__kernel_gettimeofday", "__kernel_clock_getres",
                           "__kernel_rt_sigreturn"}};

// The image as a loader sees it: addresses are offsets (one PT_LOAD at 0, the file its image).
class Image {
public:
    explicit Image(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
    const Elf64_Ehdr& header() const { return *at<Elf64_Ehdr>(0); }
    std::vector<Elf64_Phdr> program_headers() const {
        std::vector<Elf64_Phdr> out;
        for (int i = 0; i < header().e_phnum; ++i) out.push_back(*at<Elf64_Phdr>(header().e_phoff + i * sizeof(Elf64_Phdr)));
        return out;
    }
    // The dynamic section's entries by tag (every tag once in a vDSO), and all of them.
    std::map<int64_t, uint64_t> dynamic() const {
        std::map<int64_t, uint64_t> tags;
        for (const Elf64_Phdr& p : program_headers()) {
            if (p.p_type != PT_DYNAMIC) continue;
            for (uint64_t o = p.p_offset; o + sizeof(Elf64_Dyn) <= p.p_offset + p.p_filesz; o += sizeof(Elf64_Dyn)) {
                const Elf64_Dyn* d = at<Elf64_Dyn>(o);
                if (d->d_tag == DT_NULL) break;
                EXPECT_EQ(tags.count(d->d_tag), 0u) << "tag " << d->d_tag << " twice";
                tags[d->d_tag] = d->d_un.d_val;
            }
        }
        return tags;
    }
    template <typename T>
    const T* at(uint64_t offset) const {
        if (offset + sizeof(T) > bytes_.size()) throw std::out_of_range("past the image");
        return reinterpret_cast<const T*>(bytes_.data() + offset);
    }
    const char* string(uint64_t offset) const { return at<char>(dynamic().at(DT_STRTAB) + offset); }
    size_t size() const { return bytes_.size(); }
    const uint8_t* data() const { return bytes_.data(); }

    // The version index (DT_VERDEF) named `version`, or -1.
    int version_index(const std::string& version) const {
        auto tags = dynamic();
        uint64_t o = tags.at(DT_VERDEF);
        for (uint64_t n = 0; n < tags.at(DT_VERDEFNUM); ++n) {
            const Elf64_Verdef* v = at<Elf64_Verdef>(o);
            const Elf64_Verdaux* aux = at<Elf64_Verdaux>(o + v->vd_aux);
            if (!(v->vd_flags & VER_FLG_BASE) && version == string(aux->vda_name)) return v->vd_ndx & 0x7fff;
            if (!v->vd_next) break;
            o += v->vd_next;
        }
        return -1;
    }
    bool version_matches(uint32_t symbol, int index) const {
        return index >= 0 && (*at<Elf64_Half>(dynamic().at(DT_VERSYM) + symbol * 2) & 0x7fff) == index;
    }
    const Elf64_Sym& symbol(uint32_t i) const { return *at<Elf64_Sym>(dynamic().at(DT_SYMTAB) + i * sizeof(Elf64_Sym)); }
    uint32_t symbol_count() const { return *at<uint32_t>(dynamic().at(DT_HASH) + 4); }  // nchain

    // musl's way: the SysV hash table's chains, then the version.
    const Elf64_Sym* lookup_sysv(const std::string& name, const std::string& version) const {
        const uint32_t* table = at<uint32_t>(dynamic().at(DT_HASH));
        uint32_t nbucket = table[0], h = 0;
        for (unsigned char c : name) {
            h = (h << 4) + c;
            h ^= (h >> 24) & 0xf0;
        }
        h &= 0x0fffffff;
        const uint32_t* chain = table + 2 + nbucket;
        for (uint32_t i = table[2 + h % nbucket]; i; i = chain[i]) {
            if (name == string(symbol(i).st_name) && version_matches(i, version_index(version))) return &symbol(i);
        }
        return nullptr;
    }
    // glibc's way: the GNU hash table (Bloom filter, buckets, hash chain), then the version.
    const Elf64_Sym* lookup_gnu(const std::string& name, const std::string& version) const {
        uint64_t o = dynamic().at(DT_GNU_HASH);
        const uint32_t* table = at<uint32_t>(o);
        uint32_t nbuckets = table[0], symoffset = table[1], bloom_size = table[2], bloom_shift = table[3];
        const uint64_t* bloom = at<uint64_t>(o + 16);
        const uint32_t* buckets = at<uint32_t>(o + 16 + bloom_size * 8);
        const uint32_t* chain = buckets + nbuckets;
        uint32_t h = 5381;
        for (unsigned char c : name) h = h * 33 + c;
        uint64_t word = bloom[(h / 64) % bloom_size];
        if (!((word >> (h % 64)) & (word >> ((h >> bloom_shift) % 64)) & 1)) return nullptr;
        for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i; ++i) {
            uint32_t link = chain[i - symoffset];
            if ((link | 1) == (h | 1) && name == string(symbol(i).st_name) && version_matches(i, version_index(version))) {
                return &symbol(i);
            }
            if (link & 1) break;
        }
        return nullptr;
    }

private:
    std::vector<uint8_t> bytes_;
};

class Vdso : public ::testing::TestWithParam<const Expected*> {
protected:
    void SetUp() override {
        const Expected& e = *GetParam();
        if (!*e.path) GTEST_SKIP() << "no compiler for this architecture: its vDSO was not built";
        bytes = read_file(e.path);
        ASSERT_GT(bytes.size(), sizeof(Elf64_Ehdr)) << e.path;
    }
    std::vector<uint8_t> bytes;
};

TEST_P(Vdso, TheKernelsElfReaderAcceptsIt) {
    const Expected& e = *GetParam();
    mica::loader::LoadPlan plan;
    mica::loader::ElfResult r = mica::loader::parse_elf(bytes.data(), bytes.size(), e.machine, plan);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(plan.position_independent);
    EXPECT_EQ(plan.kind, mica::loader::ElfKind::static_pie);  // ET_DYN, no interpreter
    // One segment from offset 0: the headers are mapped (AT_SYSINFO_EHDR is the image's start),
    // read-execute, nothing past the file (there is no bss: the copy is the whole image).
    ASSERT_EQ(plan.segment_count, 1u);
    const mica::loader::LoadSegment& s = plan.segments[0];
    EXPECT_EQ(s.vaddr, 0u);
    EXPECT_EQ(s.offset, 0u);
    EXPECT_EQ(s.filesz, s.memsz);
    EXPECT_EQ(s.prot, mica::loader::prot_read | mica::loader::prot_exec);
    EXPECT_EQ(plan.lowest_address, 0u);
    // map_vdso copies the file; it is meant to fit one page (the kernel embeds it whole).
    EXPECT_LE(bytes.size(), 4096u);
}

TEST_P(Vdso, ItIsAWellFormedSharedObjectWithNothingToRelocate) {
    Image image(bytes);
    EXPECT_EQ(image.header().e_type, ET_DYN);
    int loads = 0, dynamics = 0, notes = 0;
    for (const Elf64_Phdr& p : image.program_headers()) {
        loads += p.p_type == PT_LOAD;
        dynamics += p.p_type == PT_DYNAMIC;
        notes += p.p_type == PT_NOTE;
        EXPECT_NE(p.p_type, static_cast<uint32_t>(PT_INTERP));
        EXPECT_NE(p.p_type, static_cast<uint32_t>(PT_TLS));
    }
    EXPECT_EQ(loads, 1);
    EXPECT_EQ(dynamics, 1);
    EXPECT_EQ(notes, 1);
    auto tags = image.dynamic();
    for (int64_t tag : {DT_HASH, DT_GNU_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM, DT_VERDEF, DT_SONAME}) {
        EXPECT_EQ(tags.count(tag), 1u) << "missing dynamic tag " << tag;
    }
    // Nobody relocates a vDSO (glibc and musl use it where it lies), nor loads its libraries.
    for (int64_t tag : {DT_NEEDED, DT_REL, DT_RELA, DT_RELR, DT_JMPREL, DT_TEXTREL, DT_INIT, DT_FINI, DT_INIT_ARRAY}) {
        EXPECT_EQ(tags.count(tag), 0u) << "unexpected dynamic tag " << tag;
    }
    EXPECT_STREQ(image.string(tags.at(DT_SONAME)), "linux-vdso.so.1");
}

TEST_P(Vdso, ItExportsExactlyLinuxsSymbolsUnderLinuxsVersion) {
    const Expected& e = *GetParam();
    Image image(bytes);
    std::set<std::string> exported;
    uint64_t text_end = 0;
    for (const Elf64_Phdr& p : image.program_headers()) {
        if (p.p_type == PT_LOAD) text_end = p.p_vaddr + p.p_memsz;
    }
    for (uint32_t i = 1; i < image.symbol_count(); ++i) {
        const Elf64_Sym& s = image.symbol(i);
        if (s.st_shndx == SHN_ABS) continue;  // the version's own definition
        ASSERT_NE(s.st_shndx, SHN_UNDEF) << image.string(s.st_name) << " is undefined";
        EXPECT_EQ(ELF64_ST_TYPE(s.st_info), STT_FUNC) << image.string(s.st_name);
        EXPECT_LT(s.st_value, text_end) << image.string(s.st_name);
        EXPECT_TRUE(image.version_matches(i, image.version_index(e.version))) << image.string(s.st_name);
        exported.insert(image.string(s.st_name));
    }
    EXPECT_EQ(exported, e.exports);
}

TEST_P(Vdso, TheCLibrariesLookupsFindEverySymbol) {
    const Expected& e = *GetParam();
    Image image(bytes);
    for (const std::string& name : e.exports) {
        const Elf64_Sym* sysv = image.lookup_sysv(name, e.version);
        const Elf64_Sym* gnu = image.lookup_gnu(name, e.version);
        ASSERT_NE(sysv, nullptr) << name << " through DT_HASH (musl)";
        ASSERT_NE(gnu, nullptr) << name << " through DT_GNU_HASH (glibc)";
        EXPECT_EQ(sysv, gnu) << name;
        EXPECT_EQ(image.lookup_sysv(name, "LINUX_0.0"), nullptr) << name << " under another version";
        EXPECT_EQ(image.lookup_gnu(name + "_", e.version), nullptr);
    }
    EXPECT_EQ(image.lookup_gnu("clock_settime", e.version), nullptr);
    EXPECT_EQ(image.lookup_sysv("clock_settime", e.version), nullptr);
}

TEST_P(Vdso, ItCarriesLinuxsVersionNote) {
    Image image(bytes);
    for (const Elf64_Phdr& p : image.program_headers()) {
        if (p.p_type != PT_NOTE) continue;
        for (uint64_t o = p.p_offset; o + 12 <= p.p_offset + p.p_filesz;) {
            const Elf64_Nhdr* n = image.at<Elf64_Nhdr>(o);
            const char* name = image.at<char>(o + 12);
            uint64_t desc = o + 12 + ((n->n_namesz + 3) & ~3u);
            if (n->n_namesz == 6 && !strcmp(name, "Linux") && n->n_type == 0 && n->n_descsz == 4) {
                EXPECT_EQ(*image.at<uint32_t>(desc), 0x060100u);  // 6.1.0, as uname says
                return;
            }
            o = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    ADD_FAILURE() << "no Linux version note";
}

TEST_P(Vdso, ReadelfAgrees) {
    const Expected& e = *GetParam();
    if (!*MICA_READELF) GTEST_SKIP() << "no readelf";
    std::string command = std::string(MICA_READELF) + " -W --dyn-syms -d " + e.path + " 2>&1";
    FILE* p = popen(command.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
    EXPECT_EQ(pclose(p), 0) << out;
    for (const std::string& name : e.exports) {
        EXPECT_NE(out.find(" " + name + "@@" + e.version + "\n"), std::string::npos) << name << " in\n" << out;
    }
    EXPECT_NE(out.find("Library soname: [linux-vdso.so.1]"), std::string::npos) << out;
    EXPECT_EQ(out.find("(NEEDED)"), std::string::npos) << out;
    EXPECT_EQ(out.find("(RELA)"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Images, Vdso, ::testing::Values(&x86_64, &aarch64),
                         [](const ::testing::TestParamInfo<const Expected*>& info) {
                             return info.param == &x86_64 ? std::string("x86_64") : std::string("aarch64");
                         });

}  // namespace
