// The optimisers (optim/: SGD, Momentum, Adam, AdamW, their states and the optimizer skeleton)
// against PyTorch: the expected parameters below were computed with
// tests/reference/optim_reference.py (python3-torch 1.13, float32), which runs the same five
// steps with the same gradient formulas, and printed with 9 significant digits.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "../support/check.hpp"

namespace optim = spore::optim;
using spore::shape;
using spore::tensor;

namespace {

struct two_parameters {
    tensor<float, shape<19>> a;
    tensor<float, shape<3>> b;
};

// Five steps of `settings` with the reference script's gradients; returns a then b.
template <class Settings>
std::vector<float> run(Settings settings) {
    two_parameters net;
    for (std::size_t i = 0; i < 19; ++i) net.a[i] = float(0.5 * std::sin(double(i + 1)));
    for (std::size_t i = 0; i < 3; ++i) net.b[i] = float(0.25 * std::cos(double(i)));
    auto state = optim::make_state(settings, spore::nn::parameters(net));
    std::tuple<tensor<float, shape<19>>, tensor<float, shape<3>>> gradients;
    for (int k = 0; k < 5; ++k) {
        for (std::size_t i = 0; i < 19; ++i)
            std::get<0>(gradients)[i] = std::cos(0.37f * float(i) + float(1.3 * k)) + 0.1f * net.a[i];
        for (std::size_t i = 0; i < 3; ++i)
            std::get<1>(gradients)[i] = std::sin(0.5f * float(i) - float(k)) - 0.2f * net.b[i];
        state.step(gradients);
    }
    std::vector<float> out(net.a.begin(), net.a.end());
    out.insert(out.end(), net.b.begin(), net.b.end());
    return out;
}

void check_against(const std::vector<float>& found, const std::array<float, 22>& torch) {
    REQUIRE(found.size() == torch.size());
    for (std::size_t i = 0; i < torch.size(); ++i) {
        INFO("element " << i);
        CHECK(found[i] == Approx(torch[i]).margin(2e-6));
    }
}

}  // namespace

TEST_CASE("SGD with weight decay matches torch.optim.SGD", "[optim]") {
    check_against(run(optim::SGD{.lr = 0.1f, .weight_decay = 0.01f}),
                  {0.385306776f, 0.413656801f, 0.0487320609f, -0.375134438f, -0.467505306f, -0.140904993f,
                   0.308410466f, 0.472286105f, 0.205254585f, -0.242425427f, -0.455498993f, -0.235993728f,
                   0.214484692f, 0.480079859f, 0.313249677f, -0.137190476f, -0.462269634f, -0.368169069f,
                   0.0543274395f, 0.39682278f, 0.276922852f, -0.0108853737f});
}

TEST_CASE("Momentum (and Nesterov) with weight decay match torch.optim.SGD", "[optim]") {
    check_against(run(optim::Momentum{.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f}),
                  {0.200190976f, 0.327444762f, 0.104127705f, -0.180812016f, -0.18638733f, 0.15623109f,
                   0.571811914f, 0.688726485f, 0.37920785f, -0.120436825f, -0.420553774f, -0.326952636f,
                   -0.00838137046f, 0.169811338f, -0.00861723628f, -0.404897362f, -0.64940995f, -0.482228458f,
                   0.00315459562f, 0.823687971f, 0.488565385f, -0.0810829401f});
    check_against(run(optim::Momentum{.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true}),
                  {0.200628594f, 0.308283657f, 0.0808368698f, -0.203081965f, -0.215338707f, 0.11093837f,
                   0.512351453f, 0.632448912f, 0.347739488f, -0.117001273f, -0.390382648f, -0.288289368f,
                   0.0259432234f, 0.201101094f, 0.0294298716f, -0.356034249f, -0.600420892f, -0.453357369f,
                   -0.00263387547f, 0.940593541f, 0.602411091f, -0.00584191689f});
}

