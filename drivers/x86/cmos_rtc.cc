// The PC's CMOS real-time clock (MC146818 at ports 0x70/0x71): read once at boot for the
// wall clock. Values may be BCD or binary and 12- or 24-hour, as status register B says;
// the read is repeated until two agree, so an update in between does not tear it.
#include <arch/arch.h>
#include <arch/x86_64/io.h>
#include <mica/clock.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t index_port = 0x70, data_port = 0x71;
constexpr uint8_t reg_seconds = 0x00, reg_minutes = 0x02, reg_hours = 0x04, reg_day = 0x07, reg_month = 0x08,
                  reg_year = 0x09, reg_status_a = 0x0a, reg_status_b = 0x0b, reg_century = 0x32;
constexpr uint8_t status_a_updating = 0x80, status_b_binary = 0x04, status_b_24h = 0x02, hour_pm = 0x80;

uint8_t read(uint8_t reg) {
    x86::outb(index_port, reg);
    return x86::inb(data_port);
}

struct Reading {
    uint8_t s, m, h, d, mo, y, c;
    bool operator==(const Reading&) const = default;
};

Reading read_all() {
    for (int i = 0; i < 100000 && (read(reg_status_a) & status_a_updating); ++i) arch::cpu_relax();
    return {read(reg_seconds), read(reg_minutes), read(reg_hours), read(reg_day),
            read(reg_month), read(reg_year), read(reg_century)};
}

bool init() {
    Reading r = read_all();
    for (int tries = 0; tries < 5; ++tries) {
        Reading again = read_all();
        if (again == r) break;
        r = again;
    }
    if (r.s == 0xff && r.mo == 0xff) return false;  // no RTC: the bus floats high
    uint8_t b = read(reg_status_b);
    bool pm = r.h & hour_pm;
    uint8_t h = r.h & ~hour_pm;
    auto bin = [&](uint8_t v) { return (b & status_b_binary) ? v : static_cast<uint8_t>((v >> 4) * 10 + (v & 15)); };
    int hour = bin(h);
    if (!(b & status_b_24h)) hour = hour % 12 + (pm ? 12 : 0);
    int century = r.c ? bin(r.c) : 20;
    if (century < 19 || century > 30) century = 20;  // register 0x32 absent or garbage
    int month = bin(r.mo), day = bin(r.d);
    if (month < 1 || month > 12 || day < 1 || day > 31) return false;
    clock::set_wall_clock(clock::unix_seconds(century * 100 + bin(r.y), month, day, hour, bin(r.m), bin(r.s)),
                          arch::cycles(), "cmos rtc");
    return true;
}
}  // namespace

extern const Driver cmos_rtc_driver{"cmos-rtc", Phase::bus, init};

}  // namespace mica::drivers
