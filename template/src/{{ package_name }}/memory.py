"""What memory this process may still use: free memory, the headroom under the memory limit
of its own cgroups (a Kubernetes pod's limit, v1 and v2) and the address-space limit. Engines
choose how to execute from it, and the Delta destination how many partitions to write at once.
"""

from __future__ import annotations

import resource
from pathlib import Path, PurePosixPath

# Polars' virtual size runs ~3x its resident size (thread pools, allocator reservations):
# an address-space limit (RLIMIT_AS) leaves about a third of itself for data.
ADDRESS_SPACE_PER_RESIDENT_BYTE = 3


def available_memory() -> int | None:
    """Bytes this process may still use: the least of free memory, the headroom under each
    memory limit of its cgroups and the address-space limit's share for data (None where
    none of them is known)."""
    limits: list[int] = []
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kib = next(
            line.split()[1] for line in meminfo.splitlines() if line.startswith("MemAvailable:")
        )
        limits.append(int(kib) * 1024)
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    limits += cgroup_headroom()
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft // ADDRESS_SPACE_PER_RESIDENT_BYTE)
    return min(limits) if limits else None


# A cgroup's files: its limit, its usage, and the statistic of its page cache the kernel
# reclaims first (usage counts page cache, which a limit evicts before it kills anything).
CGROUP_MEMORY_FILES = {
    1: ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    2: ("memory.max", "memory.current", "inactive_file"),
}


def cgroup_headroom(proc: Path = Path("/proc/self")) -> list[int]:
    """Bytes left under the memory limit of this process's own cgroup and of each ancestor
    that is visible (v1 memory hierarchy and v2), found through `/proc/self/cgroup` and
    `/proc/self/mountinfo`: a pod's limit is on the pod's group, which a container without
    its own cgroup namespace sees as a path under the mount, not as the mount itself."""
    headroom = []
    for version, folder, top in _own_memory_cgroups(proc):
        while True:
            left = _headroom(folder, version)
            if left is not None:
                headroom.append(left)
            if folder == top:
                break
            folder = folder.parent
    return headroom


def _headroom(folder: Path, version: int) -> int | None:
    """Bytes left under one cgroup's memory limit (v1: also its ancestors' least limit,
    `hierarchical_memory_limit`); None without a limit."""
    limit_name, usage_name, reclaimable_name = CGROUP_MEMORY_FILES[version]
    try:
        limit = (folder / limit_name).read_text().strip()
        usage = int((folder / usage_name).read_text().strip())
        lines = (folder / "memory.stat").read_text().splitlines()
    except (OSError, ValueError):
        return None
    stat = dict(line.split()[:2] for line in lines if " " in line)
    # "max" (v2) and a number near 2**63 (v1) mean no limit.
    limits = [
        int(value)
        for value in (limit, stat.get("hierarchical_memory_limit", ""))
        if value.isdigit() and int(value) < 2**60
    ]
    if not limits:
        return None
    in_use = max(usage - int(stat.get(reclaimable_name, 0)), 0)
    return max(min(limits) - in_use, 0)


def _own_memory_cgroups(proc: Path) -> list[tuple[int, Path, Path]]:
    """(version, the process's own group folder, the mount point above it) for the v1 memory
    hierarchy and the v2 one, where they are mounted."""
    try:
        groups = (proc / "cgroup").read_text().splitlines()
        mounts = (proc / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    own: dict[int, str] = {}
    for line in groups:
        number, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            own[1] = path
        elif number == "0" and not controllers:
            own[2] = path
    found = []
    for line in mounts:
        fields = line.split()
        if "-" not in fields:
            continue
        rest = fields[fields.index("-") + 1 :]
        version = {"cgroup": 1, "cgroup2": 2}.get(rest[0])
        if version is None or version not in own or len(rest) < 3:
            continue
        if version == 1 and "memory" not in rest[2].split(","):
            continue
        root, point, group = PurePosixPath(fields[3]), Path(fields[4]), PurePosixPath(own[version])
        # Outside the mounted part (a namespace shows "/"): the mount point is the group.
        folder = point / group.relative_to(root) if group.is_relative_to(root) else point
        found.append((version, folder, point))
    return found
