"""The act of pushing: what the target is, whether it is public, the policy, then ``docker push``.

``reference`` normalises names as docker does; ``credentials`` reads the user's ``docker
login``; ``hub`` asks the Docker Hub API as that user and ``visibility`` turns its answer and
the configuration into one decision; ``policy`` decides from the scan report and says what to
do next; ``flow`` runs the guarded push (``guarded_push``) and ``docker_cli`` the user's own
``docker push``; ``plugin`` is the ``docker hubguard`` CLI plugin and ``install`` writes it.
"""
