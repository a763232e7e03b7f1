"""Build the benchmark's images: a real Debian rootfs plus files already on this machine.

The plain image has the shape issue 6 measured trivy on (≈500 MB, ≈30k files): an OS rootfs
(a debootstrap ``--variant=minbase`` bookworm, from this machine's apt mirror, built once into
``OUT/rootfs``; nothing else needs the network or an engine), a Python installation with its
site-packages, a node_modules layer and an app layer with planted fake secrets. The dense image
is one layer of generated keyword-dense text with no secret in it (bench/densetext.py: package
lists, a SQL dump, an auth log, i18n tables, Helm values); the incremental image changes only
the top layer. Each is written as a
legacy ``docker save`` archive, layers uncompressed.

Secrets are generated from templates with a fixed seed (the same bytes every build, so layer
digests are stable), and only their SHA-1s are kept, to check each scan found them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from densetext import dense_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests/ makes the fakes
from tests.fakes import expand

# Bump when the recipe changes, so archives cached under bench/out are rebuilt.
RECIPE_VERSION = 3
MTIME = 1700000000
MB = 1024 * 1024


@dataclass(frozen=True)
class Source:
    """A host directory copied to a path in the image, files taken in sorted order up to a byte budget."""

    host: str
    image: str
    max_bytes: int
    skip_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layer:
    """A layer.tar written to disk: what docker's config and manifest need to reference it."""

    path: Path
    diff_id: str
    created_by: str
    files: int
    size: int


@dataclass(frozen=True)
class Image:
    """A docker-archive on disk, with the SHA-1s of the fake secrets planted in it."""

    name: str
    archive: Path
    tag: str
    layers: tuple[Layer, ...]
    planted: tuple[str, ...]

    @property
    def files(self) -> int:
        return sum(layer.files for layer in self.layers)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


# What a data/ML service pip-installs: big native wheels, boto's JSON models, jedi's stubs.
SITE_PACKAGES = [
    "numpy",
    "numpy.libs",
    "scipy",
    "scipy.libs",
    "botocore",
    "boto3",
    "s3transfer",
    "pip",
    "setuptools",
    "cryptography",
    "pygments",
    "sympy",
    "networkx",
    "jedi",
    "docutils",
    "yaml",
    "requests",
    "urllib3",
    "rich",
]


