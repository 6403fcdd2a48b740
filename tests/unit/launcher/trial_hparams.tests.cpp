// A trial's hyper-parameters as $HPSWEEP_HPARAMS (nested JSON) and $HPSWEEP_HP_<NAME>.
#include <catch2/catch.hpp>

#include "hpsweep/launcher/trial_hparams.hpp"

using namespace hpsweep::launcher;
using nlohmann::ordered_json;

TEST_CASE("dotted names nest as Determined's hyper-parameter groups", "[launcher][hparams]") {
    const ordered_json flat = {{"global_batch_size", 64},
                               {"optimizer.lr", 0.01},
                               {"optimizer.name", "adam"},
                               {"dropout", 0.5}};
    const auto nested = nested_hyperparameters(flat);
    CHECK(nested["global_batch_size"] == 64);
    CHECK(nested["optimizer"]["lr"] == 0.01);
    CHECK(nested["optimizer"]["name"] == "adam");
    CHECK(nested["dropout"] == 0.5);
}

TEST_CASE("a name that is a value and a group keeps the dotted name whole", "[launcher][hparams]") {
    const auto nested = nested_hyperparameters(ordered_json{{"a", 1}, {"a.b", 2}});
    CHECK(nested["a"] == 1);
    CHECK(nested["a.b"] == 2);
}

TEST_CASE("HPSWEEP_HP_<NAME>: upper case, '_' for anything else, strings unquoted",
          "[launcher][hparams]") {
    CHECK(hyperparameter_variable("optimizer.lr") == "HPSWEEP_HP_OPTIMIZER_LR");
    CHECK(hyperparameter_variable("batch-size") == "HPSWEEP_HP_BATCH_SIZE");
    const auto variables = hyperparameter_variables(
        ordered_json{{"lr", 0.001}, {"name", "adam"}, {"layers", 3}, {"bn", true}});
    CHECK(variables.at("HPSWEEP_HP_LR") == "0.001");
    CHECK(variables.at("HPSWEEP_HP_NAME") == "adam");
    CHECK(variables.at("HPSWEEP_HP_LAYERS") == "3");
    CHECK(variables.at("HPSWEEP_HP_BN") == "true");
}
