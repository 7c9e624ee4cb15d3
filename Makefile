# Thin front end for habits people already have (Linux-style). Everything real happens in
# CMake/Ninja inside the build directory O= (default: build). Examples:
#   make run                      build the default configuration and boot its modules (hello) in QEMU
#   make O=DIR image              DIR/mica.img: the enabled modules as a squashfs image
#   make check                    build every configs/*_defconfig and run all tests
#   make fuzz                     build the fuzz targets and run each FUZZ_SECONDS (60)
#   make microvm_defconfig        configure build/ from configs/microvm_defconfig
#   make O=build/dbg menuconfig   edit build/dbg/.config in a terminal menu
O ?= build
PYTHON := /usr/bin/python3
KCONFIG = $(PYTHON) tools/kconfig.py --config $(O)/.config
CONFIGS := $(patsubst configs/%_defconfig,%,$(wildcard configs/*_defconfig))
CHECK_DIR ?= build/check
space := $(subst ,, )
JOBS ?= $(shell nproc)

.PHONY: all deps configure image run check fuzz menuconfig defconfig olddefconfig alldefconfig \
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

# `make image` writes $(O)/mica.img (squashfs) from the modules the configuration enables
# (modules/<name>/, docs/modules.md; the default configuration has modules/hello). `make run`
# boots it (tools/mkimage --boot): from disk with tools/run --root when the kernel can mount it
# (CONFIG_FS_SQUASHFS and CONFIG_DRIVER_VIRTIO_BLK), else its files as the boot archive $(O)/mica.cpio
# with the image's default command line. Both are the build directory's Ninja targets
# (`image` builds the modules, not the kernel).
image: configure
	ninja -C $(O) image

run: all
	$(PYTHON) tools/mkimage -O $(O) --boot

# libFuzzer targets (tests/fuzz): built with clang in $(FUZZ_DIR), each run for FUZZ_SECONDS
# after replaying its corpus; prints executions and findings per target (inputs that crash
# go to $(FUZZ_DIR)/work/findings). The corpus grows in $(FUZZ_DIR)/work/corpus across runs.
FUZZ_DIR ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CMAKE = cmake -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -S tests/fuzz
fuzz: deps
	@test -f $(FUZZ_DIR)/build.ninja || $(FUZZ_CMAKE) -B $(FUZZ_DIR) >/dev/null
	ninja -C $(FUZZ_DIR)
	$(PYTHON) tests/fuzz/run_fuzzers.py --build-dir $(FUZZ_DIR) --seconds $(FUZZ_SECONDS)

# The whole suite: every defconfig is built in $(CHECK_DIR)/<name> and the fuzz targets in
# $(CHECK_DIR)/fuzz, then one ctest run covers the host unit tests (also under ASan+UBSan),
# every configuration's boot tests, the apps and tools tests, and a short run of each fuzzer.
check: deps
	@test -f $(CHECK_DIR)/fuzz/build.ninja || $(FUZZ_CMAKE) -B $(CHECK_DIR)/fuzz >/dev/null
	ninja -C $(CHECK_DIR)/fuzz
	@set -e; for c in $(CONFIGS); do \
	  mkdir -p $(CHECK_DIR)/$$c; \
	  $(PYTHON) tools/kconfig.py --config $(CHECK_DIR)/$$c/.config defconfig configs/$${c}_defconfig; \
	  test -f $(CHECK_DIR)/$$c/build.ninja || cmake -S . -B $(CHECK_DIR)/$$c -G Ninja >/dev/null; \
	  echo "== building $$c"; ninja -C $(CHECK_DIR)/$$c; \
	done
	cmake -S tests -B $(CHECK_DIR)/tests -G Ninja -DMICA_CHECK_DIR=$(abspath $(CHECK_DIR)) \
	  -DMICA_FUZZ_DIR=$(abspath $(CHECK_DIR)/fuzz) \
	  "-DMICA_CHECK_CONFIGS=$(subst $(space),;,$(strip $(CONFIGS)))" >/dev/null
	ninja -C $(CHECK_DIR)/tests
	cd $(CHECK_DIR)/tests && ctest --output-on-failure -j$(JOBS) --timeout 120

clean:
	@test ! -f $(O)/build.ninja || ninja -C $(O) clean

distclean:
	rm -rf build

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Configurations: $(CONFIGS)"
