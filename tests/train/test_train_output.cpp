#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/train/callbacks.hpp>
#include <spore/train/svg_chart.hpp>

namespace fs = std::filesystem;
namespace train = spore::train;

namespace {

std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("spore_output_" + std::to_string(::getpid()) + "_" + name)).string();
}
std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

train::history three_epochs(bool tested) {
    train::history h;
    const double train_loss[] = {0.9, 0.5, 0.41234567}, test_loss[] = {0.7, 0.6, 0.55}, accuracy[] = {0.75, 0.8, 0.8125};
    for (int i = 0; i < 3; ++i) {
        train::epoch_info e;
        e.epoch = i + 1;
        e.epochs = 3;
        e.train_loss = train_loss[i];
        e.images_per_second = 1000.25 * (i + 1);
        e.lr = i < 2 ? 0.01f : 0.001f;
        e.tested = tested;
        if (tested) {
            e.test_loss = test_loss[i];
            e.test_accuracy = accuracy[i];
        }
        h.push_back(e);
    }
    return h;
}

// A strict little well-formedness check: balanced, properly nested tags, quoted attributes,
// and no bare '<' or '&' in text. Returns "" or the first problem.
std::string xml_problem(const std::string& x) {
    std::vector<std::string> open;
    std::size_t i = 0;
    if (x.rfind("<?xml", 0) == 0) i = x.find("?>") + 2;
    while (i < x.size()) {
        if (x[i] == '&') {
            const auto end = x.find(';', i);
            const std::string entity = x.substr(i, end == std::string::npos ? 1 : end - i + 1);
            if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;")
                return "bad entity at " + std::to_string(i);
            i = end + 1;
        } else if (x[i] == '<') {
            const auto end = x.find('>', i);
            if (end == std::string::npos) return "unclosed tag";
            std::string tag = x.substr(i + 1, end - i - 1);
            if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(i);
            if (std::count(tag.begin(), tag.end(), '"') % 2) return "unbalanced quotes in <" + tag + ">";
            if (tag[0] == '/') {
                if (open.empty() || open.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
                open.pop_back();
            } else if (tag.back() != '/') {
                open.push_back(tag.substr(0, tag.find_first_of(" \n")));
            }
            i = end + 1;
        } else if (x[i] == '>') {
            return "bare '>' at " + std::to_string(i);
        } else {
            ++i;
        }
    }
    return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("CsvLogger: a header and one row per epoch, the whole file written atomically as it goes", "[train][csv]") {
    const std::string path = temp_path("log.csv");
    {
        train::CsvLogger csv(path);
        csv.on_train_begin({.epochs = 3});
        const auto h = three_epochs(true);
        csv.on_epoch_end(h[0]);
        CHECK(read(path) == "epoch,train_loss,test_loss,test_accuracy,images_per_second,lr\n1,0.9,0.7,0.75,1000.2,0.01\n");
        csv.on_epoch_end(h[1]);
        csv.on_epoch_end(h[2]);
        csv.on_train_end(h);
    }
    CHECK(read(path) ==
          "epoch,train_loss,test_loss,test_accuracy,images_per_second,lr\n"
          "1,0.9,0.7,0.75,1000.2,0.01\n"
          "2,0.5,0.6,0.8,2000.5,0.01\n"
          "3,0.412346,0.55,0.8125,3000.8,0.001\n");
    {
        train::CsvLogger csv(path);  // without a test set the test columns stay empty
        csv.on_train_begin({.epochs = 1});
        csv.on_epoch_end(three_epochs(false)[0]);
    }
    CHECK(read(path) == "epoch,train_loss,test_loss,test_accuracy,images_per_second,lr\n1,0.9,,,1000.2,0.01\n");
    {
        train::CsvLogger csv(path);  // not the reporting process: nothing is written
        csv.on_train_begin({.epochs = 1, .reporting = false});
    }
    CHECK(read(path).find("1,0.9,,,") != std::string::npos);
    fs::remove(path);
    train::CsvLogger bad("/nonexistent/dir/log.csv");
    try {
        bad.on_train_begin({.epochs = 1});
        FAIL("no error");
    } catch (const spore::error& e) {
        CHECK_THAT(e.what(), Catch::StartsWith("spore::train::CsvLogger: /nonexistent/dir/log.csv: cannot create the temporary "
                                               "file /nonexistent/dir/.log.csv.tmp-") &&
                                 Catch::EndsWith("(No such file or directory)"));
    }
}

TEST_CASE("SVG chart: two panels with axes, labels, legends and a line per series, well-formed XML", "[train][svg]") {
    const std::string svg = train::training_chart(three_epochs(true), "LeNet-5 <Fashion-MNIST> & co");
    INFO(svg);
    CHECK(xml_problem(svg).empty());
    CHECK(xml_problem("<svg><g></svg>") == "mismatched </svg>");  // the checker itself can fail
    CHECK(count(svg, "class=\"series\"") == 3);
    CHECK(count(svg, "class=\"axes\"") == 2);
    CHECK(count(svg, "<circle ") == 9);
    CHECK(svg.find(">train loss</text>") != std::string::npos);
    CHECK(svg.find(">test loss</text>") != std::string::npos);
    CHECK(svg.find(">test accuracy</text>") != std::string::npos);
    CHECK(svg.find(">epoch</text>") != std::string::npos);
    CHECK(svg.find(">accuracy</text>") != std::string::npos);
    CHECK(svg.find("LeNet-5 &lt;Fashion-MNIST&gt; &amp; co") != std::string::npos);
    const std::string train_only = train::training_chart(three_epochs(false));
    CHECK(xml_problem(train_only).empty());
    CHECK(count(train_only, "class=\"series\"") == 1);
    const std::string single = train::training_chart({three_epochs(true)[0]});  // one epoch, flat lines
    CHECK(xml_problem(single).empty());
    CHECK(single.find("nan") == std::string::npos);
    CHECK(single.find("inf") == std::string::npos);

    train::history long_run;  // 300 epochs: long point lists are written whole
    for (int i = 0; i < 300; ++i) long_run.push_back(three_epochs(true)[std::size_t(i % 3)]);
    const std::string many = train::training_chart(long_run, std::string(600, 'x'));
    CHECK(xml_problem(many).empty());
    CHECK(count(many, "<circle ") == 900);
    CHECK(many.find(std::string(600, 'x')) != std::string::npos);
    const auto points = many.find("points=\"", many.find("class=\"axes\"") + 1);
    CHECK(count(many.substr(points, many.find('"', points + 8) - points), ",") == 300);

    const std::string path = temp_path("chart.svg");
    train::SvgChartWriter writer{path};
    for (const auto& e : three_epochs(true)) writer.on_epoch_end(e);
    CHECK(read(path) == train::training_chart(three_epochs(true)));
    if (std::system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1") != 0) {
        WARN("python3 is missing; the chart was checked by the C++ checker only");
    } else {
        const std::string check =
            "python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
            "ns = '{http://www.w3.org/2000/svg}'; "
            "assert r.tag == ns + 'svg', r.tag; "
            "lines = [p for p in r.iter(ns + 'polyline') if p.get('class') == 'series']; "
            "assert len(lines) == 3, len(lines); "
            "assert all(len(p.get('points').split()) == 3 for p in lines); "
            "assert len(r.findall(ns + 'g')) == 2\" " + path;
        CHECK(std::system(check.c_str()) == 0);
    }
    fs::remove(path);
}