def debootstrap_rootfs(out: Path, log) -> Path:
    """``OUT/rootfs``: a minbase bookworm, built as the real-image tests build theirs."""
    rootfs = out / "rootfs"
    done = rootfs / ".hubguard-bench-complete"
    if not done.exists():
        from tests.realimages import debootstrap

        shutil.rmtree(rootfs, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        log(f"images: debootstrap into {rootfs} (once)")
        debootstrap(rootfs, out / "debootstrap.log")
        done.touch()
    return rootfs


def tree_layers(scale: float, rootfs: Path) -> dict[str, tuple[str, list[Source]]]:
    """Layer name -> (Dockerfile step, sources); budgets scale with ``--scale``.

    Like the official python image, no ``__pycache__`` and no test suite; packages missing here
    are simply left out.
    """
    prefix = Path(sys.base_prefix)
    stdlib = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = f"/usr/local/lib/{stdlib.name}/site-packages"

    def budget(megabytes: float) -> int:
        return int(megabytes * MB * scale)

    return {
        "rootfs": (
            "/bin/sh -c #(nop) ADD file:rootfs.tar.gz in /",
            [Source(str(rootfs / top), f"/{top}", budget(250)) for top in ("etc", "usr", "var")],
        ),
        "python": (
            "/bin/sh -c set -eux; ./configure --enable-shared && make install # python",
            [
                Source(str(prefix / "bin"), "/usr/local/bin", budget(25)),
                Source(str(prefix / "include"), "/usr/local/include", budget(2)),
                Source(
                    str(stdlib),
                    f"/usr/local/lib/{stdlib.name}",
                    budget(95),
                    ("site-packages", "test", "__pycache__"),
                ),
            ],
        ),
        "site-packages": (
            "/bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit",
            [
                Source(
                    str(stdlib / "site-packages" / package),
                    f"{site}/{package}",
                    budget(120),
                    ("__pycache__",),
                )
                for package in SITE_PACKAGES
            ],
        ),
        "node-modules": (
            "/bin/sh -c npm ci --omit=dev # buildkit",
            [Source("/usr/lib/node_modules", "/app/node_modules", budget(20))],
        ),
    }


def _walk(root: Path, skip_dirs: tuple[str, ...]) -> Iterator[Path]:
    """Every entry under root in a stable order, so the same machine builds the same layer."""
    yield root
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            if entry.name not in skip_dirs:
                yield from _walk(entry, skip_dirs)
        else:
            yield entry


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by root, fixed mtime: the layer digest depends only on content."""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = MTIME
    return info


def _add_source(tar: tarfile.TarFile, source: Source) -> tuple[int, int]:
    """Copy one source into the layer within its budget; returns (files, bytes) taken."""
    root = Path(source.host)
    if not root.is_dir():
        return 0, 0
    files = taken = 0
    for path in _walk(root, source.skip_dirs):
        arcname = (source.image.rstrip("/") + "/" + str(path.relative_to(root))).removesuffix("/.")
        if path.is_symlink() or path.is_dir():
            tar.addfile(_normalise(tar.gettarinfo(str(path), arcname.lstrip("/"))))
            continue
        if not path.is_file():
            continue  # sockets, fifos, devices: not image content
        size = path.stat().st_size
        if taken + size > source.max_bytes:
            continue
        try:
            handle = path.open("rb")
        except OSError:
            continue  # unreadable here, so not part of the copy
        with handle:
            info = _normalise(tar.gettarinfo(arcname=arcname.lstrip("/"), fileobj=handle))
            tar.addfile(info, handle)
        if info.isreg():
            files += 1
            taken += size
    return files, taken


def _add_bytes(tar: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    info = _normalise(tarfile.TarInfo(path.lstrip("/")))
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * MB):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _finish_layer(tmp: Path, directory: Path, created_by: str, files: int, size: int) -> Layer:
    diff_id = _sha256_file(tmp)
    final = directory / (diff_id.removeprefix("sha256:") + ".tar")
    tmp.replace(final)
    return Layer(final, diff_id, created_by, files, size)


def write_tree_layer(directory: Path, name: str, created_by: str, sources: list[Source]) -> Layer:
    """A layer copied from host directories (rootfs, Python, site-packages, node_modules)."""
    tmp = directory / f"{name}.partial"
    files = size = 0
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for source in sources:
            added, taken = _add_source(tar, source)
            files += added
            size += taken
    return _finish_layer(tmp, directory, created_by, files, size)


class Planter:
    """Generates fake secrets from templates and remembers only their SHA-1s."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.hashes: list[str] = []

    def plant(self, value: str) -> str:
        self.hashes.append(hashlib.sha1(value.encode()).hexdigest())
        return value

    def token(self, template: str) -> str:
        return self.plant(expand(template, seed=self.seed))

    def private_key(self) -> str:
        body = "\n".join(textwrap.wrap(base64.b64encode(self.rng.randbytes(1190)).decode(), 64))
        key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
        return self.plant(key)


def _app_module(rng: random.Random, index: int) -> bytes:
    """Ordinary application code that mentions passwords and tokens without holding any."""
    functions = []
    for number in range(rng.randint(8, 20)):
        functions.append(
            f"def handler_{index}_{number}(request, session):\n"
            f'    """Check the caller\'s token and fetch record {number}."""\n'
            f'    password = os.environ.get("DB_PASSWORD_{number}", "")\n'
            f'    token = request.headers.get("Authorization", "").removeprefix("Bearer ")\n'
            f"    if not verify(token, secret=settings.SECRET_KEY):\n"
            f"        raise PermissionError('bad api key')\n"
            f"    return session.query(Record).filter_by(id={rng.randint(1, 10**6)}, owner=password).all()\n"
        )
    header = "import os\n\nfrom app import settings\nfrom app.auth import verify\n"
    header += "from app.models import Record\n\n"
    return (header + "\n\n".join(functions)).encode()


def write_app_layer(directory: Path, release: int) -> tuple[Layer, list[str]]:
    """The top layer: app code plus planted fake secrets; ``release`` 2 is the incremental change."""
    planter = Planter(f"hubguard-bench-app-{release}")
    rng = random.Random(f"hubguard-bench-code-{release}")
    files: dict[str, bytes] = {}
    for index in range(400):
        files[f"/app/src/service/module_{index:03}.py"] = _app_module(rng, index)
    settings = (
        f'AWS_ACCESS_KEY_ID = "{planter.token("AKIA{upalnum:16}")}"\n'
        f'AWS_SECRET_ACCESS_KEY = "{planter.token("{b64:40}")}"\n'
        'SECRET_KEY = os.environ["SECRET_KEY"]\n'
    )
    if release > 1:
        settings += f'SLACK_BOT_TOKEN = "{planter.token("xoxb-{digit:12}-{digit:13}-{alnum:24}")}"\n'
    files["/app/config/settings.py"] = ("import os\n\n" + settings).encode()
    files["/app/.env"] = (
        f"GITHUB_TOKEN={planter.token('ghp_{alnum:36}')}\nSTRIPE_KEY={planter.token('sk_live_{alnum:24}')}\n"
    ).encode()
    files["/app/deploy/id_rsa"] = (planter.private_key() + "\n").encode()
    bundle_token = planter.token("glpat-{alnum:20}")
    files["/app/static/bundle.min.js"] = (
        "var a=1;" * 100_000 + f'const deployToken="{bundle_token}";' + "function f(){return 2};" * 40_000
    ).encode()
    files["/app/bin/worker"] = (
        b"\x7fELF\x02\x01\x01"
        + rng.randbytes(1 * MB)
        + f"\0npm_config_token={planter.token('npm_{alnum:36}')}\0".encode()
        + rng.randbytes(1 * MB)
    )
    files["/app/VERSION"] = f"{release}.0.0\n".encode()

    tmp = directory / f"app-{release}.partial"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            _add_bytes(tar, path, data, 0o755 if path.startswith("/app/bin/") else 0o644)
    size = sum(len(data) for data in files.values())
    layer = _finish_layer(tmp, directory, "COPY . /app # buildkit", len(files), size)
    return layer, planter.hashes


DENSE_MB = 50


def write_dense_layer(directory: Path, scale: float) -> Layer:
    """≈50 MB of keyword-dense text holding no secret (bench/densetext.py): package lists, a
    SQL dump, an auth log, i18n tables and Helm values."""
    tmp = directory / "dense.partial"
    files = dense_files("hubguard-bench-dense", int(DENSE_MB * MB * scale))
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            _add_bytes(tar, path, data)
    size = sum(map(len, files.values()))
    return _finish_layer(tmp, directory, "/bin/sh -c ./load-fixtures.sh # buildkit", len(files), size)


def write_docker_archive(path: Path, tag: str, layers: list[Layer]) -> None:
    """A legacy ``docker save`` archive: manifest.json, the config, and ``<id>/layer.tar`` per layer."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "WorkingDir": "/app"},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": layer.created_by} for layer in layers],
    }
    config_bytes = json.dumps(config, indent=1).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_names = [layer.diff_id.removeprefix("sha256:") + "/layer.tar" for layer in layers]
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]
    tmp = path.with_suffix(".partial")
    with tarfile.open(tmp, "w") as tar:
        _add_bytes(tar, config_name, config_bytes)
        for layer, name in zip(layers, layer_names, strict=True):
            info = _normalise(tarfile.TarInfo(name))
            info.size = layer.path.stat().st_size
            with layer.path.open("rb") as handle:
                tar.addfile(info, handle)
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
    tmp.replace(path)


def _recipe(scale: float, rootfs: Path) -> dict:
    """Everything that decides the images' bytes, so a change rebuilds them."""
    layers = tree_layers(scale, rootfs)
    sources = {name: [asdict(source) for source in spec[1]] for name, spec in layers.items()}
    return {"version": RECIPE_VERSION, "scale": scale, "python": sys.version, "sources": sources}


def _image_from_json(data: dict) -> Image:
    layers = tuple(Layer(Path(layer.pop("path")), **layer) for layer in data.pop("layers"))
    return Image(archive=Path(data.pop("archive")), layers=layers, planted=tuple(data.pop("planted")), **data)


def _image_to_json(image: Image) -> dict:
    data = asdict(image)
    data["archive"] = str(image.archive)
    data["layers"] = [{**asdict(layer), "path": str(layer.path)} for layer in image.layers]
    return data


def build_images(out: Path, scale: float, log) -> dict[str, Image]:
    """The four archives (plain, dense, incremental, top layer alone), reused when the recipe matches."""
    directory = out / "images"
    index = directory / "images.json"
    rootfs = debootstrap_rootfs(out, log)
    recipe = _recipe(scale, rootfs)
    fingerprint = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    if index.exists():
        cached = json.loads(index.read_text())
        if cached.get("fingerprint") == fingerprint:
            images = {name: _image_from_json(data) for name, data in cached["images"].items()}
            if all(image.archive.exists() for image in images.values()):
                log(f"images: reusing {directory} (recipe {fingerprint})")
                return images
    shutil.rmtree(directory, ignore_errors=True)
    layers_dir = directory / "layers"
    layers_dir.mkdir(parents=True)

    tree: dict[str, Layer] = {}
    for name, (created_by, sources) in tree_layers(scale, rootfs).items():
        log(f"images: writing layer {name}")
        tree[name] = write_tree_layer(layers_dir, name, created_by, sources)
    log("images: writing app layers and the keyword-dense layer")
    app_1, planted_1 = write_app_layer(layers_dir, 1)
    app_2, planted_2 = write_app_layer(layers_dir, 2)
    dense = write_dense_layer(layers_dir, scale)

    base = [tree["rootfs"], tree["python"], tree["site-packages"], tree["node-modules"]]
    recipes = {
        "plain": ([*base, app_1], planted_1),
        "incremental": ([*base, app_2], planted_2),
        "dense": ([dense], ()),
        "toplayer": ([app_2], planted_2),
    }
    images = {}
    for name, (layers, planted) in recipes.items():
        archive = directory / f"{name}.tar"
        tag = f"hubguard-bench/{name}:{fingerprint}"
        log(f"images: writing {archive.name}")
        write_docker_archive(archive, tag, layers)
        images[name] = Image(name, archive, tag, tuple(layers), tuple(planted))
    index.write_text(
        json.dumps(
            {"fingerprint": fingerprint, "images": {name: _image_to_json(i) for name, i in images.items()}},
            indent=1,
        )
    )
    return images


def real_rootfs_tarballs() -> list[Path]:
    """The cached real rootfs tarballs the test suite builds (tests/realimages.py: debootstrap
    Debian with apt runtimes, then pip and npm packages), newest recipe first; [] when absent."""
    root = Path(os.environ.get("HUBGUARD_TEST_CACHE") or Path.home() / ".cache" / "hubguard-test")
    recipes = sorted(root.glob("*/app.tar"), key=lambda path: path.stat().st_mtime, reverse=True)
    for app in recipes:
        if (app.parent / "base.tar").exists():
            return [app.parent / "base.tar", app]
    return []


def _tar_end(path: Path) -> tuple[int, int]:
    """(offset of the end-of-archive blocks, regular files) of an uncompressed tar."""
    files = 0
    with tarfile.open(path, "r:") as tar:
        for member in tar:
            files += member.isreg()
            tar.members.clear()
        return tar.offset, files


def build_squashed_image(out: Path, tarballs: list[Path], log) -> Image:
    """One layer holding every tarball's members in order (later ones win, as a rootfs merge
    does): the shape of a ``docker import`` or squashed image. Built once, reused after."""
    images = out / "images"
    archive = images / "real-squashed.tar"
    recorded = images / "real-squashed.json"
    stamp = [f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" for path in tarballs]
    if archive.exists() and recorded.exists():
        data = json.loads(recorded.read_text())
        if data.get("stamp") == stamp:
            return _image_from_json(data["image"])
    log("images: writing real-squashed.tar (one layer from the cached real rootfs tarballs)")
    layers_dir = images / "layers"
    layers_dir.mkdir(parents=True, exist_ok=True)
    tmp = layers_dir / "real-squashed.partial"
    files = 0
    with tmp.open("wb") as layer:
        for path in tarballs:
            end, count = _tar_end(path)
            files += count
            with path.open("rb") as source:
                remaining = end
                while remaining and (chunk := source.read(min(4 * MB, remaining))):
                    layer.write(chunk)
                    remaining -= len(chunk)
        layer.write(b"\0" * 1024)  # the end-of-archive blocks, once
    size = tmp.stat().st_size
    built = _finish_layer(tmp, layers_dir, "squashed rootfs (debootstrap + apt + pip + npm)", files, size)
    image = Image("real-squashed", archive, "hubguard-bench/real-squashed:1", (built,), ())
    write_docker_archive(archive, image.tag, [built])
    built.path.unlink()  # the archive holds it; a second gigabyte on disk helps no one
    recorded.write_text(json.dumps({"stamp": stamp, "image": _image_to_json(image)}))
    return image
