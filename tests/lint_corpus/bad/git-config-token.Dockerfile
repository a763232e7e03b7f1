FROM alpine:3.20
ARG GITHUB_TOKEN
RUN git config --global url."https://${GITHUB_TOKEN}@github.com/".insteadOf "https://github.com/" \
 && git clone https://github.com/example/private.git /src
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@3
