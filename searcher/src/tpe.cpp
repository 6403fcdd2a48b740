#include "hpsweep/searcher/tpe.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "hpsweep/contracts/trial_record.hpp"

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

// What `convert` makes of each observation's recorded value of hyper-parameter `name`, for
// the observations that have one that fits (convert returns an optional).
template <typename T, typename Convert>
std::vector<T> fitting(const std::vector<const TpeObservation*>& observations,
                       const std::string& name, Convert convert) {
    std::vector<T> out;
    for (const auto* o : observations) {
        const auto it = o->hyperparameters.find(name);
        if (it == o->hyperparameters.end())
            continue;
        if (const auto converted = convert(*it))
            out.push_back(*converted);
    }
    return out;
}

// One hyper-parameter's part of the modelled choice: l(x) fitted to the below trials' values
// and g(x) to the above trials', the score log l(x) - log g(x) of any value, and the distinct
// values among the candidates drawn from l, best first.
class DimensionModel {
public:
    struct Candidate {
        Value value;
        double score = 0;
    };

    DimensionModel(const Dimension& dim, const std::vector<const TpeObservation*>& below,
                   const std::vector<const TpeObservation*>& above, int candidates, Random& rng)
        : dim_(dim) {
        const auto& name = dim.hp->name;
        // (value, score) of each candidate in the order drawn.
        std::vector<Candidate> drawn;
        if (dim.categorical) {
            const auto pick = [&dim](const nlohmann::ordered_json& v) {
                return dim.choice_index(v);
            };
            l_choices_ =
                choice_probabilities(fitting<size_t>(below, name, pick), dim.choices.size());
            g_choices_ =
                choice_probabilities(fitting<size_t>(above, name, pick), dim.choices.size());
            for (int c = 0; c < candidates; ++c) {
                const size_t i = draw_index(l_choices_, rng);
                drawn.push_back(
                    {dim.choices[i], std::log(l_choices_[i]) - std::log(g_choices_[i])});
            }
        } else {
            const auto point = [&dim](const nlohmann::ordered_json& v) {
                return dim.coordinate(v);
            };
            l_.emplace(fitting<double>(below, name, point), dim.low, dim.high);
            g_.emplace(fitting<double>(above, name, point), dim.low, dim.high);
            for (int c = 0; c < candidates; ++c) {
                const double x = l_->sample(rng);
                // An integer's score is its candidate's, as when the best x alone was rounded.
                drawn.push_back({dim.value_at(x), l_->log_density(x) - g_->log_density(x)});
            }
        }
        // Each distinct value once, with its best candidate's score; ties go to the value whose
        // best candidate was drawn first, so the first is the candidate the independent TPE
        // (the largest score, the first drawn among equals) chooses.
        std::vector<size_t> best_draw;
        for (size_t c = 0; c < drawn.size(); ++c) {
            const auto same =
                std::find_if(candidates_.begin(), candidates_.end(),
                             [&](const auto& k) { return k.value == drawn[c].value; });
            if (same == candidates_.end()) {
                candidates_.push_back(drawn[c]);
                best_draw.push_back(c);
            } else if (drawn[c].score > same->score) {
                same->score = drawn[c].score;
                best_draw[static_cast<size_t>(same - candidates_.begin())] = c;
            }
        }
        std::vector<size_t> order(candidates_.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            if (candidates_[a].score != candidates_[b].score)
                return candidates_[a].score > candidates_[b].score;
            return best_draw[a] < best_draw[b];
        });
        std::vector<Candidate> sorted;
        for (const size_t i : order) sorted.push_back(candidates_[i]);
        candidates_ = std::move(sorted);
    }

    const std::vector<Candidate>& candidates() const { return candidates_; }

    // log l(x) - log g(x) of a value of the dimension's finite list (finite_values).
    double score(const Value& value) const {
        if (dim_.categorical) {
            const auto i = dim_.choice_index(value.typed).value_or(0);
            return std::log(l_choices_[i]) - std::log(g_choices_[i]);
        }
        const double x = dim_.coordinate(value.typed).value_or(dim_.low);
        return l_->log_density(x) - g_->log_density(x);
    }

private:
    Dimension dim_;
    std::vector<double> l_choices_, g_choices_;  // categorical
    std::optional<ParzenEstimator> l_, g_;       // numeric
    std::vector<Candidate> candidates_;
};

