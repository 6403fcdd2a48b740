#include "hpsweep/searcher/tpe.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace hpsweep::searcher {

namespace {

constexpr double pi = 3.14159265358979323846;

// A hyper-parameter as TPE sees it: a continuous interval (internal coordinates: the
// exponent for log ranges, the value otherwise) or a list of choices.
struct Dimension {
    const Hyperparameter* hp = nullptr;
    bool categorical = false;
    bool integer = false;
    bool log_scale = false;  // internal coordinate is ln(value) (loguniform)
    double base = 0;         // log_range: value = base^x; 0 otherwise
    double low = 0;
    double high = 0;
    std::vector<Value> choices;

    static Dimension of(const Hyperparameter& hp) {
        Dimension d;
        d.hp = &hp;
        const Domain& domain = hp.domain;
        switch (domain.kind) {
            case Domain::Kind::constant:
            case Domain::Kind::categorical:
                d.categorical = true;
                d.choices = domain.values;
                break;
            case Domain::Kind::sampled:
                d.log_scale = domain.log_scale;
                d.low = domain.log_scale ? std::log(domain.minval) : domain.minval;
                d.high = domain.log_scale ? std::log(domain.maxval) : domain.maxval;
                break;
            case Domain::Kind::int_range:
                d.integer = true;
                // Each integer owns the unit interval around it, so the ends are as likely
                // as the inner values.
                d.low = std::ceil(domain.minval) - 0.5;
                d.high = std::floor(domain.maxval) + 0.5;
                break;
            case Domain::Kind::double_range:
                d.low = domain.minval;
                d.high = domain.maxval;
                break;
            case Domain::Kind::log_range:
                d.base = domain.base;
                d.low = domain.minval;
                d.high = domain.maxval;
                break;
        }
        return d;
    }

    // Internal coordinate of a recorded value, or nullopt when it does not fit.
    std::optional<double> coordinate(const nlohmann::ordered_json& typed) const {
        if (!typed.is_number())
            return std::nullopt;
        const double v = typed.get<double>();
        double x = v;
        if (log_scale || base > 0) {
            if (v <= 0)
                return std::nullopt;
            x = log_scale ? std::log(v) : std::log(v) / std::log(base);
        }
        // Values written with a rounded text may sit a hair outside the interval.
        const double slack = 1e-9 * std::max(1.0, high - low);
        if (!(x >= low - slack && x <= high + slack))
            return std::nullopt;
        return std::clamp(x, low, high);
    }

    std::optional<size_t> choice_index(const nlohmann::ordered_json& typed) const {
        for (size_t i = 0; i < choices.size(); ++i) {
            if (choices[i].typed == typed)
                return i;
        }
        return std::nullopt;
    }

    Value value_at(double x) const {
        if (integer)
            return make_value(static_cast<long long>(std::llround(std::clamp(x, low, high))));
        if (log_scale)
            return make_value(std::exp(x));
        if (base > 0)
            return make_value(std::pow(base, x));
        return make_value(x);
    }
};

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double standard_normal(Random& rng) {
    // Box-Muller from the sweep's own generator, so draws are the same on every platform.
    const double u1 = 1.0 - rng.uniform01();  // (0, 1]
    const double u2 = rng.uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * pi * u2);
}

// Mixture of normals truncated to [low, high]: one per observation plus a wide prior at the
// centre, with Optuna's bandwidths (distance to the farther neighbour, clipped).
class ParzenEstimator {
public:
    ParzenEstimator(std::vector<double> points, double low, double high) : low_(low), high_(high) {
        const double span = high - low;
        if (span <= 0) {
            mus_ = {low};
            sigmas_ = {1.0};
            return;
        }
        std::sort(points.begin(), points.end());
        mus_ = points;
        sigmas_.resize(points.size());
        const double min_sigma = span / std::min(100.0, 1.0 + static_cast<double>(points.size()));
        for (size_t i = 0; i < points.size(); ++i) {
            const double left = i == 0 ? low : points[i - 1];
            const double right = i + 1 == points.size() ? high : points[i + 1];
            sigmas_[i] = std::clamp(std::max(points[i] - left, right - points[i]), min_sigma, span);
        }
        mus_.push_back(0.5 * (low + high));
        sigmas_.push_back(span);
    }

    double sample(Random& rng) const {
        const size_t k = rng.below(mus_.size());
        if (high_ <= low_)
            return low_;
        for (int attempt = 0; attempt < 100; ++attempt) {
            const double x = mus_[k] + sigmas_[k] * standard_normal(rng);
            if (x >= low_ && x <= high_)
                return x;
        }
        return std::clamp(mus_[k], low_, high_);
    }

