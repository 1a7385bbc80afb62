#pragma once
// spore::Model: the training loop of a classifier cell on an image set.
//
//   auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, optim::Momentum{.lr = 0.01f},
//                             spore::batch<32>, spore::input_shape<1, 32, 32>);
//   model.fit(5, data.train, data.test, train::LossMonitor{500});
//   auto [loss, accuracy, count] = model.evaluate(data.test);
//
// Everything with a type is built here, once: the forward and backward program of the loss
// (compile_grad over nn::parameters(net)), the evaluation program of the logits (compile), the
// optimiser's state and the batch tensors. A step then fills the batch from the set's bytes,
// runs the program, and steps the optimiser, with no allocation after the first step.
//
// A partial last batch is trained, not dropped: its real rows' one-hot targets are scaled by
// batch / rows and the padding rows' are zero, so a loss that is a mean over rows of a term
// linear in the target row (cross-entropy) becomes exactly the mean over the real rows, and so
// does its gradient. For other losses (see loss_weights_rows below) partial batches are left
// out of training and of the evaluation loss (not of the accuracy).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <spore/autodiff.hpp>
#include <spore/core/error.hpp>
#include <spore/core/shape.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/data/image_set.hpp>
#include <spore/data/sampler.hpp>
#include <spore/expr/program.hpp>
#include <spore/nn/cell.hpp>
#include <spore/nn/layers.hpp>
#include <spore/nn/losses.hpp>
#include <spore/nn/summary.hpp>
#include <spore/optim/momentum.hpp>
#include <spore/train/callbacks.hpp>
#include <spore/train/clock.hpp>
#include <spore/train/distribution.hpp>
#include <spore/train/progress.hpp>
#include <spore/train/records.hpp>

