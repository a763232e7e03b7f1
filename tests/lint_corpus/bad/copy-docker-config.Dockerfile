FROM docker:27-cli
COPY .docker/config.json /root/.docker/config.json
# expect: dockerfile-credential-copy@2
