// libFuzzer harness: the JSON reader under safetensors headers (include/spore/io/json.hpp).
// json::parse (the tree) and json::reader::skip (the pull reader keeping nothing) must agree on
// every input: both accept it, or both throw json_error at the same byte. Nothing else may be
// thrown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <spore/io/json.hpp>

#include "fuzz_support.hpp"

namespace json = spore::io::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    bool tree_ok = true, pull_ok = true;
    std::size_t tree_at = 0, pull_at = 0;
    std::size_t members = 0;
    try {
        const json::value v = json::parse(text);
        members = v.items.size();
    } catch (const spore::json_error& e) {
        tree_ok = false;
        tree_at = e.offset;
    }
    try {
        json::reader r(text);
        r.skip();
        r.finish();
    } catch (const spore::json_error& e) {
        pull_ok = false;
        pull_at = e.offset;
    }
    spore_fuzz::require(tree_ok == pull_ok, "parse and reader::skip disagree on validity");
    spore_fuzz::require(tree_at == pull_at, "parse and reader::skip disagree on the error's offset");
    spore_fuzz::require(tree_at <= size, "an error offset past the end");
    if (tree_ok) {  // a valid document is valid UTF-8, so quoted as a string it is valid too
        const json::value quoted = json::parse(json::quote(text));
        spore_fuzz::require(quoted.type == json::kind::string && quoted.text == text, "quote() did not round-trip");
    }
    (void)members;
    return 0;
}
