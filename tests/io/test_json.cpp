// The JSON reader under the safetensors header (include/spore/io/json.hpp): values, escapes,
// strictness, and errors that give the byte offset.
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/io/json.hpp>

namespace json = spore::io::json;

TEST_CASE("json: values, escapes and strictness", "[io][json]") {
    const auto v = json::parse(
        R"( {"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}, "": {}} )");
    REQUIRE(v.type == json::kind::object);
    CHECK(v.keys == std::vector<std::string>{"a", "b", ""});
    const auto& a = *v.find("a");
    REQUIRE(a.items.size() == 6);
    CHECK(a.items[1].text == "-2.5e3");
    std::uint64_t n = 7;
    CHECK(a.items[2].to_u64(n));
    CHECK(n == 0);
    CHECK(!a.items[1].to_u64(n));
    CHECK(a.items[3].type == json::kind::boolean);
    CHECK(a.items[3].boolean);
    CHECK(a.items[5].type == json::kind::null);
    CHECK(v.find("b")->find("c")->text == "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(v.find("missing") == nullptr);
    CHECK(json::parse("18446744073709551615").to_u64(n));
    CHECK(n == UINT64_MAX);
    CHECK(!json::parse("18446744073709551616").to_u64(n));

    for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "'a'",
                            "\"abc", "\"\\x\"", "\"\\u12g4\"", "\"\\udc00\"", "[1] [2]", "{\"a\" 1}", "{1:2}",
                            "/* c */ 1", "NaN", "Infinity", "{\"a\":1,\"a\":2}"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(json::parse(bad), spore::json_error);
    }
    try {
        json::parse("[1, 2,, 3]");
        FAIL("no error");
    } catch (const spore::json_error& e) {
        CHECK(e.offset == 6);
        CHECK(std::string(e.what()) == "at byte 6: expected a value, found ','");
    }
    CHECK(json::quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
}
