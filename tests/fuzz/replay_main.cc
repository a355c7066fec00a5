// A main for fuzz targets built without libFuzzer (any compiler): runs
// LLVMFuzzerTestOneInput over every file named on the command line (a
// directory stands for the files in it), then over pseudo-random inputs, some
// made from scratch and some by mutating the seed files. A crash or abort in
// the target fails the test; so does an empty seed corpus, which would mean
// the runfiles are missing.
//
// Usage: replay_main [--random=N] [--seed=S] PATH...
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Input = std::vector<uint8_t>;

bool ReadFile(const std::filesystem::path& path, Input& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  out.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

// Collects the inputs at `path`: the file itself, or every regular file in
// the directory, in name order so runs are reproducible.
bool CollectSeeds(const std::filesystem::path& path, std::vector<Input>& seeds) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path, error)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      if (std::filesystem::is_regular_file(entry.path(), error)) files.push_back(entry.path());
    }
    if (error) {
      std::fprintf(stderr, "cannot list %s: %s\n", path.c_str(), error.message().c_str());
      return false;
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const auto& file : files) {
    Input input;
    if (!ReadFile(file, input)) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return false;
    }
    seeds.push_back(std::move(input));
  }
  return true;
}

Input Mutate(const Input& seed, std::mt19937_64& rng) {
  Input out = seed;
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 5) {
      case 0:  // flip a bit
        if (!out.empty()) out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // overwrite a byte
        if (!out.empty()) out[rng() % out.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:  // truncate
        if (!out.empty()) out.resize(rng() % out.size());
        break;
      case 3:  // append bytes
        for (int n = 1 + static_cast<int>(rng() % 8); n > 0; --n) {
          out.push_back(static_cast<uint8_t>(rng()));
        }
        break;
      default:  // set the 32-bit length field at offset 8 to the size
        if (out.size() >= 12) {
          const uint32_t length = static_cast<uint32_t>(out.size());
          std::memcpy(out.data() + 8, &length, sizeof(length));
        }
        break;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long random_inputs = 20000;
  uint64_t seed = 0x5eed5eed;
  std::vector<Input> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--random=", 0) == 0) {
      random_inputs = std::strtol(arg.c_str() + 9, nullptr, 10);
    } else if (arg.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 7, nullptr, 0);
    } else if (!CollectSeeds(arg, seeds)) {
      return 1;
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seed inputs found (is the corpus in the runfiles?)\n");
    return 1;
  }
  for (const Input& input : seeds) LLVMFuzzerTestOneInput(input.data(), input.size());

  std::mt19937_64 rng(seed);
  for (long i = 0; i < random_inputs; ++i) {
    Input input;
    if (rng() % 2 == 0) {
      input = Mutate(seeds[rng() % seeds.size()], rng);
    } else {
      input.resize(rng() % 96);
      for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("replayed %zu seed inputs and %ld random inputs\n", seeds.size(), random_inputs);
  return 0;
}