namespace spore {

template <std::size_t B>
struct batch_size {
    static_assert(B > 0, "spore::batch<B>: the batch size must be positive");
    static constexpr std::size_t value = B;
};
// The compile-time batch size of a Model.
template <std::size_t B>
inline constexpr batch_size<B> batch{};

template <std::size_t... Extents>
struct input_shape_t {
    using type = shape<Extents...>;
};
// The shape of one input image of a Model, [channels, rows, cols].
template <std::size_t... Extents>
inline constexpr input_shape_t<Extents...> input_shape{};

namespace train {

// True for losses that are a mean over rows of a term linear in the row's target, so that
// scaling target rows weights the rows (see the top of this file). Specialise it for a loss
// of your own that has this form.
template <class Loss>
inline constexpr bool loss_weights_rows = false;
template <>
inline constexpr bool loss_weights_rows<nn::SoftmaxCrossEntropy<nn::reduction::mean>> = true;

struct options {
    std::uint64_t seed = 1;  // of the shuffles: epoch e visits data::shuffled_order(seed, e)
    bool shuffle = true;
    bool drop_last = false;  // leave out a partial last batch
    progress_mode progress = progress_mode::automatic;
    std::FILE* out = stdout;
};

namespace detail {

struct images_tag;
struct targets_tag;
struct logits_tag;

// What a Model deduced from (net, loss, settings, batch<B>) alone gets as its input shape.
struct no_input_shape {};

template <std::size_t Batch, class Shape>
struct with_batch {
    static_assert(!std::is_same_v<Shape, no_input_shape>,
                  "spore::Model: give the shape of one input after the batch, e.g. spore::Model(net, loss, "
                  "optimiser, spore::batch<32>, spore::input_shape<1, 32, 32>)");
    using type = shape<Batch>;
};
template <std::size_t Batch, std::size_t... E>
struct with_batch<Batch, shape<E...>> {
    using type = shape<Batch, E...>;
};

template <class Net, class ImagesShape>
using logits_t = decltype(std::declval<const Net&>().construct(expr::placeholder<images_tag, float, ImagesShape>()));

template <class LogitsShape, std::size_t Batch>
struct check_logits {
    static_assert(LogitsShape::rank == 2 && LogitsShape::extents[0] == Batch,
                  "spore::Model: the net's construct(x) must return logits [batch, classes] "
                  "(see check_logits<logits shape, batch> above)");
    static constexpr bool ok = LogitsShape::rank == 2 && LogitsShape::extents[0] == Batch;
};

template <class ImagesShape, class TargetsShape, class Net, class Loss>
auto make_step_program(Net& net, const Loss& loss) {
    auto logits = net.construct(expr::placeholder<images_tag, float, ImagesShape>());
    auto objective = loss(logits, expr::placeholder<targets_tag, float, TargetsShape>());
    return std::apply([&](auto&... p) { return spore::compile_grad(objective, p...); }, nn::parameters(net));
}
template <class ImagesShape, class Net>
auto make_logits_program(const Net& net) {
    return spore::compile(net.construct(expr::placeholder<images_tag, float, ImagesShape>()));
}
template <class TargetsShape, class Loss>
auto make_loss_program(const Loss& loss) {
    return spore::compile(loss(expr::placeholder<logits_tag, float, TargetsShape>(),
                               expr::placeholder<targets_tag, float, TargetsShape>()));
}

// make_state(settings, parameters) where it exists (found by argument-dependent lookup: spore's
// optimisers, or settings with a state of their own), else the optimiser of any settings that
// are an update rule (optim/optimizer.hpp).
template <class Settings, class Parameters>
auto make_optimiser(const Settings& settings, Parameters parameters) {
    if constexpr (requires { make_state(settings, parameters); }) {
        return make_state(settings, parameters);
    } else {
        static_assert(optim::update_rule<Settings>,
                      "spore::Model: no optimiser state for these settings (no make_state, and not an "
                      "optim::update_rule)");
        return optim::make_state(settings, parameters);
    }
}
template <class State>
float learning_rate(State& state) {
    if constexpr (requires { state.lr(); }) return state.lr();
    else return state.settings().lr;
}
template <class State>
void set_learning_rate(State& state, float lr) {
    if constexpr (requires { state.set_lr(lr); }) state.set_lr(lr);
    else state.settings().lr = lr;
}

// Run-time checks, out of the templates so each Model does not compile them again.
[[noreturn]] inline void stop_on_non_finite(float loss, int epoch, std::size_t step, std::size_t steps) {
    throw error(spore::detail::concat({"spore::Model::train: the loss became ", std::isnan(loss) ? "NaN" : "infinite", " at epoch ",
                                       epoch, ", step ", step, " of ", steps, "; training stopped (a smaller learning rate may help)"}));
}
[[noreturn]] inline void too_few_images(const data::image_set& set, std::size_t batch) {
    throw error(spore::detail::concat({"spore::Model::train: ", set.source(), " holds ", set.size(),
                                       " images, less than a batch of ", batch, " per process"}));
}
// `images` is the batch shape [B, C, H, W].
inline void check_set(const data::image_set& set, const char* who, const std::size_t* images, std::size_t classes) {
    if (images[1] != set.channels() || images[2] != set.rows() || images[3] != set.cols())
        throw error(spore::detail::concat({set.source(), ": ", who, ": the model takes images of ", images[1], 'x', images[2], 'x',
                                           images[3], ", the set has ", set.channels(), 'x', set.rows(), 'x', set.cols(),
                                           " (padding ", set.options().pad, ")"}));
    if (set.classes() > classes)
        throw error(spore::detail::concat({set.source(), ": ", who, ": the set has ", set.classes(), " classes, the net's logits ",
                                           classes}));
}

template <class X>
concept lr_schedule = requires(const X& x) {
    { x.lr_at(0.0f, 0) } -> std::convertible_to<float>;
};

}  // namespace detail
}  // namespace train

template <class Net, class Loss, class Optimiser, std::size_t Batch, class InputShape,
          class Distribution = train::single_process>
class Model {
public:
    using images_shape = typename train::detail::with_batch<Batch, InputShape>::type;
    using logits_shape = typename train::detail::logits_t<Net, images_shape>::shape_type;
    static_assert(train::detail::check_logits<logits_shape, Batch>::ok);
    static constexpr std::size_t batch_size = Batch;
    static constexpr std::size_t classes = logits_shape::extents[1];
    using targets_shape = shape<Batch, classes>;

    template <std::size_t... E>
    Model(Net& net, Loss loss, Optimiser settings, spore::batch_size<Batch>, input_shape_t<E...>,
          Distribution distribution = {})
        : net_(&net),
          loss_(loss),
          settings_(settings),
          step_(train::detail::make_step_program<images_shape, targets_shape>(net, loss_)),
          logits_(train::detail::make_logits_program<images_shape>(net)),
          eval_loss_(train::detail::make_loss_program<targets_shape>(loss_)),
          optimiser_(train::detail::make_optimiser(settings, nn::parameters(net))),
          distribution_(std::move(distribution)) {
        step_.template feed<train::detail::images_tag>(images_);
        step_.template feed<train::detail::targets_tag>(targets_);
        logits_.template feed<train::detail::images_tag>(images_);
        eval_loss_.template feed<train::detail::targets_tag>(targets_);
    }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    train::options& options() noexcept { return options_; }
    Distribution& distribution() noexcept { return distribution_; }
    Net& net() noexcept { return *net_; }
    float lr() { return train::detail::learning_rate(optimiser_); }
    // nn::summary of the net at this model's batch and input shape.
    std::string summary() const { return nn::summary(*net_, images_shape{}); }

