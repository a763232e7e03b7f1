"""Docker's .dockerignore semantics, exactly: which files ``docker build`` sends.

Gitignore look-alikes (pathspec's own styles included) get this wrong. In Docker a pattern
is anchored at the context root, ``*`` and ``?`` never cross ``/``, ``[^a]`` negates but
``[!a]`` is the class of ``!`` and ``a``, ``**`` spans any number of directories, the last
matching line wins, ``!`` exceptions re-include, and a pattern that matches a directory
excludes its whole subtree. Builder generations disagree at the edges, so hubguard models
three of them (``BUILDERS``):

``buildkit`` (default)
    Current BuildKit (buildx, Docker 23 and later): moby/patternmatcher and fsutil's
    filter. A line excludes a path when it matches the path or one of its parent
    directories. When any ``!`` exception holds a wildcard, the walk enters every
    excluded directory, so ``secrets`` + ``!**/public.pem`` sends ``secrets/public.pem``;
    otherwise an excluded directory is entered only when an exception's text starts with
    its path. Lines are escaped regexps with literal, prefix and suffix fast paths
    (``**foo`` is a plain suffix test, so it also matches ``xfoo``). fsutil carries each
    directory's per-line results down to its children, which has one odd effect that we
    keep: ``a``, ``!a/b``, ``a`` sends ``a/b``. ``<Dockerfile>.dockerignore`` beside the
    Dockerfile replaces the root ``.dockerignore``.
``buildkit-20.10``
    BuildKit as Docker 20.10's CLI drives it (the engine in this repository's tests). The
    client walks the context with the 2020 fsutil walker and docker/docker's old
    fileutils: an excluded directory is entered only when an exception's text starts with
    its path (``!**/public.pem`` re-includes nothing inside ``secrets``); inside it, a
    line is tested against the path and against the first N components of its parent, N
    being the line's own component count (so ``**/b`` stops excluding ``x/y/b/z``); the
    regexp escapes only ``.`` and ``$`` (``a+b`` matches ``aab``, ``a^b`` matches
    nothing); directories entered for an exception are sent even when they end up empty.
    The per-Dockerfile ignore file is honoured.
``classic``
    The legacy builder (``DOCKER_BUILDKIT=0``) of Docker 20.10 (pkg/archive
    ``TarWithOptions``). Matching as ``buildkit-20.10``, but only the root
    ``.dockerignore`` is read and entered directories are not sent by themselves. The CLI
    appends ``!.dockerignore`` and ``!<Dockerfile>`` exceptions so both reach the daemon,
    which deletes them from the context when the ignore file excludes them; their parent
    directories stay, so ``COPY . /dst`` creates them empty.

The Dockerfile and the ignore file always reach the builder; ``ContextEntry.copied``
(:mod:`hubguard.sources.context`, the walk of a build context) says whether ``COPY . /dst``
sees them too.

:mod:`~hubguard.dockerignore.pattern` reads and compiles one line (its regexp run in linear
time by :mod:`~hubguard.dockerignore.regexp`); :mod:`~hubguard.dockerignore.matcher` answers
for a whole file, per builder. The package itself holds only the builders' names, so the
command line can offer them without importing the matchers (and pathspec: 20 ms of every
start).
"""

from __future__ import annotations

BUILDERS = ("buildkit", "buildkit-20.10", "classic")
DEFAULT_BUILDER = "buildkit"
