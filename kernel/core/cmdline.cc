#include <mica/cmdline.h>
#include <mica/format.h>
#include <string.h>

namespace mica::cmdline {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Cuts the next word out of `*cursor` (unquoting in place); nullptr at the end.
// Sets `unterminated` when a quote is left open.
char* next_word(char** cursor, bool& unterminated) {
    char* p = *cursor;
    while (is_blank(*p)) ++p;
    if (!*p) return nullptr;
    char* word = p;
    char* out = p;
    char quote = 0;
    for (; *p; ++p) {
        if (quote) {
            if (*p == quote) quote = 0;
            else if (*p == '\\' && quote == '"' && p[1]) *out++ = *++p;
            else *out++ = *p;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '\\' && p[1]) {
            *out++ = *++p;
        } else if (is_blank(*p)) {
            ++p;
            break;
        } else {
            *out++ = *p;
        }
    }
    unterminated = quote != 0;
    *cursor = p;
    *out = '\0';  // out <= p - 1 when we stopped at a blank, so the cursor stays valid
    return word;
}

void list_options(Result& r, size_t& used, const OptionTable* tables, size_t table_count) {
    bool first = true;
    for (size_t t = 0; t < table_count; ++t) {
        const Option* options = tables[t].options;
        for (size_t i = 0; i < tables[t].count && used < sizeof(r.error); ++i) {
            if (options[i].hypervisor_word) continue;
            int n = fmt::snprintf(r.error + used, sizeof(r.error) - used, "%s--%s%s%s", first ? "" : ", ",
                                  options[i].name, options[i].value_name ? "=" : "",
                                  options[i].value_name ? options[i].value_name : "");
            used += n > 0 ? static_cast<size_t>(n) : 0;
            first = false;
        }
    }
}

// The `--name` option (hypervisor words are not options), or nullptr.
const Option* find_option(const OptionTable* tables, size_t table_count, const char* name) {
    for (size_t t = 0; t < table_count; ++t) {
        for (size_t i = 0; i < tables[t].count; ++i) {
            const Option& o = tables[t].options[i];
            if (!o.hypervisor_word && strcmp(o.name, name) == 0) return &o;
        }
    }
    return nullptr;
}

void print_option(const Option& o, int (*out)(const char* format, ...)) {
    char left[64];
    fmt::snprintf(left, sizeof(left), "%s%s%s%s", o.hypervisor_word ? "" : "--", o.name, o.value_name ? "=" : "",
                  o.value_name ? o.value_name : "");
    out("  %-24s %s\n", left, o.help);
    if (o.choices) {
        out("  %-24s values:", "");
        for (auto c = o.choices; *c; ++c) out(" %s", *c);
        out("\n");
    }
}

// The hypervisor word `word` is an instance of (`name=...`), or nullptr.
const Option* hypervisor_word(const char* word, const OptionTable* tables, size_t table_count) {
    for (size_t t = 0; t < table_count; ++t) {
        for (size_t i = 0; i < tables[t].count; ++i) {
            const Option& o = tables[t].options[i];
            if (!o.hypervisor_word) continue;
            size_t n = strlen(o.name);
            if (strncmp(word, o.name, n) == 0 && word[n] == '=') return &o;
        }
    }
    return nullptr;
}

}  // namespace

void parse(char* text, const OptionTable* tables, size_t table_count, Result& r) {
    r = Result{};
    char* cursor = text;
    bool options_done = false;
    bool unterminated = false;
    while (char* word = next_word(&cursor, unterminated)) {
        if (unterminated) {
            fmt::snprintf(r.error, sizeof(r.error), "unterminated quote in the command line");
            return;
        }
        if (const Option* h = hypervisor_word(word, tables, table_count)) {
            const char* value = word + strlen(h->name) + 1;
            if (const char* problem = h->apply ? h->apply(value) : nullptr) {
                fmt::snprintf(r.error, sizeof(r.error), "'%s' (added by the hypervisor): %s", word, problem);
                return;
            }
            continue;
        }
        if (!options_done && strcmp(word, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || strncmp(word, "--", 2) != 0) {
            options_done = true;
            if (r.arg_count == Result::max_args) {
                fmt::snprintf(r.error, sizeof(r.error), "too many application arguments (at most %zu)",
                              Result::max_args);
                return;
            }
            r.args[r.arg_count++] = word;
            continue;
        }
        char* name = word + 2;
        char* value = strchr(name, '=');
        if (value) *value++ = '\0';
        const Option* option = find_option(tables, table_count, name);
        if (!option) {
            size_t used = static_cast<size_t>(
                fmt::snprintf(r.error, sizeof(r.error), "unknown option '--%s'; valid options: ", name));
            list_options(r, used, tables, table_count);
            return;
        }
        if (option->value_name && !value) {
            fmt::snprintf(r.error, sizeof(r.error), "option '--%s' needs a value: --%s=%s", name, name,
                          option->value_name);
            return;
        }
        if (!option->value_name && value) {
            fmt::snprintf(r.error, sizeof(r.error), "option '--%s' takes no value (got '%s')", name, value);
            return;
        }
        if (option->choices) {
            bool known = false;
            for (auto c = option->choices; *c; ++c) known |= strcmp(*c, value) == 0;
            if (!known) {
                size_t used = static_cast<size_t>(fmt::snprintf(
                    r.error, sizeof(r.error), "invalid value '%s' for '--%s'; expected one of:", value, name));
                for (auto c = option->choices; *c && used < sizeof(r.error); ++c) {
                    used += static_cast<size_t>(fmt::snprintf(r.error + used, sizeof(r.error) - used, " %s", *c));
                }
                return;
            }
        }
        if (option->apply) {
            if (const char* problem = option->apply(value)) {
                fmt::snprintf(r.error, sizeof(r.error), "option '--%s': %s", name, problem);
                return;
            }
        }
    }
    if (unterminated) {
        fmt::snprintf(r.error, sizeof(r.error), "unterminated quote in the command line");
        return;
    }
    r.ok = true;
}

void print_help(const OptionTable* tables, size_t table_count, int (*out)(const char* format, ...)) {
    bool any_hypervisor_word = false;
    for (size_t t = 0; t < table_count; ++t) {
        for (size_t i = 0; i < tables[t].count; ++i) {
            if (tables[t].options[i].hypervisor_word) any_hypervisor_word = true;
            else print_option(tables[t].options[i], out);
        }
    }
    if (!any_hypervisor_word) return;
    out("Words hypervisors append (accepted anywhere, never passed to the application):\n");
    for (size_t t = 0; t < table_count; ++t) {
        for (size_t i = 0; i < tables[t].count; ++i) {
            if (tables[t].options[i].hypervisor_word) print_option(tables[t].options[i], out);
        }
    }
}

}  // namespace mica::cmdline