    // Trains `epochs` epochs. Extras are callbacks (see train/callbacks.hpp) and learning-rate
    // schedules (anything with lr_at(base_lr, epoch), epoch counted from 0, such as StepLR).
    template <class... Extras>
    train::history train(int epochs, const data::image_set& set, Extras&&... extras) {
        return run(epochs, set, nullptr, extras...);
    }
    // The same, evaluating `test` after each epoch.
    template <class... Extras>
    train::history fit(int epochs, const data::image_set& set, const data::image_set& test, Extras&&... extras) {
        return run(epochs, set, &test, extras...);
    }

    // Mean loss and accuracy over a set (over this process's shard, summed over processes).
    train::metrics evaluate(const data::image_set& set) {
        check_set(set, "evaluate");
        const auto [begin, end] = data::shard_bounds(set.size(), distribution_.shard());
        eval_order_.resize(end - begin);
        for (std::size_t i = 0; i < eval_order_.size(); ++i) eval_order_[i] = begin + i;
        double totals[4] = {0, 0, 0, 0};  // hits, images, loss * rows, rows in the loss
        for (std::size_t first = 0; first < eval_order_.size(); first += Batch) {
            const std::size_t rows = fill(set, std::span(eval_order_).subspan(first, std::min(Batch, eval_order_.size() - first)));
            const auto& logits = logits_();
            for (std::size_t i = 0; i < rows; ++i) {
                const float* row = logits.data() + i * classes;
                const float* top = std::max_element(row, row + classes);
                totals[0] += std::isfinite(*top) && std::size_t(top - row) == std::size_t(labels_[i]) ? 1 : 0;
            }
            totals[1] += double(rows);
            if (rows == Batch || (train::loss_weights_rows<Loss> && rows > 0)) {
                eval_loss_.template feed<train::detail::logits_tag>(logits);
                totals[2] += double(eval_loss_()[0]) * double(rows);
                totals[3] += double(rows);
            }
        }
        distribution_.sum(std::span<double>(totals, 4));
        train::metrics m;
        m.count = std::size_t(totals[1]);
        m.accuracy = totals[1] > 0 ? totals[0] / totals[1] : 0.0;
        if (totals[3] > 0) m.loss = totals[2] / totals[3];
        return m;
    }

private:
    template <class... Extras>
    train::history run(int epochs, const data::image_set& set, const data::image_set* test, Extras&... extras) {
        check_set(set, "train");
        if (test) check_set(*test, "fit (test set)");
        const bool reporting = distribution_.reporting();
        const data::shard shard = distribution_.shard();
        const auto [begin, end] = data::shard_bounds(set.size(), shard);
        const bool drop_last = options_.drop_last || !train::loss_weights_rows<Loss>;
        const std::size_t steps = data::steps_per_epoch(set.size(), shard, Batch, drop_last);
        if (steps == 0) train::detail::too_few_images(set, Batch);
        train::progress_printer progress(reporting ? options_.out : nullptr, options_.progress);
        train::history history;
        history.reserve(std::size_t(std::max(epochs, 0)));
        order_.resize(set.size());
        [[maybe_unused]] const float base_lr = settings_.lr;  // unused without schedules
        (call_train_begin(extras, train::run_info{epochs, reporting}), ...);
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            (apply_schedule(extras, base_lr, epoch - 1), ...);
            const float lr = train::detail::learning_rate(optimiser_);
            if (options_.shuffle) data::shuffled_order(order_, options_.seed, std::uint64_t(epoch - 1));
            else for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            progress.begin_epoch();
            const double start = train::monotonic_seconds();
            double loss_sum = 0;
            std::size_t images = 0;
            for (std::size_t s = 0; s < steps; ++s) {
                const std::size_t first = std::min(begin + s * Batch, end);
                const std::size_t rows = fill(set, std::span(order_).subspan(first, std::min(Batch, end - first)));
                float loss;
                if constexpr (requires { distribution_.run_step(step_, rows); }) {
                    loss = distribution_.run_step(step_, rows);  // the exchange overlaps the backward pass
                } else {
                    loss = step_.run();
                    distribution_.after_backward(step_.gradients(), rows, loss);
                }
                if (!std::isfinite(loss)) train::detail::stop_on_non_finite(loss, epoch, s + 1, steps);
                optimiser_.step(step_.gradients());
                loss_sum += double(loss) * double(rows);
                images += rows;
                ++global_step_;
                train::step_info info;
                info.epoch = epoch;
                info.epochs = epochs;
                info.step = s + 1;
                info.steps = steps;
                info.global_step = global_step_;
                info.loss = loss;
                info.rows = rows;
                info.lr = lr;
                info.seconds = train::monotonic_seconds() - start;
                info.reporting = reporting;
                info.progress = progress.mode() == train::progress_mode::bar ? &progress : nullptr;
                progress.step(info, images ? loss_sum / double(images) : 0.0, images * shard.count);
                (call_step(extras, info), ...);
            }
            double totals[2] = {loss_sum, double(images)};
            distribution_.sum(std::span<double>(totals, 2));
            train::epoch_info e;
            e.epoch = epoch;
            e.epochs = epochs;
            e.seconds = train::monotonic_seconds() - start;
            e.images = std::size_t(totals[1]);
            e.train_loss = totals[1] > 0 ? totals[0] / totals[1] : 0.0;
            e.images_per_second = e.seconds > 0 ? totals[1] / e.seconds : 0.0;
            e.lr = lr;
            e.reporting = reporting;
            if (test) {
                const train::metrics m = evaluate(*test);
                e.tested = true;
                e.test_loss = m.loss;
                e.test_accuracy = m.accuracy;
            }
            history.push_back(e);
            progress.end_epoch(e);
            (call_epoch_end(extras, e), ...);
        }
        (call_train_end(extras, history), ...);
        return history;
    }

