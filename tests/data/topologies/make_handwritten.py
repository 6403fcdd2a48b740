#!/usr/bin/python3
"""Writes the two hand-written topologies used by the launcher's placement tests.

  dgx-a100-like.xml  2 packages x 2 NUMA nodes x 8 cores x 2 threads (PU c and c+64);
                     8 A100s and 8 ConnectX HCAs: NUMA node k holds one PCIe switch with
                     two sub-switches, each with one GPU and one HCA (GPU i <-> mlx5_i), so
                     the nearest HCA by PCI tree is unique; an Ethernet NIC on NUMA node 3.
  pcie-4gpu.xml      2 packages x 1 NUMA node x 8 cores (no SMT); GPUs 0,1 on package 0,
                     GPUs 2,3 on package 1 (root ports, no switch); one HCA mlx5_0 on
                     package 1; eth0 on package 0.
  pcie-4gpu-pci-only.xml  the same without GPU OS devices (hwloc built without CUDA/NVML).

Every non-I/O object has cpuset/complete_cpuset and Machine/Package/NUMANode have
nodeset/complete_nodeset: hwloc_topology_load crashes on an XML without them.
Run: /usr/bin/python3 make_handwritten.py (from this directory).
"""


class Writer:
    def __init__(self):
        self.lines = []
        self.gp = 0
        self.depth = 0

    def next_gp(self):
        self.gp += 1
        return self.gp

    def open(self, text):
        self.lines.append("  " * self.depth + text)
        self.depth += 1

    def close(self, tag="object"):
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{tag}>")

    def leaf(self, text):
        self.lines.append("  " * self.depth + text)


def mask(indices):
    value = 0
    for i in indices:
        value |= 1 << i
    words = []
    while True:
        words.append(f"0x{value & 0xffffffff:08x}")
        value >>= 32
        if value == 0:
            break
    return ",".join(reversed(words))


def sets(cpus, nodes=None):
    text = f'cpuset="{mask(cpus)}" complete_cpuset="{mask(cpus)}"'
    if nodes is not None:
        text += f' nodeset="{mask(nodes)}" complete_nodeset="{mask(nodes)}"'
    return text


def machine(w, all_cpus, all_nodes, body):
    w.leaf('<?xml version="1.0" encoding="UTF-8"?>')
    w.leaf('<!DOCTYPE topology SYSTEM "hwloc2.dtd">')
    w.open('<topology version="2.0">')
    w.open(f'<object type="Machine" os_index="0" {sets(all_cpus, all_nodes)} '
           f'allowed_cpuset="{mask(all_cpus)}" allowed_nodeset="{mask(all_nodes)}" gp_index="{w.next_gp()}">')
    w.leaf('<info name="Backend" value="Linux"/>')
    w.leaf('<info name="Architecture" value="x86_64"/>')
    body()
    w.close()
    w.close("topology")


def cores(w, node, core_ids, smt_offset):
    for c in core_ids:
        pus = [c] + ([c + smt_offset] if smt_offset else [])
        w.open(f'<object type="Core" os_index="{c}" {sets(pus, [node])} gp_index="{w.next_gp()}">')
        for p in pus:
            w.leaf(f'<object type="PU" os_index="{p}" {sets([p], [node])} gp_index="{w.next_gp()}"/>')
        w.close()


def bridge(w, bus_range, busid=None, host=False):
    domain, rng = bus_range
    if host:
        w.open(f'<object type="Bridge" gp_index="{w.next_gp()}" bridge_type="0-1" depth="0" '
               f'bridge_pci="{domain}:[{rng}]">')
    else:
        w.open(f'<object type="Bridge" gp_index="{w.next_gp()}" bridge_type="1-1" depth="1" '
               f'bridge_pci="{domain}:[{rng}]" pci_busid="{busid}" '
               f'pci_type="0604 [1000:c010] [0000:0000] b0" pci_link_speed="31.5">')


def gpu(w, busid, index, names):
    w.open(f'<object type="PCIDev" gp_index="{w.next_gp()}" pci_busid="{busid}" '
           f'pci_type="0302 [10de:20b0] [10de:134f] a1" pci_link_speed="31.5">')
    w.leaf('<info name="PCIVendor" value="NVIDIA Corporation"/>')
    w.leaf('<info name="PCIDevice" value="A100 SXM4 40GB"/>')
    if "cuda" in names:
        w.open(f'<object type="OSDev" gp_index="{w.next_gp()}" name="cuda{index}" subtype="CUDA" osdev_type="5">')
        w.leaf('<info name="Backend" value="CUDA"/>')
        w.leaf('<info name="GPUVendor" value="NVIDIA Corporation"/>')
        w.close()
    if "nvml" in names:
        w.open(f'<object type="OSDev" gp_index="{w.next_gp()}" name="nvml{index}" subtype="NVML" osdev_type="1">')
        w.leaf('<info name="Backend" value="NVML"/>')
        w.close()
    w.close()


def hca(w, busid, index, port_state="4"):
    w.open(f'<object type="PCIDev" gp_index="{w.next_gp()}" pci_busid="{busid}" '
           f'pci_type="0207 [15b3:101b] [15b3:0007] 00" pci_link_speed="31.5">')
    w.leaf('<info name="PCIVendor" value="Mellanox Technologies"/>')
    w.leaf(f'<object type="OSDev" gp_index="{w.next_gp()}" name="ib{index}" osdev_type="2"/>')
    w.open(f'<object type="OSDev" gp_index="{w.next_gp()}" name="mlx5_{index}" osdev_type="3">')
    w.leaf(f'<info name="Port1State" value="{port_state}"/>')
    w.close()
    w.close()


