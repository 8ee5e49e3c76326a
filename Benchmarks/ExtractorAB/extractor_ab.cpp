// extractor_ab.cpp: two builds of the JSON extractor (Sources/CSimdjson) timed in one
// process, on the same lines, in alternating rounds.
//
// Why in one process: on the 2-vCPU VMs this project is measured on, two runs of one binary
// differ by several per cent from run to run (the host's load comes and goes), which hides a
// change of a few per cent in one component. Here both builds parse every line of the input
// once per round, the order alternating, so a slow phase of the machine slows both; the ratio
// of their total times is what the tool reports. Each build is a shared object made from one
// version of runnel_simdjson.cpp (run.sh builds them) and loaded with RTLD_LOCAL, so their
// identical C symbols do not clash.
//
// Usage: extractor-ab BASE.so NEW.so INPUT.ndjson ROUNDS
// Prints the seconds each build took over all rounds and NEW ÷ BASE. Fails (exit 1) if the
// two builds give any line a different status or different slots: it compares speed only
// between builds that give the same answers.
#include "runnel_simdjson.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using CreateParser = runnel_json_parser *(*)(void);
using CreateKeyset = runnel_json_keyset *(*)(const char *const *, size_t);
using Extract = runnel_json_status (*)(runnel_json_parser *, const char *, size_t, const runnel_json_keyset *,
                                       runnel_json_slot *);

// The keys the creator events decoder asks for (CreatorEventDecoder.keySet), in its order.
const char *const kKeys[] = {"event_id",      "event_name", "timestamp", "user_id",           "session_id", "post_id",
                             "creator_id",    "subscriber_id", "comment_id", "amount",        "currency",
                             "subscription_type", "role",    "device_type", "platform",        "referrer"};
constexpr size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

struct Build {
    const char *path;
    CreateParser createParser;
    CreateKeyset createKeyset;
    Extract extract;
    runnel_json_parser *parser;
    runnel_json_keyset *keyset;
};

bool load(Build &build) {
    void *handle = dlopen(build.path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "cannot load %s: %s\n", build.path, dlerror());
        return false;
    }
    build.createParser = reinterpret_cast<CreateParser>(dlsym(handle, "runnel_json_parser_create"));
    build.createKeyset = reinterpret_cast<CreateKeyset>(dlsym(handle, "runnel_json_keyset_create"));
    build.extract = reinterpret_cast<Extract>(dlsym(handle, "runnel_json_extract"));
    if (!build.createParser || !build.createKeyset || !build.extract) {
        std::fprintf(stderr, "%s lacks the extractor's C API\n", build.path);
        return false;
    }
    build.parser = build.createParser();
    build.keyset = build.createKeyset(kKeys, kKeyCount);
    return build.parser != nullptr && build.keyset != nullptr;
}

// A slot's answer as text, to compare the two builds' answers.
std::string describe(const runnel_json_slot &slot) {
    switch (slot.kind) {
    case RUNNEL_JSON_KIND_STRING: return "s:" + std::string(slot.str, slot.str_len);
    case RUNNEL_JSON_KIND_INTEGER: return "i:" + std::to_string(slot.i);
    case RUNNEL_JSON_KIND_NUMBER: {
        // By bit pattern: a double that differs in its last bit is a different answer.
        uint64_t bits;
        std::memcpy(&bits, &slot.d, sizeof bits);
        return "d:" + std::to_string(bits);
    }
    case RUNNEL_JSON_KIND_BOOL: return slot.b ? "true" : "false";
    default: return "k:" + std::to_string(int(slot.kind));
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s BASE.so NEW.so INPUT.ndjson ROUNDS\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[3], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[3]);
        return 2;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Lines are parsed in place: the extractor needs RUNNEL_JSON_PADDING readable bytes after each.
    const size_t content = text.size();
    text.append(RUNNEL_JSON_PADDING, ' ');
    std::vector<std::pair<size_t, size_t>> lines;
    for (size_t start = 0, i = 0; i <= content; i++) {
        if (i == content || text[i] == '\n') {
            if (i > start) { lines.emplace_back(start, i - start); }
            start = i + 1;
        }
    }
    const int rounds = std::atoi(argv[4]);
    if (rounds < 1 || lines.empty()) {
        std::fprintf(stderr, "need at least one round and one line\n");
        return 2;
    }
    Build builds[2] = {{argv[1]}, {argv[2]}};
    for (Build &b : builds) {
        if (!load(b)) { return 1; }
    }

    // Same answers first (one pass each, not timed).
    runnel_json_slot slots[2][RUNNEL_JSON_MAX_KEYS];
    for (const auto &line : lines) {
        runnel_json_status status[2];
        for (int b = 0; b < 2; b++) {
            status[b] = builds[b].extract(builds[b].parser, text.data() + line.first, line.second, builds[b].keyset, slots[b]);
        }
        bool same = status[0] == status[1];
        for (size_t k = 0; same && status[0] == RUNNEL_JSON_OK && k < kKeyCount; k++) {
            same = describe(slots[0][k]) == describe(slots[1][k]);
        }
        if (!same) {
            std::fprintf(stderr, "the builds disagree on line at byte %zu: %.*s\n", line.first, int(line.second),
                         text.data() + line.first);
            return 1;
        }
    }

    double seconds[2] = {0, 0};
    size_t accepted[2] = {0, 0};
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < 2; j++) {
            const int b = (r + j) % 2; // alternate which build goes first
            const auto start = std::chrono::steady_clock::now();
            for (const auto &line : lines) {
                if (builds[b].extract(builds[b].parser, text.data() + line.first, line.second, builds[b].keyset, slots[b]) ==
                    RUNNEL_JSON_OK) {
                    accepted[b]++;
                }
            }
            seconds[b] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
    }
    std::printf("lines %zu, rounds %d, accepted %zu\n", lines.size(), rounds, accepted[0] / rounds);
    std::printf("base %.3f s (%.1f ns a line), new %.3f s (%.1f ns a line), new / base %.3f\n", seconds[0],
                1e9 * seconds[0] / (double(lines.size()) * rounds), seconds[1],
                1e9 * seconds[1] / (double(lines.size()) * rounds), seconds[1] / seconds[0]);
    return 0;
}
