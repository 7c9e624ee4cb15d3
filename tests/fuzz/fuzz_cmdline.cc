// The kernel command-line parser (kernel/core/cmdline.cc) on arbitrary text: it either
// stops with a message or splits the text in place into options (each applied with a value
// that lies inside the text) and application arguments, never reading or writing outside
// the text's buffer.
#include <mica/cmdline.h>

#include <vector>

#include "fuzz.h"

using namespace mica::cmdline;

namespace {

// The text being parsed, for the options' checks (one parse at a time).
const char* text_begin = nullptr;
const char* text_end = nullptr;

const char* check_value(const char* value) {
    FUZZ_CHECK(value != nullptr && value >= text_begin && value < text_end);
    FUZZ_CHECK(strlen(value) < static_cast<size_t>(text_end - value));
    return nullptr;
}
const char* flag(const char* value) {
    FUZZ_CHECK(value == nullptr || (value >= text_begin && value < text_end));
    return nullptr;
}
const char* picky(const char* value) {
    check_value(value);
    return value[0] == 'x' ? "values starting with x are refused" : nullptr;
}
const char* const kinds[] = {"panic", "null", "ud", nullptr};
const Option options[] = {
    {"help", nullptr, "flag", nullptr, flag},
    {"verbose", nullptr, "flag", nullptr, flag},
    {"env", "NAME=VALUE", "any value", nullptr, check_value},
    {"test-fault", "KIND", "a choice", kinds, check_value},
    {"picky", "V", "a value the option refuses", nullptr, picky},
    // A word hypervisors append (no dashes, anywhere on the line, never an argument).
    {"virtio_mmio.device", "SIZE@ADDR:IRQ", "a hypervisor word", nullptr, check_value, true},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<char> text(data, data + size);
    text.push_back('\0');  // the kernel parses a NUL-terminated copy
    text_begin = text.data();
    text_end = text.data() + text.size();
    static Result result;
    result = Result{};
    parse(text.data(), options, sizeof options / sizeof options[0], result);
    FUZZ_CHECK(strnlen(result.error, sizeof result.error) < sizeof result.error);
    if (!result.ok) {
        FUZZ_CHECK(result.error[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(result.arg_count <= Result::max_args);
    FUZZ_CHECK(result.args[result.arg_count] == nullptr);
    for (size_t i = 0; i < result.arg_count; ++i) {
        FUZZ_CHECK(result.args[i] >= text_begin && result.args[i] < text_end);
        FUZZ_CHECK(strlen(result.args[i]) < static_cast<size_t>(text_end - result.args[i]));
    }
    return 0;
}
