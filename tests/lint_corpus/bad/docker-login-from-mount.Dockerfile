FROM docker:27-cli
RUN --mount=type=secret,id=hub,env=HUB_TOKEN echo "$HUB_TOKEN" | docker login -u ci --password-stdin
# expect: dockerfile-secret-in-file@2