    // The batch tensors from `items`; one-hot targets weighted so the loss is the mean over
    // the real rows. Returns the real rows.
    std::size_t fill(const data::image_set& set, std::span<const std::size_t> items) {
        const std::size_t rows = set.fill_batch(items, images_, std::span<std::int32_t>(labels_));
        targets_.fill(0.0f);
        const float weight = rows ? float(Batch) / float(rows) : 0.0f;
        for (std::size_t i = 0; i < rows; ++i) targets_(i, std::size_t(labels_[i])) = weight;
        return rows;
    }

    void check_set(const data::image_set& set, const char* who) const {
        train::detail::check_set(set, who, images_shape::extents.data(), classes);
    }

    template <class X>
    void apply_schedule(X& x, float base_lr, int epoch) {
        if constexpr (train::detail::lr_schedule<std::remove_cvref_t<X>>)
            train::detail::set_learning_rate(optimiser_, x.lr_at(base_lr, epoch));
    }
    template <class X>
    static void call_train_begin(X& x, const train::run_info& run) {
        if constexpr (requires { x.on_train_begin(run); }) x.on_train_begin(run);
    }
    template <class X>
    static void call_step(X& x, const train::step_info& s) {
        if constexpr (requires { x.on_step(s); }) x.on_step(s);
    }
    template <class X>
    static void call_epoch_end(X& x, const train::epoch_info& e) {
        if constexpr (requires { x.on_epoch_end(e); }) x.on_epoch_end(e);
    }
    template <class X>
    static void call_train_end(X& x, const train::history& h) {
        if constexpr (requires { x.on_train_end(h); }) x.on_train_end(h);
    }

    using step_program = decltype(train::detail::make_step_program<images_shape, targets_shape>(std::declval<Net&>(),
                                                                                                 std::declval<const Loss&>()));
    using logits_program = decltype(train::detail::make_logits_program<images_shape>(std::declval<const Net&>()));
    using loss_program = decltype(train::detail::make_loss_program<targets_shape>(std::declval<const Loss&>()));
    using optimiser_state = decltype(train::detail::make_optimiser(std::declval<const Optimiser&>(),
                                                                  nn::parameters(std::declval<Net&>())));

    Net* net_;
    Loss loss_;
    Optimiser settings_;
    tensor<float, images_shape> images_;
    tensor<float, targets_shape> targets_;
    std::array<std::int32_t, Batch> labels_{};
    step_program step_;
    logits_program logits_;
    loss_program eval_loss_;
    optimiser_state optimiser_;
    Distribution distribution_;
    train::options options_;
    std::vector<std::size_t> order_, eval_order_;
    std::size_t global_step_ = 0;
};

template <class Net, class Loss, class Optimiser, std::size_t Batch>
Model(Net&, Loss, Optimiser, batch_size<Batch>) -> Model<Net, Loss, Optimiser, Batch, train::detail::no_input_shape>;

template <class Net, class Loss, class Optimiser, std::size_t Batch, std::size_t... E,
          class Distribution = train::single_process>
Model(Net&, Loss, Optimiser, batch_size<Batch>, input_shape_t<E...>, Distribution = {})
    -> Model<Net, Loss, Optimiser, Batch, shape<E...>, Distribution>;

}  // namespace spore