TEST_CASE("Adam (coupled weight decay) matches torch.optim.Adam", "[optim]") {
    check_against(run(optim::Adam{.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f}),
                  {0.400150657f, 0.43850714f, 0.0645573586f, -0.373184264f, -0.449640989f, -0.111290649f,
                   0.352148414f, 0.513884723f, 0.223554716f, -0.255046457f, -0.486243963f, -0.263569266f,
                   0.20397988f, 0.464583635f, 0.295900136f, -0.167550102f, -0.49802494f, -0.389150858f,
                   0.0625661239f, 0.287214756f, 0.142491832f, -0.112381384f});
}

TEST_CASE("AdamW (decoupled weight decay) matches torch.optim.AdamW", "[optim]") {
    check_against(run(optim::AdamW{.lr = 0.01f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f}),
                  {0.402534902f, 0.440607399f, 0.0659705251f, -0.372934163f, -0.470077962f, -0.11323864f,
                   0.348884195f, 0.510273397f, 0.220458627f, -0.257402629f, -0.488154292f, -0.264597774f,
                   0.204322129f, 0.465532631f, 0.297914743f, -0.164359018f, -0.49451831f, -0.386182815f,
                   0.0647391304f, 0.28645578f, 0.144420177f, -0.109132856f});
}

TEST_CASE("Adam's first step moves every parameter by lr against the gradient's sign", "[optim]") {
    // m_hat = g and v_hat = g^2 after one step, so the update is lr * g / (|g| + eps).
    tensor<double, shape<37>> p, g;
    p.fill_uniform(1, -1, 1);
    g.fill_uniform(2, -3, 3);
    const tensor<double, shape<37>> before(p);
    auto state = optim::make_state(optim::Adam{.lr = 0.05f, .eps = 0.0f}, std::tie(p));
    state.step(std::tie(g));
    for (std::size_t i = 0; i < p.size(); ++i) CHECK(before[i] - p[i] == Approx(0.05 * (g[i] > 0 ? 1 : -1)).epsilon(1e-6));
    CHECK(state.steps() == 1);
}

TEST_CASE("optimiser states: lr() and set_lr(), settings kept", "[optim]") {
    two_parameters net;
    auto sgd = optim::make_state(optim::SGD{.lr = 0.5f}, spore::nn::parameters(net));
    auto momentum = optim::make_state(optim::Momentum{.lr = 0.25f}, spore::nn::parameters(net));
    auto adam = optim::make_state(optim::Adam{}, spore::nn::parameters(net));
    CHECK(sgd.lr() == 0.5f);
    CHECK(momentum.lr() == 0.25f);
    CHECK(adam.lr() == 1e-3f);
    sgd.set_lr(0.125f);
    momentum.set_lr(0.0625f);
    adam.set_lr(2e-3f);
    CHECK(sgd.lr() == 0.125f);
    CHECK(momentum.lr() == 0.0625f);
    CHECK(momentum.settings().momentum == 0.9f);
    CHECK(adam.lr() == 2e-3f);
    // a zero rate leaves the parameters alone
    net.a.fill(1.0f);
    sgd.set_lr(0.0f);
    std::tuple<tensor<float, shape<19>>, tensor<float, shape<3>>> gradients;
    std::get<0>(gradients).fill(3.0f);
    sgd.step(gradients);
    CHECK(net.a[7] == 1.0f);
    sgd.set_lr(0.5f);
    sgd.step(gradients);
    CHECK(net.a[7] == -0.5f);
}

