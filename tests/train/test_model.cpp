#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

namespace nn = spore::nn;
namespace data = spore::data;
namespace train = spore::train;
using spore::shape;
using spore::tensor;

namespace {

struct Linear {  // 2x2 images -> 2 classes
    nn::Dense<4, 2> fc;
    auto construct(auto x) const { return fc(nn::flatten(x)); }
};

struct Mlp {  // 4x4 images -> 3 classes
    nn::Dense<16, 12> fc1;
    nn::Dense<12, 3> fc2;
    auto construct(auto x) const { return fc2(nn::relu(fc1(nn::flatten(x)))); }
};

// Class k: row k of the 4x4 image is bright (200..255), the rest dim (0..60); seeded.
data::image_set stripes(std::size_t count, std::uint64_t seed) {
    spore::random_engine rng(seed);
    data::labelled_images set;
    set.count = count;
    set.rows = set.cols = 4;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t label = rng.below(3);
        for (std::size_t y = 0; y < 4; ++y)
            for (std::size_t x = 0; x < 4; ++x)
                set.pixels.push_back(std::uint8_t(y == label ? 200 + rng.below(56) : rng.below(61)));
        set.labels.push_back(std::uint8_t(label));
    }
    return data::image_set(std::move(set), {.normalise = {0.3f, 0.4f}}, 3, "stripes");
}

// 2x2 images from (byte 0, byte 1, label); bytes 2 and 3 are zero.
data::image_set pairs(const std::vector<std::array<int, 3>>& items) {
    data::labelled_images set;
    set.count = items.size();
    set.rows = set.cols = 2;
    for (auto [a, b, label] : items) {
        set.pixels.insert(set.pixels.end(), {std::uint8_t(a), std::uint8_t(b), 0, 0});
        set.labels.push_back(std::uint8_t(label));
    }
    return data::image_set(std::move(set), {}, 2, "pairs");
}

// Logit c is byte c / 255.
void identity_classifier(Linear& net) {
    net.fc.weight.fill(0.0f);
    net.fc.bias.fill(0.0f);
    net.fc.weight(0, 0) = 1.0f;
    net.fc.weight(1, 1) = 1.0f;
}

double cross_entropy(double a, double b, int label) {
    const double top = std::max(a, b), lse = top + std::log(std::exp(a - top) + std::exp(b - top));
    return lse - (label == 0 ? a : b);
}

// The same loss under another name: the Model may not assume it weights rows.
struct OpaqueLoss {
    template <class L, class T>
    auto operator()(L&& logits, T&& targets) const {
        return nn::SoftmaxCrossEntropy{}(std::forward<L>(logits), std::forward<T>(targets));
    }
};

std::string contents(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string text;
    for (int c; (c = std::fgetc(f)) != EOF;) text += char(c);
    return text;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("Model: trains a small generated set, the loss falls and the test set is learnt", "[train][model]") {
    const auto train_set = stripes(123, 1), test_set = stripes(40, 2);  // 123 = 15 batches of 8 and one of 3
    Mlp net;
    spore::init(net, 3);
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{.lr = 0.05f, .momentum = 0.9f},
                              spore::batch<8>, spore::input_shape<1, 4, 4>);
    static_assert(decltype(model)::classes == 3);
    CHECK(model.summary().find("Input shape: [8, 1, 4, 4]\n") != std::string::npos);
    CHECK(model.summary().find("Total params: 243\n") != std::string::npos);
    std::FILE* log = std::tmpfile();
    model.options().out = log;
    const train::metrics before = model.evaluate(test_set);
    CHECK(before.count == 40);
    CHECK(before.loss > 0.5);
    const auto history = model.fit(8, train_set, test_set);
    REQUIRE(history.size() == 8);
    INFO("train loss: first epoch " << history.front().train_loss << ", last " << history.back().train_loss);
    CHECK(history.front().images == 123);  // the partial batch is trained
    CHECK(history.back().train_loss < 0.05);
    CHECK(history.back().train_loss < history.front().train_loss);
    CHECK(history.back().test_accuracy == 1.0);
    CHECK(history.back().test_loss < 0.05);
    const train::metrics after = model.evaluate(test_set);
    CHECK(after.accuracy == history.back().test_accuracy);
    CHECK(after.loss == Approx(history.back().test_loss));
    // not a terminal: one plain line per epoch
    const std::string text = contents(log);
    CHECK(occurrences(text, "\n") == 8);
    CHECK(text.find("epoch 8/8: train loss ") != std::string::npos);
    CHECK(text.find("; test loss ") != std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    std::fclose(log);
}

TEST_CASE("Model: evaluation on a hand-made case, with a partial last batch", "[train][model]") {
    // logits (a / 255, b / 255): rows 0, 1 and 4 are right, 2 and 3 wrong
    const auto set = pairs({{255, 0, 0}, {0, 255, 1}, {255, 0, 1}, {0, 255, 0}, {128, 0, 0}});
    double expected_loss = 0;
    for (auto [a, b, label] : std::vector<std::array<int, 3>>{{255, 0, 0}, {0, 255, 1}, {255, 0, 1}, {0, 255, 0}, {128, 0, 0}})
        expected_loss += cross_entropy(a / 255.0, b / 255.0, label) / 5;
    Linear net;
    identity_classifier(net);
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<4>,
                              spore::input_shape<1, 2, 2>);
    const train::metrics m = model.evaluate(set);
    CHECK(m.count == 5);
    CHECK(m.accuracy == Approx(0.6));
    CHECK(m.loss == Approx(expected_loss).epsilon(1e-6));

    // A loss the Model cannot weight by rows: the loss over full batches only, accuracy over all.
    Linear same;
    identity_classifier(same);
    auto opaque = spore::Model(same, OpaqueLoss{}, spore::optim::Momentum{}, spore::batch<4>, spore::input_shape<1, 2, 2>);
    const train::metrics o = opaque.evaluate(set);
    double four = 0;
    for (auto [a, b, label] : std::vector<std::array<int, 3>>{{255, 0, 0}, {0, 255, 1}, {255, 0, 1}, {0, 255, 0}})
        four += cross_entropy(a / 255.0, b / 255.0, label) / 4;
    CHECK(o.accuracy == Approx(0.6));
    CHECK(o.loss == Approx(four).epsilon(1e-6));
}

