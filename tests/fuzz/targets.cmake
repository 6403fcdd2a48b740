# The fuzz targets: tests/fuzz/<name>.fuzz.cpp, corpus in tests/fuzz/corpus/<name>/.
# Included by CMakeLists.txt here (the clang fuzz tree builds them) and by ctest.cmake (the
# main tree runs them).
set(HPSWEEP_FUZZ_TARGETS
    sweep_expression   # searcher: parse_sweep_expression and the domain it yields
    experiment_yaml    # searcher: parse_experiment_config, to_yaml round trip
    plugstack_args     # common: parse_plugin_args (and the site file it names)
    metric_line        # metrics: parse_metric_line
    hostlist           # launcher: expand_hostlist, expand_tasks_per_node, ddp_from_environment
    archive_import     # datastore: Store::create from .tar/.tgz/.zip bytes
    datastore_metadata # datastore: dataset.json, tag and manifest.json parsing root performs
    topology_xml)      # launcher: Topology::load_xml and the device discovery on it
