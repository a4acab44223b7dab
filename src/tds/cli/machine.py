"""What this machine has for the diffusion engine: Python, torch's build, the GPUs and their
free memory. torch is imported only when it is installed, and only by `tds doctor`."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Gpu:
    name: str
    free: int  # bytes
    total: int


@dataclass
class Machine:
    python: str
    executable: str
    torch: str | None  # version, None when not installed
    torch_cuda: str | None  # the CUDA version torch was built with; None: a CPU build
    torch_error: str = ""  # torch is installed but does not import
    cuda_error: str = ""  # torch has CUDA but no device answers
    gpus: list[Gpu] = field(default_factory=list)  # as torch sees them
    nvidia_smi: list[Gpu] = field(default_factory=list)  # as the driver sees them
    packages: dict[str, str | None] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return bool(self.gpus)


GPU_PACKAGES = ("diffusers", "transformers", "accelerate", "safetensors", "huggingface_hub")


def version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def inspect() -> Machine:
    machine = Machine(
        python=f"{platform.python_implementation()} {platform.python_version()}",
        executable=sys.executable,
        torch=None,
        torch_cuda=None,
        packages={name: version_of(name) for name in GPU_PACKAGES},
    )
    machine.nvidia_smi = _nvidia_smi()
    if importlib.util.find_spec("torch") is None:
        return machine
    try:
        import torch
    except Exception as error:  # a broken install (missing CUDA libraries, …) is a finding
        machine.torch = version_of("torch") or "?"
        machine.torch_error = f"{type(error).__name__}: {error}"
        return machine
    machine.torch = str(torch.__version__)
    machine.torch_cuda = torch.version.cuda
    if machine.torch_cuda is None:
        return machine
    try:
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            machine.gpus.append(Gpu(torch.cuda.get_device_name(index), int(free), int(total)))
    except Exception as error:  # driver too old, no device visible: what CUDA says is the answer
        machine.cuda_error = f"{type(error).__name__}: {error}"
    return machine


def _nvidia_smi() -> list[Gpu]:
    """The NVIDIA driver's view, so a GPU shows even when torch is a CPU build."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return []
    query = "--query-gpu=name,memory.free,memory.total"
    try:
        answer = subprocess.run(
            [command, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in answer.stdout.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            mib = 1024 * 1024
            gpus.append(Gpu(parts[0], int(parts[1]) * mib, int(parts[2]) * mib))
    return gpus
