// tools/kconfig.py (Kconfig → generated files) on a fixture Kconfig tree.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <utime.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct ToolRun {
    int status;
    std::string output;
};

class Kconfig : public ::testing::Test {
protected:
    Kconfig() {
        dir = fs::temp_directory_path() / ("mica-kconfig-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~Kconfig() override { fs::remove_all(dir); }

    ToolRun tool(const std::string& args) {
        std::string cmd = std::string(MICA_PYTHON) + " " + MICA_SOURCE_DIR + "/tools/kconfig.py --kconfig " +
                          MICA_FIXTURES + "/Kconfig --config " + (dir / ".config").string() + " " + args + " 2>&1";
        ToolRun r{0, ""};
        FILE* p = popen(cmd.c_str(), "r");
        std::array<char, 512> buf;
        while (fgets(buf.data(), buf.size(), p)) r.output += buf.data();
        r.status = pclose(p);
        return r;
    }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
    std::string read(const fs::path& p) {
        std::ifstream f(p);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }
    fs::path dir;
};

TEST_F(Kconfig, GeneratesHeadersAndCMake) {
    write("test_defconfig", "CONFIG_NAME=\"hello\"\nCONFIG_COUNT=7\nCONFIG_EXTRA=y\n");
    ASSERT_EQ(tool("defconfig " + (dir / "test_defconfig").string()).status, 0);
    auto r = tool("genconfig " + (dir / "gen").string());
    ASSERT_EQ(r.status, 0) << r.output;
    std::string h = read(dir / "gen/mica/config.h");
    EXPECT_NE(h.find("#define CONFIG_FEATURE 1\n"), std::string::npos) << h;
    EXPECT_NE(h.find("#define CONFIG_EXTRA 1\n"), std::string::npos);
    EXPECT_NE(h.find("#define CONFIG_NAME \"hello\"\n"), std::string::npos);
    EXPECT_NE(h.find("#define CONFIG_COUNT 7\n"), std::string::npos);
    EXPECT_NE(h.find("#define CONFIG_FLAVOUR_B 0\n"), std::string::npos);
    std::string d = read(dir / "gen/mica/driver-config.h");
    EXPECT_NE(d.find("#define CONF_drivers_uart 1\n"), std::string::npos) << d;
    EXPECT_NE(d.find("#define CONF_drivers_net 0\n"), std::string::npos);
    EXPECT_EQ(d.find("CONFIG_FEATURE"), std::string::npos);  // drivers only
    std::string c = read(dir / "gen/config.cmake");
    EXPECT_NE(c.find("set(CONFIG_FEATURE ON)\n"), std::string::npos) << c;
    EXPECT_NE(c.find("set(CONFIG_FLAVOUR_B OFF)\n"), std::string::npos);
    EXPECT_NE(c.find("set(CONFIG_NAME \"hello\")\n"), std::string::npos);
    EXPECT_NE(read(dir / "gen/kconfig-files.txt").find("fixtures/Kconfig"), std::string::npos);
}

TEST_F(Kconfig, ChangingTheChoiceChangesDriverConfig) {
    write("a_defconfig", "");
    write("b_defconfig", "CONFIG_FLAVOUR_B=y\n");
    ASSERT_EQ(tool("defconfig " + (dir / "a_defconfig").string()).status, 0);
    ASSERT_EQ(tool("genconfig " + (dir / "gen").string()).status, 0);
    std::string a = read(dir / "gen/mica/driver-config.h");
    ASSERT_EQ(tool("defconfig " + (dir / "b_defconfig").string()).status, 0);
    ASSERT_EQ(tool("genconfig " + (dir / "gen").string()).status, 0);
    std::string b = read(dir / "gen/mica/driver-config.h");
    EXPECT_NE(a.find("CONF_drivers_uart 1"), std::string::npos);
    EXPECT_NE(b.find("CONF_drivers_uart 0"), std::string::npos);
    EXPECT_NE(b.find("CONF_drivers_net 1"), std::string::npos);
}

TEST_F(Kconfig, UnchangedOutputsAreNotRewritten) {
    write("d", "");
    ASSERT_EQ(tool("defconfig " + (dir / "d").string()).status, 0);
    ASSERT_EQ(tool("genconfig " + (dir / "gen").string()).status, 0);
    auto header = dir / "gen/mica/config.h";
    utimbuf old{1000000000, 1000000000};
    ASSERT_EQ(utime(header.c_str(), &old), 0);
    ASSERT_EQ(tool("genconfig " + (dir / "gen").string()).status, 0);
    struct stat st;
    ASSERT_EQ(stat(header.c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, 1000000000);  // same content: file left alone, nothing rebuilds
    // A real change rewrites it.
    write("d4", "CONFIG_COUNT=4\n");
    ASSERT_EQ(tool("defconfig " + (dir / "d4").string()).status, 0);
    ASSERT_EQ(tool("genconfig " + (dir / "gen").string()).status, 0);
    ASSERT_EQ(stat(header.c_str(), &st), 0);
    EXPECT_NE(st.st_mtime, 1000000000);
}

TEST_F(Kconfig, MalformedConfigIsAnErrorNamingTheProblem) {
    write(".config", "CONFIG_FEATURE=y\nthis is not a config line\nCONFIG_COUNT=99\n");
    auto r = tool("genconfig " + (dir / "gen").string());
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("is not a valid configuration"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("malformed"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "gen/mica/config.h"));
}

TEST_F(Kconfig, UnknownSymbolsAndUnhonouredAssignmentsAreErrors) {
    write("unknown_defconfig", "CONFIG_NO_SUCH_THING=y\n");
    auto r = tool("defconfig " + (dir / "unknown_defconfig").string());
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("NO_SUCH_THING"), std::string::npos) << r.output;

    write("dep_defconfig", "# CONFIG_FEATURE is not set\nCONFIG_EXTRA=y\n");
    r = tool("defconfig " + (dir / "dep_defconfig").string());
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("CONFIG_EXTRA=y was requested but is n"), std::string::npos) << r.output;

    r = tool("genconfig " + (dir / "gen").string());  // no .config was written
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("no such file"), std::string::npos) << r.output;
}

TEST_F(Kconfig, SavedefconfigWritesOnlyDifferences) {
    write("d", "CONFIG_COUNT=5\n");
    ASSERT_EQ(tool("defconfig " + (dir / "d").string()).status, 0);
    ASSERT_EQ(tool("savedefconfig " + (dir / "min").string()).status, 0);
    EXPECT_EQ(read(dir / "min"), "CONFIG_COUNT=5\n");
}

}  // namespace