// Spaces up to this many configurations are listed whole when every candidate is taken, so
// that "no untaken configuration is left" is exact there.
constexpr std::uint64_t listed_space_limit = 1ULL << 20;
// Random draws tried before a space is listed (or, too large to list, given up on).
constexpr int untaken_redraws = 64;

// Each hyper-parameter's values when the space is finite (lists and integer ranges) and has
// at most listed_space_limit configurations; nullopt otherwise.
std::optional<std::vector<std::vector<Value>>> finite_values(
    const std::vector<Hyperparameter>& space) {
    std::vector<std::vector<Value>> out;
    std::uint64_t product = 1;
    for (const auto& hp : space) {
        const Domain& d = hp.domain;
        std::vector<Value> values;
        if (d.kind == Domain::Kind::constant || d.kind == Domain::Kind::categorical) {
            values = d.values;
        } else if (d.kind == Domain::Kind::int_range) {
            const auto low = static_cast<long long>(std::ceil(d.minval));
            const auto high = static_cast<long long>(std::floor(d.maxval));
            if (high < low || static_cast<std::uint64_t>(high - low) >= listed_space_limit)
                return std::nullopt;
            for (long long v = low; v <= high; ++v) values.push_back(make_value(v));
        } else {
            return std::nullopt;  // continuous: draws practically never repeat
        }
        if (values.empty() || product * values.size() > listed_space_limit)
            return std::nullopt;
        product *= values.size();
        out.push_back(std::move(values));
    }
    return out;
}

// Configuration `index` of the listed space, the first hyper-parameter varying slowest.
std::vector<Value> listed_configuration(const std::vector<std::vector<Value>>& lists,
                                        std::uint64_t index) {
    std::vector<Value> out(lists.size());
    for (size_t d = lists.size(); d-- > 0;) {
        out[d] = lists[d][static_cast<size_t>(index % lists[d].size())];
        index /= lists[d].size();
    }
    return out;
}

std::uint64_t listed_count(const std::vector<std::vector<Value>>& lists) {
    std::uint64_t n = 1;
    for (const auto& l : lists) n *= l.size();
    return n;
}

// The untaken combination of the models' candidates with the largest summed score: best
// first over the sorted candidate lists, so at most |taken| + 1 combinations are looked at.
std::optional<std::vector<Value>> best_untaken_candidates(const std::vector<Hyperparameter>& space,
                                                          const std::vector<DimensionModel>& models,
                                                          const TakenConfigurations& taken) {
    using Pick = std::vector<size_t>;  // a candidate index per dimension
    const auto values_of = [&](const Pick& pick) {
        std::vector<Value> v;
        for (size_t d = 0; d < models.size(); ++d)
            v.push_back(models[d].candidates()[pick[d]].value);
        return v;
    };
    const auto score_of = [&](const Pick& pick) {
        double s = 0;
        for (size_t d = 0; d < models.size(); ++d) s += models[d].candidates()[pick[d]].score;
        return s;
    };
    // Ordered by score, then by the picks, so equal scores are taken in a fixed order.
    std::set<std::pair<double, Pick>> queue;
    std::set<Pick> seen;
    const Pick first(models.size(), 0);
    queue.emplace(-score_of(first), first);
    seen.insert(first);
    while (!queue.empty()) {
        const Pick pick = queue.begin()->second;
        queue.erase(queue.begin());
        auto values = values_of(pick);
        if (!taken.count(configuration_hash(space, values)))
            return values;
        for (size_t d = 0; d < models.size(); ++d) {
            if (pick[d] + 1 >= models[d].candidates().size())
                continue;
            Pick next = pick;
            ++next[d];
            if (seen.insert(next).second)
                queue.emplace(-score_of(next), next);
        }
    }
    return std::nullopt;
}

}  // namespace

std::string configuration_hash(const std::vector<Hyperparameter>& space,
                               const std::vector<Value>& values) {
    nlohmann::ordered_json hp = nlohmann::ordered_json::object();
    for (size_t i = 0; i < values.size() && i < space.size(); ++i)
        hp[space[i].name] = values[i].typed;
    return hyperparameter_hash(hp);
}

long tpe_below_count(long completed) {
    const long tenth = (completed + 9) / 10;
    return std::max(1L, std::min(tenth, 25L));
}