TEST_CASE("optimisers train a gradient program: least squares converges", "[optim]") {
    // fit w in y = x w to targets made by a known w: every optimiser reaches it
    tensor<double, shape<16, 3>> x;
    x.fill_uniform(3, -1, 1);
    tensor<double, shape<3, 1>> truth{0.5, -1.25, 2.0}, w;
    tensor<double, shape<16, 1>> y = spore::matmul(x, truth);
    auto loss = spore::mean(spore::square(spore::matmul(x, w) - y));
    auto check_converges = [&](auto settings, int steps) {
        w.fill(0.0);
        auto program = spore::compile_grad(loss, w);
        auto state = optim::make_state(settings, std::tie(w));
        for (int i = 0; i < steps; ++i) {
            program.run();
            state.step(program.gradients());
        }
        CHECK(spore::max_abs_diff(w, truth) < 1e-3);
    };
    check_converges(optim::SGD{.lr = 0.5f}, 400);
    check_converges(optim::Momentum{.lr = 0.1f, .momentum = 0.9f}, 400);
    check_converges(optim::Adam{.lr = 0.05f}, 1500);
}

namespace {

// What a checkpoint of an optimiser holds: its step count and every state tensor's values.
struct optimiser_snapshot {
    long long steps = 0;
    std::vector<std::string> names;
    std::vector<std::size_t> parameters;
    std::vector<std::vector<float>> values;
};

template <class State>
optimiser_snapshot take_snapshot(const State& state) {
    optimiser_snapshot s;
    s.steps = state.steps();
    state.for_each_state([&](std::string_view name, std::size_t parameter, const auto& t) {
        s.names.emplace_back(name);
        s.parameters.push_back(parameter);
        s.values.emplace_back(t.begin(), t.end());
    });
    return s;
}

template <class State>
void restore_snapshot(State& state, const optimiser_snapshot& s) {
    state.set_steps(s.steps);
    std::size_t next = 0;
    state.for_each_state([&](std::string_view name, std::size_t parameter, auto& t) {
        REQUIRE(next < s.values.size());
        CHECK(name == s.names[next]);
        CHECK(parameter == s.parameters[next]);
        std::copy(s.values[next].begin(), s.values[next].end(), t.begin());
        ++next;
    });
    CHECK(next == s.values.size());
}

std::tuple<tensor<float, shape<19>>, tensor<float, shape<3>>> gradients_at(int k) {
    std::tuple<tensor<float, shape<19>>, tensor<float, shape<3>>> g;
    std::get<0>(g).fill_uniform(std::uint64_t(10 + k), -1, 1);
    std::get<1>(g).fill_uniform(std::uint64_t(50 + k), -1, 1);
    return g;
}

// Three steps, a snapshot, three more; then a fresh optimiser restored from the snapshot,
// on the parameters as they were, takes the same last three steps bit for bit.
template <class Settings>
void check_resumes(Settings settings, const std::vector<std::string>& expected_names) {
    two_parameters net, resumed;
    net.a.fill_uniform(1, -1, 1);
    net.b.fill_uniform(2, -1, 1);
    auto state = optim::make_state(settings, spore::nn::parameters(net));
    for (int k = 0; k < 3; ++k) state.step(gradients_at(k));
    const optimiser_snapshot snapshot = take_snapshot(state);
    resumed = net;
    for (int k = 3; k < 6; ++k) state.step(gradients_at(k));

    CHECK(snapshot.steps == 3);
    std::vector<std::string> names;
    for (std::size_t parameter = 0; parameter < 2; ++parameter)
        for (const auto& name : expected_names) names.push_back(name);
    CHECK(snapshot.names == names);
    for (std::size_t i = 0; i < snapshot.values.size(); ++i) {
        CHECK(snapshot.parameters[i] == i / expected_names.size());
        CHECK(snapshot.values[i].size() == (snapshot.parameters[i] == 0 ? 19u : 3u));
        CHECK(std::any_of(snapshot.values[i].begin(), snapshot.values[i].end(), [](float v) { return v != 0.0f; }));
    }

    auto fresh = optim::make_state(settings, spore::nn::parameters(resumed));
    for (const auto& values : take_snapshot(fresh).values)  // a new optimiser's state is zero
        CHECK(std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; }));
    restore_snapshot(fresh, snapshot);
    for (int k = 3; k < 6; ++k) fresh.step(gradients_at(k));
    CHECK(fresh.steps() == 6);
    CHECK(std::equal(net.a.begin(), net.a.end(), resumed.a.begin()));
    CHECK(std::equal(net.b.begin(), net.b.end(), resumed.b.begin()));
    const optimiser_snapshot after = take_snapshot(state), after_resumed = take_snapshot(fresh);
    CHECK(after.values == after_resumed.values);
}

}  // namespace

