// Civil date to Unix time (the RTC drivers' conversion), against dates whose Unix time is
// known, and against a day-by-day walk over 400 years (one whole Gregorian cycle).
#include <gtest/gtest.h>
#include <mica/clock.h>

using mica::clock::unix_seconds;

static_assert(unix_seconds(1970, 1, 1, 0, 0, 0) == 0);

TEST(Clock, KnownDates) {
    EXPECT_EQ(unix_seconds(2000, 3, 1, 0, 0, 0), 951868800);
    EXPECT_EQ(unix_seconds(2038, 1, 19, 3, 14, 7), 2147483647);
    EXPECT_EQ(unix_seconds(2026, 11, 25, 23, 41, 44), 1795650104);
    EXPECT_EQ(unix_seconds(1969, 12, 31, 23, 59, 59), -1);
    EXPECT_EQ(unix_seconds(2024, 2, 29, 12, 0, 0), 1709208000);
}

TEST(Clock, EveryDayOfAGregorianCycle) {
    auto leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
    const int lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t expected = unix_seconds(1970, 1, 1, 0, 0, 0);
    for (int y = 1970; y < 2370; ++y) {
        for (int m = 1; m <= 12; ++m) {
            int days = lengths[m - 1] + (m == 2 && leap(y));
            for (int d = 1; d <= days; ++d) {
                ASSERT_EQ(unix_seconds(y, m, d, 0, 0, 0), expected) << y << "-" << m << "-" << d;
                expected += 86400;
            }
        }
    }
}