TpeSuggestion suggest_tpe(const std::vector<Hyperparameter>& space,
                          const std::vector<TpeObservation>& completed, const TpeSettings& settings,
                          std::uint64_t seed, const TakenConfigurations& taken,
                          const std::vector<nlohmann::ordered_json>& running) {
    TpeSuggestion out;
    const auto is_taken = [&](const std::vector<Value>& values) {
        return !taken.empty() && taken.count(configuration_hash(space, values)) > 0;
    };
    // The untaken configurations of a listed finite space, found at most once per call.
    std::optional<std::vector<std::vector<Value>>> lists;
    std::optional<std::vector<std::uint64_t>> untaken;
    const auto untaken_listed = [&]() -> const std::vector<std::uint64_t>& {
        if (!untaken) {
            untaken.emplace();
            for (std::uint64_t i = 0; lists && i < listed_count(*lists); ++i)
                if (!is_taken(listed_configuration(*lists, i)))
                    untaken->push_back(i);
        }
        return *untaken;
    };
    // When at least as many configurations are taken as a listed space holds, it is likely
    // exhausted: one pass over it says so before any redraw or candidate search.
    const auto exhausted = [&] {
        lists = finite_values(space);
        return lists && taken.size() >= listed_count(*lists) && untaken_listed().empty();
    };
    std::vector<const TpeObservation*> usable;
    for (const auto& o : completed) {
        if (std::isfinite(o.value))
            usable.push_back(&o);
    }
    if (static_cast<long>(usable.size()) < std::max(1L, settings.startup_trials)) {
        std::vector<Random> streams;
        for (const auto& hp : space)
            streams.emplace_back(derive_seed(seed, hp.name + "#tpe-startup"));
        const auto draw = [&] {
            std::vector<Value> values;
            for (size_t i = 0; i < space.size(); ++i)
                values.push_back(space[i].domain.sample(streams[i]));
            return values;
        };
        out.values = draw();
        if (!is_taken(out.values))
            return out;
        if (exhausted()) {
            out.repeat = true;
            return out;
        }
        // Taken: draw again from the same streams, then uniformly among the untaken
        // configurations of a listed space.
        for (int attempt = 0; attempt < untaken_redraws; ++attempt) {
            auto values = draw();
            if (!is_taken(values)) {
                out.values = std::move(values);
                return out;
            }
        }
        if (!untaken_listed().empty()) {
            Random pick(derive_seed(seed, "#tpe-untaken"));
            out.values =
                listed_configuration(*lists, untaken_listed()[pick.below(untaken_listed().size())]);
            return out;
        }
        out.repeat = true;
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
    std::vector<const TpeObservation*> above(usable.begin() + n_below, usable.end());
    // The constant liar: running trials count as the worst finished ones. Only the above/below
    // split reads values, so the value is a record of the lie rather than an input.
    std::vector<TpeObservation> liars;
    if (settings.constant_liar) {
        const double worst = usable.back()->value;
        for (const auto& hps : running) liars.push_back({0, hps, worst});
        for (const auto& liar : liars) above.push_back(&liar);
    }
    std::vector<DimensionModel> models;
    for (const auto& hp : space) {
        Random rng(derive_seed(seed, hp.name + "#tpe"));
        models.emplace_back(Dimension::of(hp), below, above, settings.candidates, rng);
        out.values.push_back(models.back().candidates().front().value);
    }
    out.based_on = static_cast<long>(usable.size());
    if (!is_taken(out.values))
        return out;
    if (exhausted()) {
        out.repeat = true;
        return out;
    }
    if (auto values = best_untaken_candidates(space, models, taken)) {
        out.values = std::move(*values);
        return out;
    }
    // Every combination of candidates is taken: the best untaken configuration of the space.
    std::optional<std::uint64_t> best;
    double best_score = -std::numeric_limits<double>::infinity();
    for (const std::uint64_t i : untaken_listed()) {
        const auto values = listed_configuration(*lists, i);
        double score = 0;
        for (size_t d = 0; d < values.size(); ++d) score += models[d].score(values[d]);
        if (!best || score > best_score) {
            best = i;
            best_score = score;
        }
    }
    if (best) {
        out.values = listed_configuration(*lists, *best);
        return out;
    }
    out.repeat = true;
    return out;
}

}  // namespace hpsweep::searcher
