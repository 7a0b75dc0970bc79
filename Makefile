# The two set-up commands of the README:
#   make run   installs what is missing, builds (Release), starts torii in the foreground
#   make test  the same set-up, then every test (unit, integration, bounded fuzz run)
BUILD_DIR ?= build
FUZZ_DIR  ?= build-fuzz
JOBS      ?= $(shell nproc)
CONFIG    ?= conf/config.yaml
FUZZ_SECONDS ?= 60

# ccache needs a cache directory; give it one where HOME is unset.
ifeq ($(strip $(HOME)),)
export CCACHE_DIR ?= /var/tmp/torii-ccache
endif

.PHONY: all setup build run test unit integration fuzz-build bench clean

all: build

setup:
	@bash scripts/setup

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/torii run -c $(CONFIG)

test: build fuzz-build
	ctest --test-dir $(BUILD_DIR) -j $(JOBS) --output-on-failure --no-tests=error
	bash tests/fuzz/run $(FUZZ_DIR) $(FUZZ_SECONDS)

unit: build
	ctest --test-dir $(BUILD_DIR) -L unit -j $(JOBS) --output-on-failure

integration: build
	ctest --test-dir $(BUILD_DIR) -L integration -j $(JOBS) --output-on-failure

fuzz-build: setup
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTORII_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build $(FUZZ_DIR) -j $(JOBS)

bench: build
	bench/run

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