TEST_CASE("optimiser state for checkpoints: visit, save and restore each state tensor and the step count",
          "[optim][checkpoint]") {
    check_resumes(optim::SGD{.lr = 0.1f, .weight_decay = 0.01f}, {});
    check_resumes(optim::Momentum{.lr = 0.05f, .momentum = 0.9f, .nesterov = true}, {"velocity"});
    check_resumes(optim::Adam{.lr = 0.01f, .weight_decay = 0.1f}, {"first_moment", "second_moment"});
    check_resumes(optim::AdamW{.lr = 0.01f}, {"first_moment", "second_moment"});

    // the states by name or index: a tuple over the parameters
    two_parameters net;
    auto adam = optim::make_state(optim::Adam{}, spore::nn::parameters(net));
    std::get<1>(adam.state("second_moment")).fill(2.0f);
    CHECK(std::get<1>(adam.state(1))[2] == 2.0f);
    CHECK(adam.state_names()[0] == "first_moment");
    CHECK(adam.states_per_parameter == 2);
    CHECK_THROWS_WITH(adam.state("velocity"),
                      Catch::Contains("no state named 'velocity'") && Catch::Contains("first_moment, second_moment"));
    auto momentum = optim::make_state(optim::Momentum{}, spore::nn::parameters(net));
    std::get<0>(momentum.state("velocity"))[4] = 0.5f;
    CHECK(std::get<0>(momentum.velocities())[4] == 0.5f);
    auto sgd = optim::make_state(optim::SGD{}, spore::nn::parameters(net));
    CHECK_THROWS_WITH(sgd.state(0), Catch::Contains("array::at"));
    CHECK_THROWS_WITH(sgd.state("velocity"), Catch::Contains("(this optimiser has none)"));
}

namespace {

// A new optimiser is its settings and its rule: gradient averaging, p -= lr * mean of all
// gradients so far, with one state tensor and a value computed once per step.
struct averaged_descent {
    float lr = 0.5f;
    static constexpr std::array<std::string_view, 1> state_names{"gradient_sum"};
    double step_values(long long step) const { return 1.0 / double(step); }
    template <class V>
    void update(double inverse_step, V& w, const V& g, V& sum) const {
        using T = spore::simd::element_of_t<V>;
        sum = sum + g;
        w = w - spore::simd::splat<V>(T(lr) * T(inverse_step)) * sum;
    }
};

}  // namespace

TEST_CASE("optimiser skeleton: a new rule gets step, lr, steps and its state", "[optim]") {
    tensor<double, shape<21>> p;
    std::tuple<tensor<double, shape<21>>> g;
    p.fill(1.0);
    auto state = optim::make_state(averaged_descent{}, std::tie(p));
    static_assert(std::is_same_v<decltype(state), optim::optimizer<averaged_descent, std::tuple<tensor<double, shape<21>>&>>>);
    for (int k = 1; k <= 4; ++k) {
        std::get<0>(g).fill(double(k));  // gradients 1, 2, 3, 4: means 1, 1.5, 2, 2.5
        state.step(g);
    }
    for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i] == Approx(1.0 - 0.5 * (1 + 1.5 + 2 + 2.5)));
    CHECK(std::get<0>(state.state("gradient_sum"))[20] == 10.0);
    CHECK(state.steps() == 4);
    state.set_lr(0.25f);
    CHECK(state.settings().lr == 0.25f);
    // CTAD as for the named states
    optim::optimizer deduced(optim::Momentum{.lr = 0.1f}, std::tie(p));
    static_assert(std::is_same_v<decltype(deduced), optim::momentum_state<std::tuple<tensor<double, shape<21>>&>>>);
}