    double log_density(double x) const {
        if (high_ <= low_)
            return 0;
        double density = 0;
        for (size_t i = 0; i < mus_.size(); ++i) {
            const double z = (x - mus_[i]) / sigmas_[i];
            const double mass = normal_cdf((high_ - mus_[i]) / sigmas_[i]) -
                                normal_cdf((low_ - mus_[i]) / sigmas_[i]);
            density +=
                std::exp(-0.5 * z * z) / (sigmas_[i] * std::sqrt(2.0 * pi) * std::max(mass, 1e-12));
        }
        return std::log(std::max(density / static_cast<double>(mus_.size()), 1e-300));
    }

private:
    double low_;
    double high_;
    std::vector<double> mus_;
    std::vector<double> sigmas_;
};

// Categorical estimator: observed counts plus one pseudo-count per choice.
std::vector<double> choice_probabilities(const std::vector<size_t>& picks, size_t choices) {
    std::vector<double> p(choices, 1.0);
    for (const size_t c : picks) p[c] += 1.0;
    const double total = static_cast<double>(choices + picks.size());
    for (double& x : p) x /= total;
    return p;
}

size_t draw_index(const std::vector<double>& probabilities, Random& rng) {
    double u = rng.uniform01();
    for (size_t i = 0; i < probabilities.size(); ++i) {
        if (u < probabilities[i])
            return i;
        u -= probabilities[i];
    }
    return probabilities.size() - 1;
}

Value choose(const Dimension& dim, const std::vector<const TpeObservation*>& below,
             const std::vector<const TpeObservation*>& above, int candidates, Random& rng) {
    const auto& name = dim.hp->name;
    auto recorded = [&name](const TpeObservation* o) -> const nlohmann::ordered_json* {
        const auto it = o->hyperparameters.find(name);
        return it == o->hyperparameters.end() ? nullptr : &*it;
    };
    if (dim.categorical) {
        std::vector<size_t> below_picks, above_picks;
        for (const auto* o : below)
            if (const auto* v = recorded(o))
                if (const auto i = dim.choice_index(*v))
                    below_picks.push_back(*i);
        for (const auto* o : above)
            if (const auto* v = recorded(o))
                if (const auto i = dim.choice_index(*v))
                    above_picks.push_back(*i);
        const auto l = choice_probabilities(below_picks, dim.choices.size());
        const auto g = choice_probabilities(above_picks, dim.choices.size());
        size_t best = 0;
        double best_score = -std::numeric_limits<double>::infinity();
        for (int c = 0; c < candidates; ++c) {
            const size_t i = draw_index(l, rng);
            const double score = std::log(l[i]) - std::log(g[i]);
            if (score > best_score) {
                best_score = score;
                best = i;
            }
        }
        return dim.choices[best];
    }
    std::vector<double> below_points, above_points;
    for (const auto* o : below)
        if (const auto* v = recorded(o))
            if (const auto x = dim.coordinate(*v))
                below_points.push_back(*x);
    for (const auto* o : above)
        if (const auto* v = recorded(o))
            if (const auto x = dim.coordinate(*v))
                above_points.push_back(*x);
    const ParzenEstimator l(std::move(below_points), dim.low, dim.high);
    const ParzenEstimator g(std::move(above_points), dim.low, dim.high);
    double best = dim.low;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < candidates; ++c) {
        const double x = l.sample(rng);
        const double score = l.log_density(x) - g.log_density(x);
        if (score > best_score) {
            best_score = score;
            best = x;
        }
    }
    return dim.value_at(best);
}

}  // namespace

long tpe_below_count(long completed) {
    const long tenth = (completed + 9) / 10;
    return std::max(1L, std::min(tenth, 25L));
}

TpeSuggestion suggest_tpe(const std::vector<Hyperparameter>& space,
                          const std::vector<TpeObservation>& completed, const TpeSettings& settings,
                          std::uint64_t seed) {
    TpeSuggestion out;
    std::vector<const TpeObservation*> usable;
    for (const auto& o : completed) {
        if (std::isfinite(o.value))
            usable.push_back(&o);
    }
    if (static_cast<long>(usable.size()) < std::max(1L, settings.startup_trials)) {
        for (const auto& hp : space) {
            Random rng(derive_seed(seed, hp.name + "#tpe-startup"));
            out.values.push_back(hp.domain.sample(rng));
        }
        return out;
    }
    // Best first; ties go to the earlier trial, so the split does not depend on file order.
    std::sort(usable.begin(), usable.end(), [&](const auto* a, const auto* b) {
        if (a->value != b->value)
            return settings.smaller_is_better ? a->value < b->value : a->value > b->value;
        return a->trial_id < b->trial_id;
    });
    const auto n_below = static_cast<size_t>(tpe_below_count(static_cast<long>(usable.size())));
    const std::vector<const TpeObservation*> below(usable.begin(), usable.begin() + n_below);
    const std::vector<const TpeObservation*> above(usable.begin() + n_below, usable.end());
    for (const auto& hp : space) {
        Random rng(derive_seed(seed, hp.name + "#tpe"));
        out.values.push_back(choose(Dimension::of(hp), below, above, settings.candidates, rng));
    }
    out.based_on = static_cast<long>(usable.size());
    return out;
}

}  // namespace hpsweep::searcher