TEST_CASE("Model: a partial batch is trained as the mean over its real rows", "[train][model]") {
    // One step of plain SGD on 3 images with batch 4 must move the weights by -lr times the
    // gradient of the mean loss over those 3 images, computed here with a batch-3 program.
    const std::vector<std::array<int, 3>> items{{200, 10, 0}, {30, 90, 1}, {120, 250, 0}};
    const auto set = pairs(items);
    Linear net, reference;
    spore::init(net, 5);
    spore::init(reference, 5);
    const float lr = 0.5f;
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{.lr = lr, .momentum = 0.0f},
                              spore::batch<4>, spore::input_shape<1, 2, 2>);
    model.options().progress = train::progress_mode::silent;
    const auto history = model.train(1, set);
    CHECK(history[0].images == 3);

    tensor<float, shape<3, 1, 2, 2>> x;
    tensor<float, shape<3, 2>> y;
    for (std::size_t i = 0; i < 3; ++i) {
        x(i, 0, 0, 0) = float(items[i][0]) / 255.0f;
        x(i, 0, 0, 1) = float(items[i][1]) / 255.0f;
        y(i, std::size_t(items[i][2])) = 1.0f;
    }
    auto loss = nn::SoftmaxCrossEntropy{}(reference.construct(spore::input(x)), y);
    auto [value, dw, db] = spore::value_and_grad(loss, reference.fc.weight, reference.fc.bias);
    CHECK(history[0].train_loss == Approx(value).epsilon(1e-6));
    for (std::size_t i = 0; i < 8; ++i) CHECK(net.fc.weight[i] == Approx(reference.fc.weight[i] - lr * dw[i]).epsilon(1e-6));
    for (std::size_t i = 0; i < 2; ++i) CHECK(net.fc.bias[i] == Approx(reference.fc.bias[i] - lr * db[i]).epsilon(1e-6));
}

namespace {
struct poison_at {  // sets a weight to NaN after step `step` of epoch `epoch`
    Linear* net;
    int epoch;
    std::size_t step;
    void on_step(const train::step_info& s) const {
        if (s.epoch == epoch && s.step == step) net->fc.weight[0] = std::nanf("");
    }
};
struct halve_after_first {
    float lr_at(float base, int epoch) const { return epoch == 0 ? base : base / 2; }
};
struct recorder {
    std::vector<std::size_t> rows;
    std::vector<float> lrs;
    int begun = 0, ended = 0;
    void on_train_begin(const train::run_info& run) { begun = run.epochs; }
    void on_step(const train::step_info& s) { rows.push_back(s.rows); }
    void on_epoch_end(const train::epoch_info& e) { lrs.push_back(e.lr); }
    void on_train_end(const train::history& h) { ended = int(h.size()); }
};
}  // namespace

TEST_CASE("Model: a loss that becomes NaN stops training, naming the epoch and step", "[train][model]") {
    const auto set = pairs({{255, 0, 0}, {0, 255, 1}, {255, 0, 1}, {0, 255, 0}, {128, 0, 0}, {3, 4, 1}, {9, 9, 0}});
    Linear net;
    spore::init(net, 1);
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<3>,
                              spore::input_shape<1, 2, 2>);
    model.options().progress = train::progress_mode::silent;
    try {
        model.train(3, set, poison_at{&net, 2, 1});
        FAIL("training went on");
    } catch (const spore::error& e) {
        CHECK(std::string(e.what()) ==
              "spore::Model::train: the loss became NaN at epoch 2, step 2 of 3; training stopped (a smaller "
              "learning rate may help)");
    }
}

