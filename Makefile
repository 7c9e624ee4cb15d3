# Thin front end for habits people already have (Linux-style). Everything real happens in
# CMake/Ninja inside the build directory O= (default: build). Examples:
#   make run                      build the default configuration and boot modules/hello in QEMU
#   make check                    build every configs/*_defconfig and run all tests
#   make microvm_defconfig        configure build/ from configs/microvm_defconfig
#   make O=build/dbg menuconfig   edit build/dbg/.config in a terminal menu
O ?= build
PYTHON := /usr/bin/python3
KCONFIG = $(PYTHON) tools/kconfig.py --config $(O)/.config
CONFIGS := $(patsubst configs/%_defconfig,%,$(wildcard configs/*_defconfig))
CHECK_DIR ?= build/check
space := $(subst ,, )
JOBS ?= $(shell nproc)

.PHONY: all deps configure run check menuconfig defconfig olddefconfig alldefconfig \
        savedefconfig listnewconfig clean distclean help

all: configure
	ninja -C $(O)

deps:
	@tools/install-deps

# Configures O= on first use (default configuration when there is no .config yet). The
# toolchain follows CONFIG_ARCH and is fixed when CMake first runs, so a .config for another
# architecture than the one O= was set up for starts CMake afresh there.
configure: deps
	@test -f $(O)/.config || $(KCONFIG) defconfig configs/x86_64_defconfig
	@built=$$(sed -n 's/^MICA_BUILT_ARCH:INTERNAL=//p' $(O)/CMakeCache.txt 2>/dev/null); \
	 want=$$(sed -n 's/^CONFIG_ARCH="\(.*\)"/\1/p' $(O)/.config); \
	 if [ -n "$$built" ] && [ "$$built" != "$$want" ]; then \
	   echo "$(O) was set up for $$built; .config is $$want: reconfiguring"; \
	   rm -rf $(O)/CMakeCache.txt $(O)/CMakeFiles $(O)/build.ninja; \
	 fi
	@test -f $(O)/build.ninja || cmake -S . -B $(O) -G Ninja

defconfig: x86_64_defconfig

%_defconfig: deps
	@test -f configs/$@ || { echo "no such configuration: configs/$@ (have: $(CONFIGS))"; exit 1; }
	$(KCONFIG) defconfig configs/$@
	@$(MAKE) --no-print-directory configure

menuconfig: deps
	@test -f $(O)/.config || $(KCONFIG) defconfig configs/x86_64_defconfig
	$(KCONFIG) menuconfig

olddefconfig alldefconfig listnewconfig: deps
	$(KCONFIG) $@

savedefconfig: deps
	$(KCONFIG) savedefconfig $(O)/defconfig

# Boots the hello module (modules/hello, built by `all`) as the application; just the kernel
# when its compiler was missing.
run: all
	$(PYTHON) tools/run -O $(O) $(if $(wildcard $(O)/modules/hello/hello),--app $(O)/modules/hello/hello)

# The whole suite: every defconfig is built in $(CHECK_DIR)/<name>, then one ctest run covers
# the host unit tests and every configuration's boot tests.
check: deps
	@set -e; for c in $(CONFIGS); do \
	  mkdir -p $(CHECK_DIR)/$$c; \
	  $(PYTHON) tools/kconfig.py --config $(CHECK_DIR)/$$c/.config defconfig configs/$${c}_defconfig; \
	  test -f $(CHECK_DIR)/$$c/build.ninja || cmake -S . -B $(CHECK_DIR)/$$c -G Ninja >/dev/null; \
	  echo "== building $$c"; ninja -C $(CHECK_DIR)/$$c; \
	done
	cmake -S tests -B $(CHECK_DIR)/tests -G Ninja -DMICA_CHECK_DIR=$(abspath $(CHECK_DIR)) \
	  "-DMICA_CHECK_CONFIGS=$(subst $(space),;,$(strip $(CONFIGS)))" >/dev/null
	ninja -C $(CHECK_DIR)/tests
	cd $(CHECK_DIR)/tests && ctest --output-on-failure -j$(JOBS) --timeout 120

clean:
	@test ! -f $(O)/build.ninja || ninja -C $(O) clean

distclean:
	rm -rf build

help:
	@sed -n '1,8p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Configurations: $(CONFIGS)"
