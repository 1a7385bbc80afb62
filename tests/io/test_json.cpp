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

TEST_CASE("json: duplicate keys are found by their values, escaped or not", "[io][json]") {
    for (const char* dup : {R"({"a":1,"\u0061":2})", "{\"\xc3\xa9\":1,\"\\u00e9\":2}", R"({"\ud83d\ude00":1,"x":0,"😀":2})",
                            R"({"a\/b":1,"a/b":2})", R"({"x":{"k":1,"k":2}})"}) {
        CAPTURE(dup);
        CHECK_THROWS_WITH(json::parse(dup), Catch::Contains("duplicate key"));
    }
    for (const char* fine : {R"({"a":1,"\u0062":2})", R"({"ab":1,"a":2,"\u0061b\u0063":3})", R"({"x":{"k":1},"y":{"k":2}})"})
        CHECK_NOTHROW(json::parse(fine));
    try {
        json::parse(R"({"b":1,"a":2,"\u0062":3})");
        FAIL("no error");
    } catch (const spore::json_error& e) {
        CHECK(e.offset == 13);  // the second "b", where it is written
        CHECK(std::string(e.what()) == "at byte 13: duplicate key \"b\"");
    }
}

TEST_CASE("json: the pull reader walks a document and skips what it does not keep", "[io][json]") {
    const std::string text = R"({"keep": [1, 2, 3], "drop": {"deep": [[{"x": null}], true, "s\n"]}, "last": "v"})";
    json::reader r(text);
    r.begin_object();
    std::string key;
    std::vector<std::string> seen;
    std::uint64_t sum = 0;
    while (r.next_member(key)) {
        seen.push_back(key);
        if (key == "keep") {
            r.begin_array();
            while (r.next_element()) {
                std::uint64_t n = 0;
                CHECK(json::to_u64(r.number_value(), n));
                sum += n;
            }
        } else if (key == "last") {
            CHECK(r.peek() == json::kind::string);
            CHECK(r.string_value() == "v");
        } else {
            r.skip();
        }
    }
    r.finish();
    CHECK(seen == std::vector<std::string>{"keep", "drop", "last"});
    CHECK(sum == 6);
    json::reader wrong(R"([1])");
    CHECK_THROWS_WITH(wrong.begin_object(), "at byte 0: expected an object, found '['");
    json::reader bad_skip(R"({"a": [1, 2,]})");
    CHECK_THROWS_WITH(bad_skip.skip(), Catch::Contains("expected a value, found ']'"));
}