TEST_CASE("Model: callbacks see every step and epoch, schedules set the learning rate", "[train][model]") {
    const auto set = pairs({{255, 0, 0}, {0, 255, 1}, {255, 0, 1}, {0, 255, 0}, {128, 0, 0}});
    Linear net;
    spore::init(net, 1);
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{.lr = 0.2f}, spore::batch<2>,
                              spore::input_shape<1, 2, 2>);
    std::FILE* log = std::tmpfile();
    model.options().out = log;
    model.options().progress = train::progress_mode::bar;
    recorder seen;
    std::FILE* monitor = std::tmpfile();
    const auto history = model.train(3, set, seen, halve_after_first{}, train::LossMonitor{.every = 2, .out = monitor});
    CHECK(seen.begun == 3);
    CHECK(seen.ended == 3);
    CHECK(seen.rows == std::vector<std::size_t>{2, 2, 1, 2, 2, 1, 2, 2, 1});
    CHECK(seen.lrs == std::vector<float>{0.2f, 0.1f, 0.1f});
    CHECK(model.lr() == 0.1f);
    CHECK(history[2].lr == 0.1f);
    const std::string monitored = contents(monitor);
    CHECK(occurrences(monitored, "\n") == 3);
    CHECK(monitored.find("epoch 3, step 2/3: loss ") != std::string::npos);
    // the bar: redrawn in place, then the epoch's line
    const std::string bar = contents(log);
    CHECK(bar.find("\repoch 1/3 [########################] 100%  loss ") != std::string::npos);
    CHECK(bar.find("\repoch 3/3: train loss ") != std::string::npos);
    CHECK(occurrences(bar, "\n") == 3);
    std::fclose(log);
    std::fclose(monitor);
}

namespace {
// The second of two processes: it trains on the second half of each epoch's order and
// neither prints nor writes.
struct second_of_two : train::single_process {
    std::size_t* hooks;
    std::size_t* summed;
    spore::data::shard shard() const { return {1, 2}; }
    bool reporting() const { return false; }
    template <class G>
    void after_backward(G& gradients, std::size_t, float&) {
        ++*hooks;
        std::get<0>(gradients).fill(0.0f);  // the hook may change the gradients: here it freezes the weights
    }
    void sum(std::span<double> values) {
        ++*summed;
        for (double& v : values) v *= 2;  // as if the other process had the same totals
    }
};
}  // namespace

TEST_CASE("Model: the distribution policy shards the epoch, reduces gradients and silences output", "[train][model]") {
    const auto set = stripes(21, 4);  // halves of 10 and 11: 3 steps of 4 on every process
    Mlp net;
    spore::init(net, 2);
    const auto weight(net.fc1.weight);
    const auto other(net.fc2.weight);
    std::size_t hooks = 0, summed = 0;
    std::FILE* log = std::tmpfile();
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<4>,
                              spore::input_shape<1, 4, 4>, second_of_two{{}, &hooks, &summed});
    model.options().out = log;
    recorder seen;
    const auto history = model.train(2, set, seen);
    CHECK(hooks == 6);
    CHECK(summed == 2);
    CHECK(seen.rows == std::vector<std::size_t>{4, 4, 3, 4, 4, 3});
    CHECK(history[0].images == 22);  // 11 here, doubled by sum()
    CHECK(!history[0].reporting);
    CHECK(spore::max_abs_diff(weight, net.fc1.weight) == 0.0);
    CHECK(spore::max_abs_diff(other, net.fc2.weight) > 0.0);
    CHECK(contents(log).empty());
    std::fclose(log);
}

TEST_CASE("Model: sets that do not fit the model are errors", "[train][model]") {
    const auto set = stripes(10, 1);
    Linear net;
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<4>,
                              spore::input_shape<1, 2, 2>);
    try {
        model.train(1, set);
        FAIL("no error");
    } catch (const spore::error& e) {
        CHECK(std::string(e.what()) ==
              "stripes: train: the model takes images of 1x2x2, the set has 1x4x4 (padding 0)");
    }
    const auto three = data::image_set(data::labelled_images{.count = 1, .rows = 2, .cols = 2, .pixels = {0, 0, 0, 0}, .labels = {2}},
                                       {}, 3, "three");
    try {
        model.evaluate(three);
        FAIL("no error");
    } catch (const spore::error& e) {
        CHECK(std::string(e.what()) == "three: evaluate: the set has 3 classes, the net's logits 2");
    }
    model.options().drop_last = true;
    try {
        model.train(1, pairs({{1, 2, 0}}));
        FAIL("no error");
    } catch (const spore::error& e) {
        CHECK(std::string(e.what()) == "spore::Model::train: pairs holds 1 images, less than a batch of 4 per process");
    }
}