def nic(w, busid, name):
    w.open(f'<object type="PCIDev" gp_index="{w.next_gp()}" pci_busid="{busid}" '
           f'pci_type="0200 [8086:1572] [8086:0000] 02" pci_link_speed="7.9">')
    w.leaf(f'<object type="OSDev" gp_index="{w.next_gp()}" name="{name}" osdev_type="2"/>')
    w.close()


def dgx_a100_like():
    w = Writer()
    all_cpus = list(range(128))
    bases = [0x07, 0x0f, 0x47, 0x4e, 0x87, 0x90, 0xb7, 0xbd]  # like DGX A100 GPU buses

    def body():
        for package in range(2):
            pkg_nodes = [2 * package, 2 * package + 1]
            pkg_cores = list(range(32 * package, 32 * package + 32))
            pkg_cpus = pkg_cores + [c + 64 for c in pkg_cores]
            w.open(f'<object type="Package" os_index="{package}" {sets(pkg_cpus, pkg_nodes)} gp_index="{w.next_gp()}">')
            w.leaf('<info name="CPUModel" value="AMD EPYC 7742 64-Core Processor"/>')
            for local in range(2):
                node = 2 * package + local
                node_cores = list(range(16 * node, 16 * node + 16))
                node_cpus = node_cores + [c + 64 for c in node_cores]
                # A Group (the NUMA domain's CCDs) carries the node's cores and its I/O.
                w.open(f'<object type="Group" {sets(node_cpus, [node])} gp_index="{w.next_gp()}" kind="1000" subkind="0">')
                w.leaf(f'<object type="NUMANode" os_index="{node}" {sets(node_cpus, [node])} '
                       f'gp_index="{w.next_gp()}" local_memory="274877906944"/>')
                cores(w, node, node_cores, 64)
                # I/O of this NUMA node: a switch with two sub-switches (GPU + HCA each).
                domain = "0000"
                g0 = 2 * node
                b = bases[g0]
                bridge(w, (domain, f"{b - 2:02x}-{b + 0x10:02x}"), host=True)
                bridge(w, (domain, f"{b - 1:02x}-{b + 0x10:02x}"), f"{domain}:{b - 2:02x}:01.1")
                for k in range(2):
                    g = g0 + k
                    sub = b + 8 * k
                    bridge(w, (domain, f"{sub:02x}-{sub + 4:02x}"), f"{domain}:{b - 1:02x}:{k:02x}.0")
                    bridge(w, (domain, f"{sub + 1:02x}-{sub + 1:02x}"), f"{domain}:{sub:02x}:00.0")
                    gpu(w, f"{domain}:{sub + 1:02x}:00.0", g, ["cuda", "nvml"])
                    w.close()
                    bridge(w, (domain, f"{sub + 2:02x}-{sub + 2:02x}"), f"{domain}:{sub:02x}:01.0")
                    hca(w, f"{domain}:{sub + 2:02x}:00.0", g)
                    w.close()
                    w.close()
                w.close()
                if node == 3:
                    bridge(w, (domain, "e0-e2"), f"{domain}:{b - 2:02x}:03.1")
                    nic(w, f"{domain}:e1:00.0", "enp225s0f0")
                    w.close()
                w.close()  # host bridge
                w.close()  # group
            w.close()  # package

    machine(w, all_cpus, [0, 1, 2, 3], body)
    return "\n".join(w.lines) + "\n"


def pcie_4gpu(gpu_names=("cuda",)):
    w = Writer()
    all_cpus = list(range(16))

    def body():
        for package in range(2):
            pkg_cores = list(range(8 * package, 8 * package + 8))
            w.open(f'<object type="Package" os_index="{package}" {sets(pkg_cores, [package])} gp_index="{w.next_gp()}">')
            w.leaf(f'<object type="NUMANode" os_index="{package}" {sets(pkg_cores, [package])} '
                   f'gp_index="{w.next_gp()}" local_memory="137438953472"/>')
            cores(w, package, pkg_cores, 0)
            domain = "0000"
            base = 0x10 if package == 0 else 0x80
            bridge(w, (domain, f"{base:02x}-{base + 0x10:02x}"), host=True)
            for k in range(2):
                bus = base + 1 + k
                bridge(w, (domain, f"{bus:02x}-{bus:02x}"), f"{domain}:{base:02x}:{k + 1:02x}.0")
                gpu(w, f"{domain}:{bus:02x}:00.0", 2 * package + k, gpu_names)
                w.close()
            bridge(w, (domain, f"{base + 5:02x}-{base + 5:02x}"), f"{domain}:{base:02x}:05.0")
            if package == 1:
                hca(w, f"{domain}:{base + 5:02x}:00.0", 0)
            else:
                nic(w, f"{domain}:{base + 5:02x}:00.0", "eth0")
            w.close()
            w.close()  # host bridge
            w.close()  # package

    machine(w, all_cpus, [0, 1], body)
    return "\n".join(w.lines) + "\n"


if __name__ == "__main__":
    with open("dgx-a100-like.xml", "w") as f:
        f.write(dgx_a100_like())
    with open("pcie-4gpu.xml", "w") as f:
        f.write(pcie_4gpu())
    with open("pcie-4gpu-pci-only.xml", "w") as f:  # as Debian's hwloc (no CUDA/NVML plugin) sees it
        f.write(pcie_4gpu(gpu_names=()))
